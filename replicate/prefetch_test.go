package replicate

import (
	"slices"
	"testing"

	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

// TestLookaheadAsksOnlyKeysNoEarlierBatchHolds pins the rule that keeps
// rows read ahead valid: a batch asks ClickHouse only for keys that no
// block in memory and no batch queued before it holds, and none at all
// while a truncate of the table is queued.
func TestLookaheadAsksOnlyKeysNoEarlierBatchHolds(t *testing.T) {
	// Deletes that lack the partition column (column 0) need a fill.
	tbl := &table{name: "t", block: &block{}, cols: make([]column, 1), markerCols: []int{0},
		latest: map[string]rowRef{"pending": {}}, written: map[string]rowRef{"writing": {}}}
	del := func(key string) *event { return &event{t: tbl, op: debezium.OpDelete, key: key, vals: make([]val, 1)} }
	batch := func(evs ...*event) *decoded {
		return &decoded{b: &kafkasrc.Batch{}, order: []*table{tbl}, byT: map[*table][]*event{tbl: evs}}
	}
	r := &runner{}
	la := r.lookahead(tbl)
	asked := func(d *decoded) []string {
		keys := r.prefetchKeys(tbl, la, d.byT[tbl])
		la.count(d.byT[tbl], 1)
		r.queue = append(r.queue, d)
		var out []string
		for k := range keys {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	first := batch(del("a"), del("pending"), del("writing"), del("a"))
	if got := asked(first); !slices.Equal(got, []string{"a"}) {
		t.Errorf("first batch asked %v, want [a] (pending and writing are in memory)", got)
	}
	second := batch(del("a"), del("b"))
	if got := asked(second); !slices.Equal(got, []string{"b"}) {
		t.Errorf("second batch asked %v, want [b] (a is in the batch queued before)", got)
	}
	trunc := batch(&event{t: tbl, op: debezium.OpTruncate})
	if got := asked(trunc); len(got) != 0 {
		t.Errorf("truncate batch asked %v", got)
	}
	if got := asked(batch(del("c"))); len(got) != 0 {
		t.Errorf("batch after a queued truncate asked %v, want nothing (the truncate empties the table first)", got)
	}
	r.dequeued(first)
	r.dequeued(second)
	r.dequeued(trunc)
	if la.truncs != 0 || la.keys["a"] != 0 || la.keys["c"] != 1 {
		t.Errorf("after dequeuing: truncs %d, keys %v; want 0 and only c once", la.truncs, la.keys)
	}
}

// TestUsePrefetchServesOnlyTheBatchsOwnKeys: a lookup shared by several
// queued batches hands each batch only the keys it asked for; a key the
// batch did not ask stays needed (looked up at fill time).
func TestUsePrefetchServesOnlyTheBatchsOwnKeys(t *testing.T) {
	p := &prefetch{started: true, done: make(chan struct{}), keys: map[string]*event{"a": nil, "b": nil},
		rows: map[string]*storedRow{"a": {}, "b": {}}}
	close(p.done)
	r := &runner{}
	need := map[string]*event{"a": nil, "b": nil, "x": nil}
	stored := map[string]*storedRow{}
	if err := r.usePrefetch(p, map[string]*event{"a": nil}, need, stored); err != nil {
		t.Fatal(err)
	}
	if _, ok := stored["a"]; !ok || len(stored) != 1 {
		t.Errorf("stored %v, want only a", stored)
	}
	if _, ok := need["b"]; !ok || len(need) != 2 {
		t.Errorf("still needed %v, want b and x", need)
	}
}
