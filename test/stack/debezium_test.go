//go:build integration

// Package stack tests the local stack itself: Debezium's snapshot and its
// change stream arrive on Kafka in both connector shapes. It needs the stack
// up, the shop loaded and both connectors registered (scripts/test does all
// three).
package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/internal/testenv"
)

var shopTables = []string{"customers", "vehicles", "orders", "order_items", "payments"}

// opCounts tallies the change events of one topic by operation.
type opCounts map[string]int

// The two connector shapes: where the op sits in a message value.
type shape struct {
	prefix string
	op     func(value []byte) (string, error)
}

var shapes = []shape{
	{"cdc.ecommerce", unwrapOp},
	{"cdc.envelope", envelopeOp},
}

// unwrapOp reads __op from an ExtractNewRecordState row with schemas on.
func unwrapOp(value []byte) (string, error) {
	var m struct {
		Payload struct {
			Op      string `json:"__op"`
			Deleted string `json:"__deleted"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(value, &m); err != nil {
		return "", err
	}
	if m.Payload.Deleted == "true" && m.Payload.Op != "d" {
		return "", fmt.Errorf("__deleted=true with __op=%q", m.Payload.Op)
	}
	return m.Payload.Op, nil
}

// envelopeOp reads op from a Debezium envelope with schemas off.
func envelopeOp(value []byte) (string, error) {
	var m struct {
		Op string `json:"op"`
	}
	err := json.Unmarshal(value, &m)
	return m.Op, err
}

// readOps reads a topic from its start to its current end. A topic that
// does not exist yet (Debezium creates them as it goes) reads as nil.
func readOps(ctx context.Context, t *testing.T, topic string, opOf func([]byte) (string, error)) opCounts {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(testenv.KafkaBroker()), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatalf("metadata for %s: %v", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return nil
	}
	counts := opCounts{}
	for _, p := range meta.Topics[0].Partitions {
		readPartition(ctx, t, client, topic, p.ID, opOf, counts)
	}
	return counts
}

func readPartition(ctx context.Context, t *testing.T, client *kafka.Client, topic string, partition int,
	opOf func([]byte) (string, error), counts opCounts) {
	t.Helper()
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(partition), kafka.LastOffsetOf(partition)},
	}})
	if err != nil {
		t.Fatalf("list offsets %s/%d: %v", topic, partition, err)
	}
	var first, last int64
	for _, po := range offs.Topics[topic] {
		first, last = po.FirstOffset, po.LastOffset
	}
	for off := first; off < last; {
		res, err := client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: partition, Offset: off, MinBytes: 1, MaxBytes: 4 << 20, MaxWait: time.Second})
		if err != nil || res.Error != nil {
			t.Fatalf("fetch %s/%d@%d: %v %v", topic, partition, off, err, res.Error)
		}
		n := 0
		for {
			rec, err := res.Records.ReadRecord()
			if err != nil {
				break
			}
			n++
			if rec.Offset < off {
				continue
			}
			off = rec.Offset + 1
			countRecord(t, topic, rec, opOf, counts)
		}
		if n == 0 {
			break // only control records left below the watermark
		}
	}
}

func countRecord(t *testing.T, topic string, rec *kafka.Record, opOf func([]byte) (string, error), counts opCounts) {
	t.Helper()
	if rec.Value == nil {
		counts["tombstone"]++
		return
	}
	b, err := io.ReadAll(rec.Value)
	if err != nil {
		t.Fatalf("%s offset %d: read value: %v", topic, rec.Offset, err)
	}
	if len(b) == 0 {
		counts["tombstone"]++
		return
	}
	op, err := opOf(b)
	if err != nil {
		t.Fatalf("%s offset %d: cannot read op: %v: %.200s", topic, rec.Offset, err, b)
	}
	counts[op]++
}

func pgCounts(ctx context.Context, t *testing.T) map[string]int {
	t.Helper()
	conn, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	out := map[string]int{}
	for _, table := range shopTables {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM public."+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// balanced is the invariant that ties a topic to its table: the snapshot's
// rows plus the inserts since, minus the deletes since, are the rows the
// table holds now. It holds once Debezium has caught up, whatever else ran.
func balanced(c opCounts, rows int) bool { return c["r"]+c["c"]-c["d"] == rows }

// waitBalanced polls until every topic of both shapes balances with its
// table, and returns the last counts read.
func waitBalanced(ctx context.Context, t *testing.T) map[string]opCounts {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		rows := pgCounts(ctx, t)
		all := map[string]opCounts{}
		ok := true
		for _, s := range shapes {
			for _, table := range shopTables {
				topic := s.prefix + ".public." + table
				c := readOps(ctx, t, topic, s.op)
				all[topic] = c
				ok = ok && c != nil && balanced(c, rows[table])
			}
		}
		if ok {
			return all
		}
		if time.Now().After(deadline) {
			for topic, c := range all {
				t.Logf("%s: %v", topic, c)
			}
			t.Fatalf("topics did not balance with PostgreSQL (r+c-d == rows) within 90s; rows now %v", rows)
		}
		time.Sleep(2 * time.Second)
	}
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestDebeziumSnapshotAndChurnArriveInBothShapes(t *testing.T) {
	testenv.RequirePostgres(t)
	testenv.RequireKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	before := waitBalanced(ctx, t)
	for _, s := range shapes {
		for _, table := range shopTables {
			topic := s.prefix + ".public." + table
			if before[topic]["r"] == 0 {
				t.Errorf("%s: no snapshot (op r) events", topic)
			}
		}
	}

	churn := exec.CommandContext(ctx, filepath.Join(repoRoot(), "scripts/shop/churn"), "--duration", "8")
	if out, err := churn.CombinedOutput(); err != nil {
		t.Fatalf("churn: %v\n%s", err, out)
	}

	after := waitBalanced(ctx, t)
	for _, s := range shapes {
		for _, table := range []string{"orders", "vehicles"} {
			topic := s.prefix + ".public." + table
			if after[topic]["u"] <= before[topic]["u"] {
				t.Errorf("%s: churn produced no new update events (%d before, %d after)", topic, before[topic]["u"], after[topic]["u"])
			}
		}
		topic := s.prefix + ".public.orders"
		if after[topic]["d"] <= before[topic]["d"] {
			t.Errorf("%s: churn produced no new delete events", topic)
		}
	}
	// The envelope connector keeps Debezium's tombstones after deletes; the
	// unwrap connector rewrites deletes into rows and drops them.
	if after["cdc.envelope.public.orders"]["tombstone"] == 0 {
		t.Error("cdc.envelope.public.orders: no tombstones after deletes")
	}
	if n := after["cdc.ecommerce.public.orders"]["tombstone"]; n != 0 {
		t.Errorf("cdc.ecommerce.public.orders: %d tombstones; the rewrite mode should drop them", n)
	}
}
