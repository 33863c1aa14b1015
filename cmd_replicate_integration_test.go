//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// TestReplicateClickHouseUnreachable: with messages waiting and ClickHouse
// down, replicate exits 4 and commits nothing.
func TestReplicateClickHouseUnreachable(t *testing.T) {
	testenv.RequireKafka(t)
	topic := fmt.Sprintf("sluit%08x.public.t", rand.Uint32())
	group := fmt.Sprintf("repl-it-%08x", rand.Uint32())
	w := &kafka.Writer{Addr: kafka.TCP(testenv.KafkaBroker()), Topic: topic, AllowAutoTopicCreation: true, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	var err error
	for i := 0; i < 20; i++ {
		if err = w.WriteMessages(context.Background(), kafka.Message{Key: []byte(`{"id":1}`), Value: []byte(`{"id":1,"__lsn":1}`)}); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"sluice", "replicate", "--kafka-brokers", testenv.KafkaBroker(), "--group", group, "--topics", topic,
		"--clickhouse-url", "clickhouse://127.0.0.1:1/default?dial_timeout=1s", "--output", "json"}, &out, &errb)
	t.Logf("exit %d; stderr: %s", code, errb.String())
	if code != exitcode.Unavailable {
		t.Errorf("exit code %d, want %d", code, exitcode.Unavailable)
	}
	plan, err := kafkasrc.Plan(context.Background(), kafkasrc.Config{Brokers: []string{testenv.KafkaBroker()}, GroupID: group, Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Lag() != 1 || plan.Partitions[0].Committed != -1 {
		t.Errorf("offsets moved: lag %d, committed %d", plan.Lag(), plan.Partitions[0].Committed)
	}
}
