//go:build integration

package kafkasrc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestDrainCommitsEverythingAndSecondPlanIsIdle(t *testing.T) {
	k := newTestKafka(t)
	topic := k.createTopic(3)
	group := randomName("sluice-test-group-")
	k.deleteGroupLater(group)
	const perPartition = 1000
	k.produce(topic, 3, perPartition, "a")
	cfg := testConfig(t, topic, group)
	ctx := context.Background()

	plan, err := Plan(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Lag() != 3*perPartition || len(plan.Partitions) != 3 {
		t.Fatalf("plan lag %d over %d partitions, want %d over 3", plan.Lag(), len(plan.Partitions), 3*perPartition)
	}
	for _, pp := range plan.Partitions {
		if pp.Committed != -1 || pp.Start != 0 || pp.Target != perPartition {
			t.Fatalf("partition plan %+v", pp)
		}
	}
	t.Logf("plan 1: lag %d in %s", plan.Lag(), plan.Took)

	start := time.Now()
	src, err := Open(ctx, cfg, plan)
	if err != nil {
		t.Fatal(err)
	}
	joined := time.Since(start)
	msgs := drain(t, src)
	drained := time.Since(start) - joined
	rep := src.Report()
	closeStart := time.Now()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("join %s, drain %d messages %s, close %s, generations %v",
		joined, len(msgs), drained, time.Since(closeStart), rep.Generations)

	zero, full := map[int]int64{0: 0, 1: 0, 2: 0}, map[int]int64{0: perPartition, 1: perPartition, 2: perPartition}
	byPartition := map[int][]Message{}
	for _, m := range msgs {
		byPartition[m.Partition] = append(byPartition[m.Partition], m)
	}
	for p := range 3 {
		checkContiguous(t, byPartition[p], map[int]int64{p: zero[p]}, map[int]int64{p: full[p]})
	}
	for _, m := range msgs {
		want := fmt.Sprintf("key-%d-%d", m.Partition, m.Offset)
		if m.Topic != topic || string(m.Key) != want || len(m.Value) == 0 || len(m.Headers) != 1 || m.Time.IsZero() {
			t.Fatalf("message fields wrong (want key %s): %+v", want, m)
		}
	}
	if rep.Lag() != 0 {
		t.Fatalf("report lag %d: %+v", rep.Lag(), rep.Partitions)
	}
	for _, pr := range rep.Partitions {
		if !pr.Assigned || pr.Start != 0 || pr.Committed != perPartition || pr.Messages != perPartition {
			t.Fatalf("partition report %+v", pr)
		}
	}

	got, err := k.committed(group, topic, 3)
	if err != nil {
		t.Fatal(err)
	}
	for p := range 3 {
		if got[p] != perPartition {
			t.Fatalf("committed %v, want %d everywhere", got, perPartition)
		}
	}

	plan2, err := Plan(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if plan2.Lag() != 0 {
		t.Fatalf("second plan lag %d: %+v", plan2.Lag(), plan2.Partitions)
	}
	// Plan never joins: the group has no member after it.
	groups, err := k.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	if g := groups.Groups[0]; g.Error != nil || len(g.Members) != 0 || g.GroupState != "Empty" {
		t.Fatalf("group after plan 2: state %q, %d members, err %v", g.GroupState, len(g.Members), g.Error)
	}
	t.Logf("plan 2: lag 0 in %s", plan2.Took)
}

func TestRunIsBoundedByPlanWatermark(t *testing.T) {
	k := newTestKafka(t)
	topic := k.createTopic(3)
	group := randomName("sluice-test-group-")
	k.deleteGroupLater(group)
	k.produce(topic, 3, 100, "before")
	cfg := testConfig(t, topic, group)
	ctx := context.Background()

	plan, err := Plan(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.produce(topic, 3, 50, "after") // after the plan: not this run's work
	src, err := Open(ctx, cfg, plan)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	msgs := drain(t, src)
	if len(msgs) != 300 {
		t.Fatalf("read %d messages, want the 300 produced before the plan", len(msgs))
	}
	for _, m := range msgs {
		if m.Offset >= 100 {
			t.Fatalf("read %s/%d@%d beyond the plan's target 100", m.Topic, m.Partition, m.Offset)
		}
	}
	src.Close()
	plan2, err := Plan(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if plan2.Lag() != 150 {
		t.Fatalf("next plan lag %d, want 150", plan2.Lag())
	}
	t.Logf("run read %d of 450 (target = watermark at plan); next plan lag %d", len(msgs), plan2.Lag())
}

func TestUncommittedBatchIsReadAgain(t *testing.T) {
	k := newTestKafka(t)
	topic := k.createTopic(3)
	group := randomName("sluice-test-group-")
	k.deleteGroupLater(group)
	k.produce(topic, 3, 200, "a")
	cfg := testConfig(t, topic, group)
	cfg.MaxBatchMessages = 150
	ctx := context.Background()

	firstBatch := func() *Batch {
		plan, err := Plan(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Lag() != 600 {
			t.Fatalf("plan lag %d, want 600 (nothing committed)", plan.Lag())
		}
		src, err := Open(ctx, cfg, plan)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		b, err := src.ReadBatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return b // not committed: the sink "failed"
	}
	b1, b2 := firstBatch(), firstBatch()
	if len(b1.Messages) != 150 || len(b2.Messages) != 150 {
		t.Fatalf("batch sizes %d, %d", len(b1.Messages), len(b2.Messages))
	}
	for i := range b1.Messages {
		m1, m2 := b1.Messages[i], b2.Messages[i]
		if m1.Partition != m2.Partition || m1.Offset != m2.Offset || string(m1.Value) != string(m2.Value) {
			t.Fatalf("message %d: run 1 read %d@%d, run 2 read %d@%d", i, m1.Partition, m1.Offset, m2.Partition, m2.Offset)
		}
	}
	got, err := k.committed(group, topic, 3)
	if err != nil {
		t.Fatal(err)
	}
	for p, o := range got {
		if o != -1 {
			t.Fatalf("partition %d committed %d without a Commit", p, o)
		}
	}
	t.Logf("uncommitted batch of %d (from %d@%d) was read again by the next run", len(b1.Messages), b1.Messages[0].Partition, b1.Messages[0].Offset)
}

func TestIdlePlanTiming(t *testing.T) {
	k := newTestKafka(t)
	topic := k.createTopic(3)
	group := randomName("sluice-test-group-")
	k.deleteGroupLater(group)
	k.produce(topic, 3, 10, "a")
	cfg := testConfig(t, topic, group)
	ctx := context.Background()
	plan, err := Plan(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open(ctx, cfg, plan)
	if err != nil {
		t.Fatal(err)
	}
	drain(t, src)
	src.Close()
	for i := range 5 {
		start := time.Now()
		plan, err := Plan(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Lag() != 0 {
			t.Fatalf("idle plan lag %d", plan.Lag())
		}
		t.Logf("idle plan %d: %s (lag 0, 3 partitions)", i+1, time.Since(start))
	}
}
