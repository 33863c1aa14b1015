package kafkasrc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

func rec(offset int64, value string) protocol.Record {
	return protocol.Record{Offset: offset, Key: protocol.NewBytes([]byte("k")), Value: protocol.NewBytes([]byte(value))}
}

func dataBatch(recs ...protocol.Record) protocol.RecordReader {
	return &protocol.RecordBatch{Records: protocol.NewRecordReader(recs...)}
}

func controlBatch(offset int64) protocol.RecordReader {
	return &protocol.ControlBatch{Records: protocol.NewRecordReader(rec(offset, "marker"))}
}

func offsetsOf(ms []Message) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.Offset)
	}
	return out
}

func TestDecodeFetchDropsRecordsBeforeRequestedOffset(t *testing.T) {
	// A compressed batch comes back whole, starting before the offset asked for.
	rr := &protocol.RecordStream{Records: []protocol.RecordReader{
		dataBatch(rec(5, "a"), rec(6, "b"), rec(7, "c"), rec(8, "d")),
	}}
	f, err := decodeFetch(nil, "t", 0, rr, 7, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(offsetsOf(f.messages)); got != "[7 8]" || f.next != 9 {
		t.Fatalf("offsets %s next %d, want [7 8] next 9", got, f.next)
	}
	if string(f.messages[0].Value) != "c" || f.messages[0].Topic != "t" {
		t.Fatalf("message not copied: %+v", f.messages[0])
	}
}

func TestDecodeFetchStopsAtTarget(t *testing.T) {
	rr := &protocol.RecordStream{Records: []protocol.RecordReader{
		dataBatch(rec(0, "a"), rec(1, "b"), rec(2, "c"), rec(3, "d")),
	}}
	f, err := decodeFetch(nil, "t", 0, rr, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(offsetsOf(f.messages)); got != "[0 1]" || f.next != 2 {
		t.Fatalf("offsets %s next %d, want [0 1] next 2", got, f.next)
	}
}

func TestDecodeFetchControlMarkerAdvancesOffset(t *testing.T) {
	// Data 0..1, a commit marker at 2, target (watermark) 3: the partition
	// must reach 3, or the plan would never show zero lag.
	rr := &protocol.RecordStream{Records: []protocol.RecordReader{
		dataBatch(rec(0, "a"), rec(1, "b")),
		controlBatch(2),
	}}
	f, err := decodeFetch(nil, "t", 0, rr, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.messages) != 2 || f.next != 3 {
		t.Fatalf("got %d messages next %d, want 2 next 3", len(f.messages), f.next)
	}
}

func TestDecodeFetchCompactionGapReachesTarget(t *testing.T) {
	// Offsets 3 and 4 were compacted away; the first record seen is at the target.
	rr := &protocol.RecordStream{Records: []protocol.RecordReader{dataBatch(rec(5, "x"))}}
	f, err := decodeFetch(nil, "t", 0, rr, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.messages) != 0 || f.next != 5 {
		t.Fatalf("got %d messages next %d, want 0 next 5", len(f.messages), f.next)
	}
}

func TestDecodeFetchEmpty(t *testing.T) {
	f, err := decodeFetch(nil, "t", 0, protocol.NewRecordReader(), 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if f.next != -1 {
		t.Fatalf("next %d, want -1 for an empty answer", f.next)
	}
}

func TestTombstoneKeepsNilValue(t *testing.T) {
	rr := &protocol.RecordStream{Records: []protocol.RecordReader{
		dataBatch(protocol.Record{Offset: 0, Key: protocol.NewBytes([]byte("k"))}),
	}}
	f, err := decodeFetch(nil, "t", 0, rr, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if f.messages[0].Value != nil {
		t.Fatalf("tombstone value %q, want nil", f.messages[0].Value)
	}
}

func TestSelectTopics(t *testing.T) {
	topic := func(name string, internal bool) kafka.Topic {
		return kafka.Topic{Name: name, Internal: internal, Partitions: []kafka.Partition{{ID: 1}, {ID: 0}}}
	}
	md := []kafka.Topic{
		topic("cdc.shop.public.orders", false),
		topic("cdc.shop.public.customers", false),
		topic("__debezium-heartbeat.cdc.shop.orders", false),
		topic("__consumer_offsets", true),
		topic("other", false),
	}
	got, err := selectTopics(md, nil, regexp.MustCompile(`orders$`))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[cdc.shop.public.orders:[0 1]]" {
		t.Fatalf("pattern selected %v", got)
	}
	got, err = selectTopics(md, []string{"__debezium-heartbeat.cdc.shop.orders"}, regexp.MustCompile(`orders$`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("a listed heartbeat topic must be kept: %v", got)
	}
	if _, err := selectTopics(md, []string{"missing"}, nil); !errors.Is(err, kafka.UnknownTopicOrPartition) {
		t.Fatalf("missing listed topic: err %v", err)
	}
}

func TestPlanPartition(t *testing.T) {
	tp := topicPartition{"t", 0}
	cases := []struct {
		committed   int64
		b           bounds
		start, lag  int64
		description string
	}{
		{-1, bounds{0, 10}, 0, 10, "nothing committed"},
		{4, bounds{0, 10}, 4, 6, "committed"},
		{10, bounds{0, 10}, 10, 0, "caught up"},
		{2, bounds{5, 10}, 5, 5, "committed offset deleted by retention"},
		{12, bounds{0, 10}, 12, 0, "committed past the watermark"},
	}
	for _, c := range cases {
		pp := planPartition(tp, c.committed, c.b)
		if pp.Start != c.start || pp.Lag != c.lag || pp.Target != c.b.last {
			t.Errorf("%s: got start %d lag %d target %d", c.description, pp.Start, pp.Lag, pp.Target)
		}
	}
}

func TestPlanLagAndTopics(t *testing.T) {
	p := &DrainPlan{Partitions: []PartitionPlan{
		{Topic: "a", Partition: 0, Lag: 2}, {Topic: "a", Partition: 1, Lag: 3}, {Topic: "b", Partition: 0},
	}}
	if p.Lag() != 5 || fmt.Sprint(p.Topics()) != "[a b]" {
		t.Fatalf("lag %d topics %v", p.Lag(), p.Topics())
	}
}

// testSource builds a source over fake partitions, without a broker.
func testSource(maxMessages, maxBytes int, parts ...*partition) *Source {
	plan := &DrainPlan{GroupID: "g"}
	g := &generation{gen: &kafka.Generation{ID: 1}, byTP: map[topicPartition]*partition{}, lost: make(chan struct{})}
	for _, p := range parts {
		plan.Partitions = append(plan.Partitions, PartitionPlan{Topic: p.tp.Topic, Partition: p.tp.Partition, Target: p.target})
		g.parts = append(g.parts, p)
		g.byTP[p.tp] = p
	}
	cfg := Config{MaxBatchMessages: maxMessages, MaxBatchBytes: maxBytes, GroupID: "g"}.withDefaults()
	s := &Source{cfg: cfg, log: slog.New(slog.DiscardHandler), plan: plan, cur: g, stats: newStats(plan)}
	s.noteAssignment(g)
	return s
}

func pendingPartition(id int, from, n int64) *partition {
	p := &partition{tp: topicPartition{"t", id}, committed: from, readNext: from, fetchNext: from + n, target: from + n, exhausted: true}
	for o := from; o < from+n; o++ {
		p.pending = append(p.pending, Message{Topic: "t", Partition: id, Offset: o, Value: make([]byte, 10)})
	}
	return p
}

func TestFillRespectsBoundsAndRotates(t *testing.T) {
	s := testSource(3, 1<<20, pendingPartition(0, 0, 2), pendingPartition(1, 100, 2))
	b := &Batch{}
	if err := s.fill(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range b.Messages {
		got = append(got, fmt.Sprintf("%d@%d", m.Partition, m.Offset))
	}
	if fmt.Sprint(got) != "[0@0 0@1 1@100]" {
		t.Fatalf("batch %v", got)
	}
	if next := fmt.Sprint(s.uncommittedOffsets()); next != "[{t 0 2} {t 1 101}]" {
		t.Fatalf("next offsets %s", next)
	}
}

func TestFillByteBoundKeepsAtLeastOneMessage(t *testing.T) {
	s := testSource(100, 5, pendingPartition(0, 0, 3))
	b := &Batch{}
	if err := s.fill(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 1 || !b.full {
		t.Fatalf("got %d messages (full %v), want 1 message over the byte bound", len(b.Messages), b.full)
	}
}

func TestCommitOffsetsAssignedAndForwardOnly(t *testing.T) {
	p0 := pendingPartition(0, 10, 0)
	p0.readNext = 15
	s := testSource(10, 1<<20, p0)
	got, err := s.commitOffsets(&Batch{Next: []PartitionOffset{{"t", 0, 15}}})
	if err != nil || got["t"][0] != 15 {
		t.Fatalf("got %v err %v", got, err)
	}
	p0.committed = 15
	got, err = s.commitOffsets(&Batch{Next: []PartitionOffset{{"t", 0, 12}}})
	if err != nil || len(got) != 0 {
		t.Fatalf("an older batch must not move the offset back: got %v err %v", got, err)
	}
	if _, err := s.commitOffsets(&Batch{Next: []PartitionOffset{{"t", 1, 3}}}); err == nil {
		t.Fatal("committing a partition not assigned to this member must fail")
	}
}

func TestGenerationLostError(t *testing.T) {
	err := fmt.Errorf("run: %w", &GenerationLostError{GroupID: "g", Generation: 3, Err: kafka.IllegalGeneration})
	if !errors.Is(err, ErrGenerationLost) || !errors.Is(err, kafka.IllegalGeneration) {
		t.Fatalf("errors.Is failed for %v", err)
	}
	var gl *GenerationLostError
	if !errors.As(err, &gl) || gl.Generation != 3 {
		t.Fatalf("errors.As failed for %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Brokers: []string{"127.0.0.1:9092"}, GroupID: "g", Topics: []string{"t"}}.withDefaults()
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Config{
		{GroupID: "g", Topics: []string{"t"}},
		{Brokers: []string{"nohostport"}, GroupID: "g", Topics: []string{"t"}},
		{Brokers: []string{"h:1"}, Topics: []string{"t"}},
		{Brokers: []string{"h:1"}, GroupID: "g"},
		{Brokers: []string{"h:1"}, GroupID: "g", Topics: []string{"t"}, HeartbeatInterval: 10e9, SessionTimeout: 6e9},
	}
	for i, c := range bad {
		if err := c.withDefaults().validate(); err == nil {
			t.Errorf("config %d: no error", i)
		}
	}
}

// A drained source must say io.EOF at once, whether or not the caller
// committed the last batch yet: empty batches again and again made a
// caller that commits per flush window spin until its flush interval.
func TestReadBatchEOFWithoutCommit(t *testing.T) {
	p1 := &partition{tp: topicPartition{"t", 1}, committed: 0, readNext: 5, fetchNext: 5, target: 5, exhausted: true} // ends in markers
	s := testSource(100, 1<<20, pendingPartition(0, 0, 3), p1)
	b, err := s.ReadBatch(t.Context())
	if err != nil || len(b.Messages) != 3 || fmt.Sprint(b.Next) != "[{t 0 3} {t 1 5}]" {
		t.Fatalf("first batch %+v err %v", b, err)
	}
	for i := 0; i < 3; i++ {
		if b, err := s.ReadBatch(t.Context()); !errors.Is(err, io.EOF) {
			t.Fatalf("read %d after the targets, nothing committed: got %+v, %v; want io.EOF", i, b, err)
		}
	}
	// Markers only: one empty batch that covers them, then io.EOF.
	p2 := &partition{tp: topicPartition{"t", 2}, committed: 7, readNext: 9, fetchNext: 9, target: 9, handed: 7, exhausted: true}
	s = testSource(100, 1<<20, p2)
	if b, err := s.ReadBatch(t.Context()); err != nil || len(b.Messages) != 0 || fmt.Sprint(b.Next) != "[{t 2 9}]" {
		t.Fatalf("markers batch %+v err %v", b, err)
	}
	if _, err := s.ReadBatch(t.Context()); !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

// TestSlabReuse: a released batch's slab goes back to the pool once the
// copier has moved on, and is handed out again; an unreleased one is not.
func TestSlabReuse(t *testing.T) {
	pool := &slabPool{}
	c := &copier{pool: pool}
	var b Batch
	for i := 0; i < 3; i++ {
		buf, sl := c.alloc(10)
		copy(buf, "0123456789")
		b.Messages = append(b.Messages, Message{Value: buf, slab: sl})
	}
	first := b.Messages[0].slab
	if first == nil || b.Messages[2].slab != first {
		t.Fatalf("three small messages should share one slab: %p %p", first, b.Messages[2].slab)
	}
	b.Release()
	if len(b.Messages) != 0 || len(pool.free) != 0 {
		t.Fatalf("after Release: %d messages, %d free slabs (the copier still holds the slab)", len(b.Messages), len(pool.free))
	}
	// Fill the slab so that the copier moves to a new one.
	kept, _ := c.alloc(slabOwnAbove)
	for len(first.buf)+slabOwnAbove <= slabSize {
		c.alloc(slabOwnAbove)
	}
	_, next := c.alloc(slabOwnAbove)
	if next == first {
		t.Fatal("the copier should have moved to a new slab")
	}
	if len(pool.free) != 0 {
		t.Fatal("a slab with unreleased messages went back to the pool")
	}
	_ = kept
	// Big records get their own memory.
	if _, sl := c.alloc(slabOwnAbove + 1); sl != nil {
		t.Fatal("a record above slabOwnAbove should not use a slab")
	}
}

func TestSlabReturnsWhenAllReleased(t *testing.T) {
	pool := &slabPool{}
	c := &copier{pool: pool}
	var a, b Batch
	buf, sl := c.alloc(slabSize / 2)
	a.Messages = append(a.Messages, Message{Value: buf, slab: sl})
	buf, sl2 := c.alloc(slabSize / 2)
	b.Messages = append(b.Messages, Message{Value: buf, slab: sl2})
	if sl != nil || sl2 != nil {
		t.Fatal("records above slabOwnAbove should not use slabs")
	}
	small, s1 := c.alloc(100)
	a.Messages = append(a.Messages, Message{Value: small, slab: s1})
	for len(s1.buf)+slabOwnAbove <= slabSize {
		buf, s := c.alloc(slabOwnAbove)
		b.Messages = append(b.Messages, Message{Value: buf, slab: s})
	}
	_, s3 := c.alloc(slabOwnAbove) // a new slab: the copier drops s1
	if s3 == s1 {
		t.Fatal("expected a new slab")
	}
	a.Release()
	if len(pool.free) != 0 {
		t.Fatal("slab back while batch b still holds messages in it")
	}
	b.Release()
	if len(pool.free) != 1 || pool.free[0] != s1 {
		t.Fatalf("slab not back after both batches released: %d free", len(pool.free))
	}
	if got := pool.get(); got != s1 || len(got.buf) != 0 {
		t.Fatal("the pool should hand the released slab out again, empty")
	}
}

// TestRetriableCode: Plan retries the error codes Kafka marks retriable
// (as ListOffsets and OffsetFetch return them, bare or wrapped) and no
// others.
func TestRetriableCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{kafka.NotLeaderForPartition, true},
		{fmt.Errorf("kafka list offsets of t/0: %w", kafka.NotLeaderForPartition), true},
		{fmt.Errorf("kafka committed offsets of group %q: %w", "g", kafka.GroupCoordinatorNotAvailable), true},
		{kafka.LeaderNotAvailable, true},
		{fmt.Errorf("wrapped: %w", kafka.TopicAuthorizationFailed), false},
		{fmt.Errorf("kafka topic %q: %w", "typo", kafka.UnknownTopicOrPartition), false},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false},
	} {
		if got := retriableCode(tc.err); got != tc.want {
			t.Errorf("%v: retriable %v, want %v", tc.err, got, tc.want)
		}
	}
}
