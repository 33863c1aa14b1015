package replicate

import (
	"context"
	"time"

	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// decoded is a batch decoded and routed whose fill and build wait until
// the next batch is decoded (runner.ahead): the ClickHouse lookups of its
// fills run in the background meanwhile, instead of stopping the main
// goroutine for a FINAL query per table and batch.
type decoded struct {
	b     *kafkasrc.Batch
	res   *batchResult
	order []*table
	byT   map[*table][]*event
	pre   map[*table]*prefetch
}

func (d *decoded) messages() int64 {
	if d == nil {
		return 0
	}
	return int64(len(d.b.Messages))
}

// wait waits for the batch's lookups (nil-safe).
func (d *decoded) wait() {
	if d == nil {
		return
	}
	for _, p := range d.pre {
		p.wait()
	}
}

// prefetch is one table's lookup started ahead: the stored rows of keys
// (nil when ClickHouse has none), or err. It ends before done closes.
type prefetch struct {
	keys map[string]*event
	done chan struct{}
	rows map[string]*storedRow
	err  error
	took time.Duration
}

func (p *prefetch) wait() {
	if p != nil {
		<-p.done
	}
}

// startPrefetch starts, per table of the batch, the lookup of the keys
// whose fill will need ClickHouse's state as far as can be told now: not in
// the pending block nor the block being written, no truncate around.
//
// Why the rows stay valid until the fill: ClickHouse's state of a key
// changes only when a window holding the key is written, and such a window
// would have to be built after now; nothing is built before this batch's
// fill (finishAhead, which runs first when anything must be flushed). Keys
// the fill needs that were not looked up here (the window being written
// finished meanwhile and its block was released) are looked up then.
func (r *runner) startPrefetch(ctx context.Context, d *decoded) {
	for _, t := range d.order {
		keys := r.prefetchKeys(t, d.byT[t])
		if len(keys) == 0 {
			continue
		}
		if d.pre == nil {
			d.pre = map[*table]*prefetch{}
		}
		p := &prefetch{keys: keys, done: make(chan struct{})}
		d.pre[t] = p
		snap := t.lookupCopy()
		go func() {
			defer close(p.done)
			t0 := time.Now()
			// The same retries as a lookup at fill time: its error is the
			// fill's error.
			p.err = withRetry(ctx, r.cfg.RetryTimeout, "fill lookup in "+snap.name, func(ctx context.Context) error {
				var err error
				p.rows, err = lookup(ctx, r.conn(), snap, keys)
				return err
			})
			p.took = time.Since(t0)
		}()
	}
}

// prefetchKeys are the keys of evs whose first event needs a fill that no
// block in memory can give.
func (r *runner) prefetchKeys(t *table, evs []*event) map[string]*event {
	if t.block.truncate || hasTruncate(evs) || r.inflightTruncates(t) {
		return nil
	}
	keys := map[string]*event{}
	first := map[string]bool{}
	for _, e := range evs {
		if first[e.key] {
			continue
		}
		first[e.key] = true
		if !e.needsFill() {
			continue
		}
		if _, pending := t.latest[e.key]; pending {
			continue
		}
		if _, writing := t.written[e.key]; writing {
			continue
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

// usePrefetch moves the keys of need that were looked up ahead into stored
// (a key ClickHouse does not have stays out of stored: no row).
func (r *runner) usePrefetch(p *prefetch, need map[string]*event, stored map[string]*storedRow) error {
	if p == nil {
		return nil
	}
	r.stages.prefetches++
	r.stages.prefetch += p.took
	if p.err != nil {
		return p.err
	}
	for k := range need {
		if _, asked := p.keys[k]; !asked {
			continue
		}
		if row := p.rows[k]; row != nil {
			stored[k] = row
		}
		delete(need, k)
	}
	return nil
}
