//go:build integration

package kafkasrc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// testKafka is a client for test set-up against the stack's broker.
type testKafka struct {
	t      *testing.T
	client *kafka.Client
	tr     *kafka.Transport
}

func newTestKafka(t *testing.T) *testKafka {
	t.Helper()
	testenv.RequireKafka(t)
	tr := &kafka.Transport{ClientID: "sluice-test"}
	k := &testKafka{t: t, tr: tr, client: &kafka.Client{Addr: kafka.TCP(testenv.KafkaBroker()), Timeout: 10 * time.Second, Transport: tr}}
	t.Cleanup(tr.CloseIdleConnections)
	return k
}

func randomName(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// createTopic creates a fresh topic, deleted when the test ends.
func (k *testKafka) createTopic(partitions int) string {
	k.t.Helper()
	return k.createNamedTopic(randomName("sluice-test-"), partitions)
}

// createNamedTopic creates a topic by name, deleted when the test ends.
func (k *testKafka) createNamedTopic(name string, partitions int) string {
	k.t.Helper()
	res, err := k.client.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err != nil {
		k.t.Fatalf("create topic %s: %v", name, err)
	}
	if err := res.Errors[name]; err != nil {
		k.t.Fatalf("create topic %s: %v", name, err)
	}
	k.t.Cleanup(func() {
		res, err := k.client.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{name}})
		if err == nil {
			err = res.Errors[name]
		}
		if err != nil {
			k.t.Errorf("delete topic %s: %v", name, err)
		}
	})
	k.waitForLeaders(name, partitions)
	return name
}

// waitForLeaders waits until metadata shows every partition with a leader.
func (k *testKafka) waitForLeaders(topic string, partitions int) {
	k.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		md, err := k.client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	k.t.Fatalf("topic %s has no leaders after 10s", topic)
}

// produce writes n records to each partition, in compressed batches of 100.
func (k *testKafka) produce(topic string, partitions, n int, tag string) {
	k.t.Helper()
	for p := 0; p < partitions; p++ {
		for done := 0; done < n; {
			size := min(100, n-done)
			// Records are readers, consumed by a send: build them per attempt.
			recs := func() []kafka.Record {
				out := make([]kafka.Record, size)
				for i := range out {
					out[i] = kafka.Record{
						Key:     kafka.NewBytes([]byte(fmt.Sprintf("key-%d-%d", p, done+i))),
						Value:   kafka.NewBytes([]byte(fmt.Sprintf(`{"tag":%q,"p":%d,"i":%d}`, tag, p, done+i))),
						Headers: []kafka.Header{{Key: "h", Value: []byte("v")}},
					}
				}
				return out
			}
			if err := k.produceBatch(topic, p, recs); err != nil {
				k.t.Fatalf("produce to %s/%d: %v", topic, p, err)
			}
			done += size
		}
	}
}

// produceBatch writes one compressed batch, retrying while a new topic's
// leadership settles.
func (k *testKafka) produceBatch(topic string, partition int, recs func() []kafka.Record) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		var res *kafka.ProduceResponse
		res, err = k.client.Produce(context.Background(), &kafka.ProduceRequest{
			Topic: topic, Partition: partition, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(recs()...), Compression: kafka.Snappy,
		})
		if err == nil {
			err = res.Error
		}
		var kerr kafka.Error
		if err == nil || !errors.As(err, &kerr) || !kerr.Temporary() {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// committed reads the group's committed offsets of a topic.
func (k *testKafka) committed(group, topic string, partitions int) (map[int]int64, error) {
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	res, err := k.client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, res.Error
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// deleteGroupLater removes the test's consumer group when the test ends.
func (k *testKafka) deleteGroupLater(group string) {
	k.t.Cleanup(func() {
		res, err := k.client.DeleteGroups(context.Background(), &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
		if err == nil {
			err = res.Errors[group]
		}
		if err != nil && !errors.Is(err, kafka.GroupIdNotFound) {
			k.t.Logf("delete group %s: %v", group, err)
		}
	})
}

func testConfig(t *testing.T, topic, group string) Config {
	level := slog.LevelWarn
	if os.Getenv("SLUICE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return Config{
		Brokers: []string{testenv.KafkaBroker()}, GroupID: group, Topics: []string{topic},
		MaxBatchMessages: 500,
		Logger:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
}

// drain reads and commits every batch until io.EOF.
func drain(t *testing.T, src *Source) []Message {
	t.Helper()
	var all []Message
	for {
		b, err := src.ReadBatch(context.Background())
		if errors.Is(err, io.EOF) {
			return all
		}
		if err != nil {
			t.Fatalf("read batch: %v", err)
		}
		all = append(all, b.Messages...)
		if err := src.Commit(context.Background(), b); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
}

// checkContiguous fails unless msgs hold every offset in [from, to) of each
// partition exactly once, in order.
func checkContiguous(t *testing.T, msgs []Message, from, to map[int]int64) {
	t.Helper()
	next := map[int]int64{}
	for p, o := range from {
		next[p] = o
	}
	for _, m := range msgs {
		if m.Offset != next[m.Partition] {
			t.Fatalf("partition %d: got offset %d, want %d", m.Partition, m.Offset, next[m.Partition])
		}
		next[m.Partition]++
	}
	for p, o := range to {
		if next[p] != o {
			t.Fatalf("partition %d: read up to %d, want %d", p, next[p], o)
		}
	}
}
