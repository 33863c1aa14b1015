// Command gen builds the replicate benchmark's backlog: it copies the
// Debezium messages of the shop's topics (cdc.ecommerce.public.<table>, the
// unwrap shape with schemas) into topics of its own, replicated N times.
// Copy k adds k*id-stride to every integer field named *_id (primary and
// foreign keys, in the key and the value) and k*lsn-stride to __lsn, so every
// copy is a distinct set of rows whose versions are newer than the copy
// before; the rest of each message (schema, columns, deletes, TOAST
// placeholders) is byte for byte what Debezium produced. A copy keeps the
// source partition, so one key always lands in one partition.
//
//	gen create --prefix P --events N   create P.<table> topics, fill them, print a JSON summary
//	gen delete [--prefix P] [--group G] delete the topics (and the consumer group)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

var tables = []string{"customers", "vehicles", "orders", "order_items", "payments"}

type msg struct {
	key, value []byte
}

type summary struct {
	Topics     []string         `json:"topics"`
	Events     int64            `json:"events"`
	Bytes      int64            `json:"bytes"`
	Copies     int              `json:"copies"`
	Source     int64            `json:"source_events"`
	PerTable   map[string]int64 `json:"per_table"`
	GenSeconds float64          `json:"seconds"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gen create|delete [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	brokers := fs.String("brokers", envOr("SLUICE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka bootstrap broker")
	source := fs.String("source", "cdc.ecommerce.public", "source topic prefix")
	prefix := fs.String("prefix", "", "destination topic prefix (topics are PREFIX.<table>)")
	events := fs.Int64("events", 1_000_000, "at least this many events")
	partitions := fs.Int("partitions", 3, "partitions per topic")
	idStride := fs.Int64("id-stride", 100_000_000, "added to *_id fields per copy")
	lsnStride := fs.Int64("lsn-stride", 1<<40, "added to __lsn per copy")
	group := fs.String("group", "", "delete: also delete this consumer group")
	_ = fs.Parse(os.Args[2:])
	if *prefix == "" && os.Args[1] != "delete" {
		fatal(errors.New("--prefix is required"))
	}
	tr := &kafka.Transport{ClientID: "sluice-bench-gen"}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(*brokers), Timeout: 30 * time.Second, Transport: tr}
	ctx := context.Background()
	var topics []string
	for _, t := range tables {
		if *prefix != "" { // delete without --prefix: only the group
			topics = append(topics, *prefix+"."+t)
		}
	}
	switch os.Args[1] {
	case "create":
		s, err := create(ctx, c, *source, topics, *events, *partitions, *idStride, *lsnStride)
		if err != nil {
			fatal(err)
		}
		_ = json.NewEncoder(os.Stdout).Encode(s)
	case "delete":
		if len(topics) > 0 {
			res, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
			if err != nil {
				fatal(err)
			}
			for t, e := range res.Errors {
				if e != nil && !errors.Is(e, kafka.UnknownTopicOrPartition) {
					fmt.Fprintf(os.Stderr, "delete topic %s: %v\n", t, e)
				}
			}
		}
		if *group != "" {
			gr, err := c.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{*group}})
			if err == nil {
				err = gr.Errors[*group]
			}
			if err != nil && !errors.Is(err, kafka.GroupIdNotFound) {
				fmt.Fprintf(os.Stderr, "delete group %s: %v\n", *group, err)
			}
		}
	default:
		fatal(fmt.Errorf("unknown subcommand %q", os.Args[1]))
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

func create(ctx context.Context, c *kafka.Client, source string, topics []string, events int64, partitions int, idStride, lsnStride int64) (*summary, error) {
	begin := time.Now()
	// Read the source topics up to their current end.
	src := map[string][][]msg{} // table -> partition -> messages
	var srcCount int64
	for _, t := range tables {
		parts, err := readTopic(ctx, c, source+"."+t)
		if err != nil {
			return nil, err
		}
		src[t] = parts
		for _, p := range parts {
			srcCount += int64(len(p))
		}
	}
	if srcCount == 0 {
		return nil, fmt.Errorf("source topics %s.* are empty", source)
	}
	copies := int((events + srcCount - 1) / srcCount)
	cfgs := make([]kafka.TopicConfig, len(topics))
	for i, t := range topics {
		cfgs[i] = kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: 1}
	}
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: cfgs})
	if err != nil {
		return nil, fmt.Errorf("create topics: %w", err)
	}
	for t, e := range res.Errors {
		if e != nil {
			return nil, fmt.Errorf("create topic %s: %w", t, e)
		}
	}
	s := &summary{Topics: topics, Copies: copies, Source: srcCount, PerTable: map[string]int64{}}
	for i, t := range tables {
		for p, list := range src[t] {
			dp := p % partitions
			batch := make([]msg, 0, 1000)
			size := 0
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				err := produce(ctx, c, topics[i], dp, batch)
				batch, size = batch[:0], 0
				return err
			}
			for k := 0; k < copies; k++ {
				for _, m := range list {
					nm := msg{key: shift(m.key, int64(k), idStride, lsnStride), value: shift(m.value, int64(k), idStride, lsnStride)}
					s.Events++
					s.Bytes += int64(len(nm.key) + len(nm.value))
					s.PerTable[t]++
					batch = append(batch, nm)
					size += len(nm.key) + len(nm.value) + 64
					// Kafka's default message.max.bytes is 1 MB per batch.
					if len(batch) == cap(batch) || size > 800<<10 {
						if err := flush(); err != nil {
							return nil, err
						}
					}
				}
			}
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	s.GenSeconds = time.Since(begin).Seconds()
	return s, nil
}

var numField = regexp.MustCompile(`"([a-z_]*_id|__lsn)":(-?[0-9]+)`)

// shift rewrites the key and LSN fields of one JSON message for copy k.
func shift(b []byte, k, idStride, lsnStride int64) []byte {
	if b == nil || k == 0 {
		return b
	}
	return numField.ReplaceAllFunc(b, func(m []byte) []byte {
		i := bytes.LastIndexByte(m, ':')
		name := m[1 : i-1]
		v, err := strconv.ParseInt(string(m[i+1:]), 10, 64)
		if err != nil {
			return m
		}
		if string(name) == "__lsn" {
			v += k * lsnStride
		} else {
			v += k * idStride
		}
		out := append([]byte(nil), m[:i+1]...)
		return strconv.AppendInt(out, v, 10)
	})
}

// readTopic returns every message of every partition up to the end offsets
// seen now.
func readTopic(ctx context.Context, c *kafka.Client, topic string) ([][]msg, error) {
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("topic %s: not found", topic)
	}
	n := len(md.Topics[0].Partitions)
	req := map[string][]kafka.OffsetRequest{}
	for p := 0; p < n; p++ {
		req[topic] = append(req[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	lo, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, err
	}
	out := make([][]msg, n)
	for _, po := range lo.Topics[topic] {
		if po.Error != nil {
			return nil, po.Error
		}
		list, err := readPartition(ctx, c, topic, po.Partition, po.FirstOffset, po.LastOffset)
		if err != nil {
			return nil, err
		}
		out[po.Partition] = list
	}
	return out, nil
}

func readPartition(ctx context.Context, c *kafka.Client, topic string, p int, from, to int64) ([]msg, error) {
	var out []msg
	next := from
	for next < to {
		res, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: next, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 500 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		if res.Error != nil {
			return nil, res.Error
		}
		got := 0
		for {
			r, err := res.Records.ReadRecord()
			if err != nil {
				break
			}
			if r.Offset < next {
				continue
			}
			m := msg{}
			if r.Key != nil {
				m.key, _ = readAll(r.Key)
			}
			if r.Value != nil {
				m.value, _ = readAll(r.Value)
			}
			out = append(out, m)
			next = r.Offset + 1
			got++
			if next >= to {
				break
			}
		}
		if got == 0 { // a control record or a gap at the end
			break
		}
	}
	return out, nil
}

func readAll(b kafka.Bytes) ([]byte, error) { return io.ReadAll(b) }

func produce(ctx context.Context, c *kafka.Client, topic string, p int, batch []msg) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		recs := make([]kafka.Record, len(batch))
		for i, m := range batch {
			recs[i] = kafka.Record{Key: nilOr(m.key), Value: nilOr(m.value)}
		}
		var res *kafka.ProduceResponse
		res, err = c.Produce(ctx, &kafka.ProduceRequest{Topic: topic, Partition: p, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(recs...)})
		if err == nil {
			err = res.Error
		}
		var kerr kafka.Error
		if err == nil || !errors.As(err, &kerr) || !kerr.Temporary() {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

func nilOr(b []byte) kafka.Bytes {
	if b == nil {
		return nil
	}
	return kafka.NewBytes(b)
}
