//go:build integration

package kafkasrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// overlapLog collects what two concurrent runners observed.
type overlapLog struct {
	mu          sync.Mutex
	highest     map[int]int64 // highest committed offset seen via OffsetFetch
	delivered   map[[2]int64]int
	adoptions   []adoption
	regressions []string
	runs, lost  map[string]int
	commits     int
}

type adoption struct {
	runner string
	gen    int32
	parts  []int
}

// checkCommitted reads the committed offsets and records any that went back.
func (l *overlapLog) checkCommitted(k *testKafka, group, topic string) error {
	got, err := k.committed(group, topic, 3)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commits++
	for p, o := range got {
		prev, ok := l.highest[p]
		if ok && o < prev {
			l.regressions = append(l.regressions, fmt.Sprintf("partition %d: %d after %d", p, o, prev))
		}
		if !ok || o > prev {
			l.highest[p] = o
		}
	}
	return nil
}

// noteGeneration records the assignment each time a runner's source is in
// a new generation.
func (l *overlapLog) noteGeneration(runner string, src *Source, last *int32) {
	rep := src.Report()
	gen := rep.Generations[len(rep.Generations)-1]
	if gen == *last {
		return
	}
	*last = gen
	a := adoption{runner: runner, gen: gen}
	for _, p := range rep.Partitions {
		if p.Assigned {
			a.parts = append(a.parts, p.Partition)
		}
	}
	l.mu.Lock()
	l.adoptions = append(l.adoptions, a)
	l.mu.Unlock()
}

func (l *overlapLog) deliver(msgs []Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range msgs {
		l.delivered[[2]int64{int64(m.Partition), m.Offset}]++
	}
}

func (l *overlapLog) count(m map[string]int, runner string) {
	l.mu.Lock()
	m[runner]++
	l.mu.Unlock()
}

// Two scheduled runs of the same group overlap: each loops "plan, join,
// read, write (sleep), commit" and stops its run on ErrGenerationLost, as
// the CLI does, then starts the next run until the plan shows no lag.
func TestOverlappingRunsSplitPartitionsAndNeverRegress(t *testing.T) {
	k := newTestKafka(t)
	topic := k.createTopic(3)
	group := randomName("sluice-test-group-")
	k.deleteGroupLater(group)
	const perPartition = 5000
	k.produce(topic, 3, perPartition, "a")
	cfg := testConfig(t, topic, group)
	cfg.MaxBatchMessages = 250
	ctx := context.Background()

	log := &overlapLog{highest: map[int]int64{}, delivered: map[[2]int64]int{}, runs: map[string]int{}, lost: map[string]int{}}
	oneRun := func(runner string) (done bool, err error) {
		plan, err := Plan(ctx, cfg)
		if err != nil || plan.Lag() == 0 {
			return err == nil, err
		}
		log.count(log.runs, runner)
		src, err := Open(ctx, cfg, plan)
		if err != nil {
			return false, err
		}
		defer src.Close()
		last := int32(-1)
		for {
			b, err := src.ReadBatch(ctx)
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			if errors.Is(err, ErrGenerationLost) {
				log.count(log.lost, runner)
				return false, nil
			}
			if err != nil {
				return false, err
			}
			log.noteGeneration(runner, src, &last)
			log.deliver(b.Messages)
			time.Sleep(20 * time.Millisecond) // the sink's write
			if err := src.Commit(ctx, b); errors.Is(err, ErrGenerationLost) {
				log.count(log.lost, runner)
				return false, nil
			} else if err != nil {
				return false, err
			}
			if err := log.checkCommitted(k, group, topic); err != nil {
				return false, err
			}
		}
	}
	runner := func(name string) error {
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			done, err := oneRun(name)
			if err != nil || done {
				return err
			}
		}
		return fmt.Errorf("runner %s: lag left after 90s", name)
	}

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"A", "B"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runner(name)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	if len(log.regressions) > 0 {
		t.Fatalf("committed offsets went backwards: %v", log.regressions)
	}
	got, err := k.committed(group, topic, 3)
	if err != nil {
		t.Fatal(err)
	}
	for p := range 3 {
		if got[p] != perPartition {
			t.Fatalf("final committed offsets %v, want %d everywhere", got, perPartition)
		}
	}
	total := 0
	for _, n := range log.delivered {
		total += n
	}
	if len(log.delivered) != 3*perPartition {
		t.Fatalf("%d distinct records delivered, want %d", len(log.delivered), 3*perPartition)
	}
	split, overlapGens := checkSplit(t, log.adoptions)
	if !split {
		t.Fatalf("partitions were never split between the runs: %v", log.adoptions)
	}
	t.Logf("overlap: %s; runs %v, generation-lost stops %v, %d commits checked, none went back; "+
		"%d records delivered for %d distinct (%d re-read); generations held by both runners: %v; adoptions: %v",
		took, log.runs, log.lost, log.commits, total, len(log.delivered), total-len(log.delivered), overlapGens, log.adoptions)
}

// checkSplit reports whether some runner held a strict, non-empty subset of
// the partitions, and fails when two runners held the same partition in one
// generation.
func checkSplit(t *testing.T, adoptions []adoption) (split bool, shared []int32) {
	t.Helper()
	byGen := map[int32]map[int]string{}
	for _, a := range adoptions {
		if len(a.parts) > 0 && len(a.parts) < 3 {
			split = true
		}
		owners := byGen[a.gen]
		if owners == nil {
			owners = map[int]string{}
			byGen[a.gen] = owners
		}
		for _, p := range a.parts {
			if other, ok := owners[p]; ok && other != a.runner {
				t.Fatalf("generation %d: partition %d held by %s and %s", a.gen, p, other, a.runner)
			}
			owners[p] = a.runner
		}
	}
	for gen, owners := range byGen {
		runners := map[string]bool{}
		for _, r := range owners {
			runners[r] = true
		}
		if len(runners) > 1 {
			shared = append(shared, gen)
		}
	}
	return split, shared
}
