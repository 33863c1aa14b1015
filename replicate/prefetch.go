package replicate

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// decoded is a batch decoded and routed that waits in the lookahead queue
// (runner.queue) for its fill and build: the ClickHouse lookups of its
// fills run in the background meanwhile, while the next batches are read
// and decoded, instead of stopping the main goroutine for a FINAL query
// per table and batch.
type decoded struct {
	b     *kafkasrc.Batch
	res   *batchResult
	order []*table
	byT   map[*table][]*event
	// pre is, per table, the lookup holding the keys this batch asked
	// (asked); a lookup serves every batch queued while it was open.
	pre   map[*table]*prefetch
	asked map[*table]map[string]*event
}

func (d *decoded) messages() int64 { return int64(len(d.b.Messages)) }

// ready tells whether every lookup of the batch has finished.
func (d *decoded) ready() bool {
	for _, p := range d.pre {
		if !p.finished() {
			return false
		}
	}
	return true
}

// prefetch is one table's lookup started ahead for the keys of one or more
// queued batches: the stored rows of keys (nil when ClickHouse has none),
// or err. It ends before done closes.
type prefetch struct {
	keys      map[string]*event
	started   bool
	accounted bool
	done      chan struct{}
	rows      map[string]*storedRow
	err       error
	took      time.Duration
}

func (p *prefetch) wait() {
	if p != nil && p.started {
		<-p.done
	}
}

func (p *prefetch) finished() bool {
	if !p.started {
		return false
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// lookahead is a table's share of the queue: how many queued events hold
// each key and how many queued truncates there are (the keys whose stored
// row may still change before a queued batch's fill), and its lookups: at
// most one running, the keys of the batches queued meanwhile gathered in
// the next one (open). On a small table every lookup reads about every
// granule, so one query for several batches costs about what one for a
// single batch does.
type lookahead struct {
	keys    map[string]int
	truncs  int
	running *prefetch
	open    *prefetch
}

func (r *runner) lookahead(t *table) *lookahead {
	la := r.look[t]
	if la == nil {
		la = &lookahead{keys: map[string]int{}}
		if r.look == nil {
			r.look = map[*table]*lookahead{}
		}
		r.look[t] = la
	}
	return la
}

// enqueue queues a decoded batch: the keys whose fill will need
// ClickHouse's state join the table's open lookup, which starts as soon
// as the table has no lookup running.
//
// Why a stored row read ahead stays valid until the fill: ClickHouse's
// state of a key changes only when a window holding the key is written.
// A key is asked only when no block in memory holds it (pending, being
// written) and no batch queued before this one does: every batch built
// before this one's fill is one of those, so no window written before the
// fill holds the key. Keys the fill needs that were not asked (their
// window was written and released meanwhile) are looked up then.
func (r *runner) enqueue(ctx context.Context, d *decoded) {
	for _, t := range d.order {
		la := r.lookahead(t)
		evs := d.byT[t]
		if keys := r.prefetchKeys(t, la, evs); len(keys) > 0 {
			if la.open == nil {
				la.open = &prefetch{keys: map[string]*event{}, done: make(chan struct{})}
			}
			maps.Copy(la.open.keys, keys)
			if d.pre == nil {
				d.pre, d.asked = map[*table]*prefetch{}, map[*table]map[string]*event{}
			}
			d.pre[t], d.asked[t] = la.open, keys
		}
		la.count(evs, 1)
	}
	r.queue = append(r.queue, d)
	r.pumpLookups(ctx)
}

// dequeued forgets the keys of a batch just built (they are in the
// pending block now).
func (r *runner) dequeued(d *decoded) {
	for _, t := range d.order {
		r.lookahead(t).count(d.byT[t], -1)
	}
}

func (la *lookahead) count(evs []*event, delta int) {
	for _, e := range evs {
		if e.op == debezium.OpTruncate {
			la.truncs += delta
			continue
		}
		if n := la.keys[e.key] + delta; n > 0 {
			la.keys[e.key] = n
		} else {
			delete(la.keys, e.key)
		}
	}
}

// pumpLookups starts each table's open lookup once none is running.
func (r *runner) pumpLookups(ctx context.Context) {
	r.lookups = slices.DeleteFunc(r.lookups, (*prefetch).finished)
	for t, la := range r.look {
		if la.open != nil && (la.running == nil || la.running.finished()) {
			r.startLookup(ctx, t, la.open)
		}
	}
}

// startLookup starts p (a table's open lookup) now: it becomes the
// table's running one.
func (r *runner) startLookup(ctx context.Context, t *table, p *prefetch) {
	la := r.lookahead(t)
	if la.open == p {
		la.open = nil
	}
	la.running = p
	p.started = true
	r.lookups = append(r.lookups, p)
	snap, cols := t.lookupCopy(), lookupCols(len(t.cols), p.keys)
	go func() {
		defer close(p.done)
		t0 := time.Now()
		// The same retries as a lookup at fill time: its error is the
		// fill's error.
		p.err = withRetry(ctx, r.cfg.RetryTimeout, "fill lookup in "+snap.name, func(ctx context.Context) error {
			var err error
			p.rows, err = lookup(ctx, r.conn(), snap, p.keys, cols)
			return err
		})
		p.took = time.Since(t0)
	}()
}

// startLookups starts the lookups of d not started yet (d is about to be
// filled).
func (r *runner) startLookups(ctx context.Context, d *decoded) {
	for t, p := range d.pre {
		if !p.started {
			r.startLookup(ctx, t, p)
		}
	}
}

// waitLookups waits for every lookup started: none outlives the run or
// a dropped window (a batch whose fill failed may leave one running).
func (r *runner) waitLookups() {
	for _, p := range r.lookups {
		p.wait()
	}
	r.lookups = nil
}

// prefetchKeys are the keys of evs whose first event needs a fill that no
// block in memory and no batch queued before can give.
func (r *runner) prefetchKeys(t *table, la *lookahead, evs []*event) map[string]*event {
	if t.block.truncate || la.truncs > 0 || hasTruncate(evs) || r.inflightTruncates(t) {
		return nil
	}
	keys := map[string]*event{}
	first := reuse(&r.scratch.prefetchFirst)
	for _, e := range evs {
		if first[e.key] {
			continue
		}
		first[e.key] = true
		if !e.needsFill() {
			continue
		}
		t.wantRecent(e)
		if la.keys[e.key] > 0 {
			continue // a batch queued before holds it
		}
		if _, pending := t.latest[e.key]; pending {
			continue
		}
		if _, writing := t.written[e.key]; writing {
			continue
		}
		if t.remembers(e) {
			continue // written by this run (recent.go)
		}
		keys[e.key] = e
	}
	return keys
}

// lookupCopy is what a lookup reads of t, with key builders of its own:
// the main goroutine goes on using t's (keyLiteral) while it runs.
func (t *table) lookupCopy() *table {
	cols := make([]column, len(t.cols))
	copy(cols, t.cols)
	for i := range cols {
		kb, err := typemap.NewBuilder(cols[i].col, t.profile, t.pol)
		if err == nil {
			cols[i].keyB = kb
		}
	}
	return &table{name: t.name, cols: cols, part: t.part, profile: t.profile, pol: t.pol}
}

// usePrefetch moves the keys of need that the batch asked ahead into
// stored (a key ClickHouse does not have stays out of stored: no row).
func (r *runner) usePrefetch(p *prefetch, asked, need map[string]*event, stored map[string]*storedRow) error {
	if p == nil {
		return nil
	}
	if !p.accounted {
		p.accounted = true
		r.stages.prefetches++
		r.stages.prefetch += p.took
	}
	if p.err != nil {
		return p.err
	}
	for k := range need {
		if _, ok := asked[k]; !ok {
			continue
		}
		if row := p.rows[k]; row != nil {
			stored[k] = row
		}
		delete(need, k)
	}
	return nil
}
