package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

// ErrDeadLetterLimit is returned when a run produced more dead letters
// than Config.MaxDeadLetters; everything up to the batch that crossed the
// limit was written and committed.
var ErrDeadLetterLimit = errors.New("dead-letter limit exceeded")

// runner is one Run's state. The main goroutine owns it; the reader
// goroutine touches only src (under srcMu) and the writer goroutine only
// the window it was handed (see doc.go, Concurrency).
type runner struct {
	cfg     Config
	log     *slog.Logger
	rep     *Report
	dec     *debezium.Decoder // the reader goroutine's (predecode.go)
	predec  predecodedPool
	schemas schemaCache
	ph      placeholders

	tables     map[string]*table // by ClickHouse name; nil: looked up, does not exist
	lastFields map[string]*debezium.Fields
	lsnWarned  map[string]bool
	srcNames   map[string][2]string // ClickHouse table → source schema, table
	dlReady    bool
	stages     stageTimes
	src        *kafkasrc.Source // during a drain
	srcMu      sync.Mutex       // the reader goroutine, commits and rejoins share src
	reader     *reader
	win        window     // being built
	queue      []*decoded // decoded, waiting for their lookups, then fill and build (prefetch.go)
	look       map[*table]*lookahead
	lookups    []*prefetch // started and not yet waited for (waitLookups)
	inflight   *flushing   // being written and committed, nil when none
	scratch    scratch
	rejoins    int
}

// stageTimes add up the wall time spent per stage, logged at the end of a
// drain (where a run waits: Kafka, ClickHouse or its own CPU).
type stageTimes struct {
	read, decode, fill, build, write, commit time.Duration
	wait                                     time.Duration // for the writer goroutine
	lookup                                   time.Duration // ClickHouse lookups of fills (part of fill)
	lookups, lookupKeys                      int
	prefetch                                 time.Duration // lookups run ahead, in the background
	prefetches                               int
	waitAhead                                time.Duration // fills waiting for their lookup ahead (part of fill)
}

func (st *stageTimes) since(d *time.Duration, t0 time.Time) time.Time {
	now := time.Now()
	*d += now.Sub(t0)
	return now
}

// Run replicates until the plan's targets are reached, a bound is hit, the
// context is cancelled (SIGTERM: the batch in hand is written and
// committed first) or an error stops it. The report is returned in every
// case, with Status and Error filled in.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	r := &runner{
		cfg: cfg, log: cfg.Logger.With("run_id", cfg.RunID), dec: debezium.NewDecoder(), predec: make(predecodedPool, 4),
		schemas: schemaCache{}, ph: newPlaceholders(cfg.DDL.Policies.Placeholder),
		tables: map[string]*table{}, lastFields: map[string]*debezium.Fields{}, lsnWarned: map[string]bool{}, srcNames: map[string][2]string{},
		rep: newReport(cfg.RunID, cfg.Source.GroupID, cfg.Now()),
	}
	err := r.run(ctx)
	r.rep.finish(cfg.Now())
	if err != nil {
		r.rep.Error = err.Error()
		if r.rep.Status == "" || r.rep.Status == StatusDrained {
			r.rep.Status = StatusFailed
		}
	}
	return r.rep, err
}

func (r *runner) run(ctx context.Context) error {
	deadline := time.Time{}
	if r.cfg.MaxDuration > 0 {
		deadline = r.rep.Started.Add(r.cfg.MaxDuration)
	}
	for cycle := 0; ; cycle++ {
		plan, err := kafkasrc.Plan(ctx, r.cfg.Source)
		if err != nil {
			if ctx.Err() != nil {
				r.rep.Status = StatusInterrupted
				return fmt.Errorf("replicate: %w", ctx.Err())
			}
			return markUnreachable(fmt.Errorf("replicate: plan: %w", err))
		}
		r.rep.addPlan(plan)
		if plan.Lag() > 0 {
			r.rep.Cycles++
			if err := r.drain(ctx, plan, deadline); err != nil || !r.cfg.Follow || r.rep.Status != StatusDrained {
				return err
			}
		} else if cycle == 0 && !r.cfg.Follow {
			r.rep.Status = StatusIdle
			r.log.Info("nothing to read: no lag; the group was not joined", "group", r.cfg.Source.GroupID, "plan_took", plan.Took)
			return nil
		}
		// --follow: wait, then plan again with fresh targets.
		select {
		case <-ctx.Done():
			r.rep.Status = StatusInterrupted
			return fmt.Errorf("replicate: %w", ctx.Err())
		case <-time.After(r.cfg.FollowPoll):
		}
		if !deadline.IsZero() && r.cfg.Now().After(deadline) {
			r.rep.Status = StatusMaxDuration
			return nil
		}
	}
}

func markUnreachable(err error) error {
	if unreachable(err) {
		return exitcode.UnavailableError(err)
	}
	return err
}

// prepare creates the dead-letter table and, with a catalog, creates and
// evolves the tables the plan's topics map to.
func (r *runner) prepare(ctx context.Context, plan *kafkasrc.DrainPlan) error {
	for _, t := range r.tables {
		if t != nil {
			t.forgetRecent() // rows written by the last drain may have changed since
		}
	}
	if !r.dlReady {
		if err := withRetry(ctx, r.cfg.RetryTimeout, "create "+DeadLetterTable, func(ctx context.Context) error {
			return r.cfg.CH.Exec(ctx, deadLetterTableSQL())
		}); err != nil {
			return err
		}
		r.dlReady = true
	}
	if r.cfg.Catalog == nil {
		return nil
	}
	var topics []string
	for _, t := range plan.Topics() {
		if _, seen := r.tables[r.tableName(t)]; !seen {
			topics = append(topics, t)
		}
	}
	return r.applyDDL(ctx, topics)
}

// drain reads one plan to its targets (or a bound), writing and committing
// batch by batch.
func (r *runner) drain(ctx context.Context, plan *kafkasrc.DrainPlan, deadline time.Time) error {
	if err := r.prepare(ctx, plan); err != nil {
		return err
	}
	src, err := kafkasrc.Open(ctx, r.cfg.Source, plan)
	if err != nil {
		if ctx.Err() != nil {
			r.rep.Status = StatusInterrupted
			return fmt.Errorf("replicate: %w", ctx.Err())
		}
		return markUnreachable(fmt.Errorf("replicate: %w", err))
	}
	r.rep.Joined = true
	defer func() {
		if err := src.Close(); err != nil {
			r.log.Warn("leaving the consumer group", "err", err)
		}
		r.rep.addSource(src.Report())
		st := r.stages
		r.log.Info("stage wall times", "read", st.read.Round(time.Millisecond), "decode", st.decode.Round(time.Millisecond),
			"fill", st.fill.Round(time.Millisecond), "build", st.build.Round(time.Millisecond),
			"write", st.write.Round(time.Millisecond), "commit", st.commit.Round(time.Millisecond),
			"wait_for_write", st.wait.Round(time.Millisecond), "lookup", st.lookup.Round(time.Millisecond),
			"lookups", st.lookups, "lookup_keys", st.lookupKeys, "lookups_ahead", st.prefetches, "lookup_ahead", st.prefetch.Round(time.Millisecond),
			"wait_for_lookup_ahead", st.waitAhead.Round(time.Millisecond))
	}()
	// Writes and commits outlive a cancellation by ShutdownTimeout, so the
	// batch in hand is finished after SIGTERM.
	wctx, cancelW := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelW()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.cfg.ShutdownTimeout, cancelW) })
	defer stop()

	r.src = src
	defer func() { r.src = nil }()
	r.startReader(ctx)
	defer func() {
		r.stopReader()
		r.dropQueue() // no lookup outlives the run
		if r.inflight != nil {
			// An error stopped the run: the window being written is
			// finished (or fails) before the group is left.
			if err := r.waitWrite(); err != nil {
				r.log.Warn("background write", "err", err)
			}
		}
	}()
	for {
		if err := r.pollWrite(); err != nil {
			if !errors.Is(err, kafkasrc.ErrGenerationLost) {
				return err
			}
			if err := r.rejoin(ctx, err); err != nil {
				return err
			}
		}
		if status := r.bound(ctx, deadline); status != "" {
			r.stopReader()
			if err := r.flush(wctx); err != nil && !errors.Is(err, kafkasrc.ErrGenerationLost) {
				return err
			} else if err != nil {
				// Written, not committed: the group's next reader reads it again.
				r.log.Warn("stopping with the last window written but not committed (generation lost)", "err", err)
			}
			r.rep.Status = status
			if status == StatusInterrupted {
				return fmt.Errorf("replicate: %w", ctx.Err())
			}
			return nil
		}
		t0 := time.Now()
		var rr readResult
		select {
		case rr = <-r.reader.ch:
		case <-ctx.Done():
			continue // bound() handles it
		}
		r.stages.since(&r.stages.read, t0)
		b, pre, err := rr.b, rr.pre, rr.err
		if errors.Is(err, io.EOF) {
			if err := r.flush(wctx); err != nil {
				if errors.Is(err, kafkasrc.ErrGenerationLost) {
					if err := r.rejoin(ctx, err); err != nil {
						return err
					}
					continue
				}
				return err
			}
			r.rep.Status = StatusDrained
			return nil
		}
		if errors.Is(err, kafkasrc.ErrGenerationLost) {
			if err := r.rejoin(ctx, err); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				continue // bound(): the window in hand is written and committed
			}
			return markUnreachable(fmt.Errorf("replicate: %w", err))
		}
		err = r.process(wctx, b, pre)
		if errors.Is(err, kafkasrc.ErrGenerationLost) {
			err = r.rejoin(ctx, err)
		}
		if err != nil {
			return err
		}
	}
}

// readResult is one ReadBatch outcome handed from the reader goroutine.
type readResult struct {
	b   *kafkasrc.Batch
	pre *predecoded // b's messages decoded, nil with err
	err error
}

// reader is the goroutine that reads Kafka ahead of processing: it holds
// at most one batch ready, its messages decoded (predecode.go), while the
// main goroutine processes the previous one. It calls the Source under
// srcMu (commits and rejoins take it too), and it alone uses runner.dec.
type reader struct {
	ch     chan readResult
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *runner) startReader(ctx context.Context) {
	rctx, cancel := context.WithCancel(ctx)
	rd := &reader{ch: make(chan readResult), cancel: cancel, done: make(chan struct{})}
	r.reader = rd
	go func() {
		defer close(rd.done)
		for {
			r.srcMu.Lock()
			b, err := r.src.ReadBatch(rctx)
			r.srcMu.Unlock()
			var pre *predecoded
			if err == nil {
				pre = r.predec.get()
				pre.predecode(r.dec, b)
			}
			select {
			case rd.ch <- readResult{b, pre, err}:
			case <-rctx.Done():
				return // a batch read and not handed out is read again by the next reader
			}
			if err != nil {
				<-rctx.Done()
				return
			}
		}
	}()
}

// stopReader ends the reader goroutine; batches it read and did not hand
// out are not committed (the next generation or run reads them again).
func (r *runner) stopReader() {
	if r.reader == nil {
		return
	}
	r.reader.cancel()
	<-r.reader.done
	r.reader = nil
}

// maxRejoins bounds the rejoins of one drain: a group that keeps
// rebalancing faster than a window is written makes no progress.
const maxRejoins = 50

// rejoin handles a lost consumer group generation (an overlapping run
// joined or left, this member's session expired): what was written stays
// (durable, and idempotent by _version), the window not yet written is
// dropped, nothing is committed with the old generation, and reading goes
// on in the next generation from the group's committed offsets. Re-read
// rows collapse with the written ones under FINAL.
func (r *runner) rejoin(ctx context.Context, cause error) error {
	r.rejoins++
	if r.rejoins > maxRejoins {
		return fmt.Errorf("replicate: %d rejoins in one drain, giving up: %w", maxRejoins, cause)
	}
	r.log.Warn("consumer group generation lost; dropping the unwritten window and rejoining", "err", cause,
		"window_messages", r.win.messages)
	r.stopReader()
	if r.inflight != nil {
		// Its rows stay written whatever happens to its commit.
		if err := r.waitWrite(); err != nil && !errors.Is(err, kafkasrc.ErrGenerationLost) {
			return err
		}
	}
	r.abandon()
	r.srcMu.Lock()
	err := r.src.Rejoin(ctx)
	r.srcMu.Unlock()
	if err == nil {
		r.startReader(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			r.rep.Status = StatusInterrupted
			return fmt.Errorf("replicate: %w", ctx.Err())
		}
		return markUnreachable(fmt.Errorf("replicate: rejoin after %v: %w", cause, err))
	}
	return nil
}

// abandon drops the flush window and every pending block unwritten.
func (r *runner) abandon() {
	r.dropQueue()
	for _, t := range r.tables {
		if t != nil {
			t.block.reset()
			clear(t.latest)
			t.forgetRecent() // the next generation may have seen other writers
		}
	}
	r.win = window{seen: r.win.seen}
	clear(r.win.seen)
}

// bound returns the status that ends the run now, or "".
func (r *runner) bound(ctx context.Context, deadline time.Time) string {
	switch {
	case ctx.Err() != nil:
		return StatusInterrupted
	case r.cfg.MaxMessages > 0 && r.rep.Messages+r.inflightMessages()+r.win.messages+r.queuedMessages() >= r.cfg.MaxMessages:
		return StatusMaxMessages
	case !deadline.IsZero() && r.cfg.Now().After(deadline):
		return StatusMaxDuration
	}
	return ""
}

// window is the flush window: the Kafka batches processed into the
// tables' pending blocks and not yet written nor committed.
type window struct {
	last     *kafkasrc.Batch // its Next offsets cover every batch of the window
	batches  int
	messages int64
	bytes    int64
	rows     int
	data     int // the pending blocks' and dead letters' size, roughly
	dlData   int
	started  time.Time
	tables   []*table // with pending rows or a pending truncate, in first-seen order
	seen     map[*table]bool
	res      batchResult
}

func (w *window) pending() bool { return w.last != nil }

// add takes a processed batch into the window. Its messages are released
// for reuse by the reader: the pending blocks hold typed values, and dead
// letters copies of their keys and values.
func (w *window) add(b *kafkasrc.Batch, res *batchResult, order []*table) {
	if w.last == nil {
		w.started = time.Now()
	}
	if w.seen == nil {
		w.seen = map[*table]bool{}
	}
	w.last = b
	w.batches++
	w.messages += int64(len(b.Messages))
	w.bytes += int64(b.Bytes())
	for _, t := range order {
		if !w.seen[t] {
			w.seen[t] = true
			w.tables = append(w.tables, t)
		}
	}
	w.rows, w.data = 0, 0
	for _, t := range w.tables {
		w.rows += t.block.rows
		w.data += t.block.data + 64*t.block.rows // + the metadata columns
	}
	w.res.deadLetters = append(w.res.deadLetters, res.deadLetters...)
	for _, d := range res.deadLetters {
		w.dlData += len(d.Key) + len(d.Value) + len(d.Error)
	}
	w.data += w.dlData
	w.res.ignored.Tombstones += res.ignored.Tombstones
	w.res.ignored.Heartbeats += res.ignored.Heartbeats
	w.res.ignored.TxMetadata += res.ignored.TxMetadata
	w.res.ignored.LogMessages += res.ignored.LogMessages
	b.Release() // built into the blocks; dead letters hold copies
}

// full tells whether the window should be flushed now.
func (r *runner) windowFull() bool {
	w := &r.win
	switch {
	case !w.pending():
		return false
	case w.rows >= r.cfg.FlushRows || w.data >= r.cfg.FlushBytes:
		return true
	case r.cfg.FlushInterval > 0 && time.Since(w.started) >= r.cfg.FlushInterval:
		return true
	}
	return false
}

// makeRoom compacts a window full by its row or byte bound when at least
// an eighth of its rows are superseded (a key's later change replaced
// them), and tells whether the window may go on: more changes per
// window, so fewer and larger parts in ClickHouse, in the same memory.
// Each compaction moves the kept rows once; an eighth freed bounds that
// to 8 moves per row added (a move is a copy, far cheaper than the build;
// a quarter instead: 11 windows of the benchmark backlog instead of 7,
// ClickHouse CPU 5 s instead of 3.1-3.5 s). FlushInterval still bounds
// how long a window is built.
func (r *runner) makeRoom() bool {
	w := &r.win
	if r.cfg.FlushInterval > 0 && time.Since(w.started) >= r.cfg.FlushInterval {
		return false
	}
	dropping := 0
	for _, t := range w.tables {
		dropping += t.block.dropping
	}
	if dropping == 0 || 8*dropping < w.rows {
		return false
	}
	w.rows, w.data = 0, w.dlData
	for _, t := range w.tables {
		b := t.block
		before := b.rows
		t.compact(&r.scratch.renumber)
		if before > 0 {
			// The values' sizes are not kept per row: the dropped rows
			// are taken to be of the average size.
			b.data = int(int64(b.data) * int64(b.rows) / int64(before))
		}
		w.rows += b.rows
		w.data += b.data + 64*b.rows
	}
	r.log.Debug("window compacted", "superseded", dropping, "rows", w.rows)
	return !r.windowFull()
}

// deadLetterLimitCrossed tells whether the window's dead letters cross
// MaxDeadLetters: the run stops right after writing and committing it.
func (r *runner) deadLetterLimitCrossed() bool {
	if !r.win.pending() || r.cfg.MaxDeadLetters < 0 {
		return false
	}
	n := r.rep.DeadLetters + int64(len(r.win.res.deadLetters))
	if r.inflight != nil {
		n += int64(len(r.inflight.win.res.deadLetters))
	}
	return n > int64(r.cfg.MaxDeadLetters)
}

// flushing is a window handed to the writer goroutine: its blocks are
// written, then its offsets committed; done closes after both (or the
// first error). At most one window is being written at a time, while the
// next one is built into the tables' other blocks.
type flushing struct {
	win    window
	blocks []*block
	done   chan struct{}
	err    error
	write  time.Duration
	commit time.Duration
}

func (r *runner) inflightMessages() int64 {
	if r.inflight == nil {
		return 0
	}
	return r.inflight.win.messages
}

// inflightTruncates tells whether the window being written truncates t:
// a ClickHouse lookup in t must wait for that write. (Keys the window
// holds are copied from its block instead: table.written.)
func (r *runner) inflightTruncates(t *table) bool {
	if r.inflight == nil {
		return false
	}
	for _, blk := range r.inflight.blocks {
		if blk.t == t && blk.truncate {
			return true
		}
	}
	return false
}

// flushAsync hands the window to the writer goroutine (after the previous
// one finished) and starts the next window on fresh blocks.
func (r *runner) flushAsync(ctx context.Context) error {
	if err := r.waitWrite(); err != nil {
		return err
	}
	w := &r.win
	if !w.pending() {
		return nil
	}
	f := &flushing{win: *w, done: make(chan struct{})}
	f.win.seen, f.win.tables = nil, nil
	for _, t := range w.tables {
		blk := t.block
		t.compact(&r.scratch.renumber)
		f.blocks = append(f.blocks, blk)
		if t.spare != nil {
			t.block, t.spare = t.spare, nil
		} else {
			t.block = newBlock(t)
		}
		// The keys of the window being written: lookups of them wait.
		t.latest, t.written = t.written, t.latest
		t.writing = blk
		clear(t.latest)
	}
	*w = window{seen: w.seen}
	clear(w.seen)
	r.inflight = f
	go func() {
		defer close(f.done)
		t0 := time.Now()
		if f.err = r.write(ctx, f.blocks, &f.win.res); f.err != nil {
			return
		}
		t1 := time.Now()
		f.write = t1.Sub(t0)
		r.srcMu.Lock()
		err := r.src.Commit(ctx, f.win.last)
		r.srcMu.Unlock()
		f.commit = time.Since(t1)
		if err != nil {
			f.err = fmt.Errorf("replicate: commit after writing %d messages: %w", f.win.messages, err)
		}
	}()
	return nil
}

// pollWrite collects the window being written if it is done.
func (r *runner) pollWrite() error {
	if r.inflight == nil {
		return nil
	}
	select {
	case <-r.inflight.done:
		return r.waitWrite()
	default:
		return nil
	}
}

// waitWrite waits for the window being written and accounts it: written
// and committed, or written and not committed (generation lost: its rows
// are in ClickHouse, its messages are read again), or failed.
func (r *runner) waitWrite() error {
	f := r.inflight
	if f == nil {
		return nil
	}
	t0 := time.Now()
	<-f.done
	r.stages.since(&r.stages.wait, t0)
	r.inflight = nil
	r.stages.write += f.write
	r.stages.commit += f.commit
	for _, blk := range f.blocks {
		if f.err == nil {
			blk.t.rememberWritten(blk)
		} else {
			blk.t.forgetRecent() // ClickHouse may hold rows of blk or not
		}
		clear(blk.t.written) // no row of blk is referenced any more
		blk.t.writing = nil
		blk.reset()
		if blk.t.spare == nil && blk.layout == blk.t.layout && len(blk.cols) == len(blk.t.cols) && f.err == nil {
			blk.t.spare = blk
		}
	}
	if f.err != nil {
		if errors.Is(f.err, kafkasrc.ErrGenerationLost) {
			r.accountWritten(&f.win.res)
		}
		return f.err
	}
	r.account(&f.win)
	r.log.Debug("flushed", "batches", f.win.batches, "messages", f.win.messages, "rows", f.win.rows, "dead_letters", len(f.win.res.deadLetters))
	if r.cfg.MaxDeadLetters >= 0 && r.rep.DeadLetters > int64(r.cfg.MaxDeadLetters) {
		return fmt.Errorf("replicate: %w: %d dead letters, limit %d (written to %s and committed; see the reasons there)",
			ErrDeadLetterLimit, r.rep.DeadLetters, r.cfg.MaxDeadLetters, DeadLetterTable)
	}
	return nil
}

// flush finishes the queued batches, writes the window (after the one
// being written) and commits it, and waits for both: used where nothing
// may follow before the window is durable (a table evolves, the run ends).
func (r *runner) flush(ctx context.Context) error {
	if err := r.finishQueue(ctx); err != nil {
		return err
	}
	return r.flushWindow(ctx)
}

// flushWindow writes and commits the window built so far and waits for
// it, leaving the queued batches for after it.
func (r *runner) flushWindow(ctx context.Context) error {
	if err := r.flushAsync(ctx); err != nil {
		return err
	}
	return r.waitWrite()
}

// account adds a written and committed window to the report.
func (r *runner) account(win *window) {
	res := &win.res
	r.rep.Messages += win.messages
	r.rep.Bytes += win.bytes
	r.accountWritten(res)
	for _, d := range res.deadLetters {
		r.rep.DeadLetters++
		r.rep.DeadLettersByReason[d.Reason]++
	}
	r.rep.Ignored.Tombstones += res.ignored.Tombstones
	r.rep.Ignored.Heartbeats += res.ignored.Heartbeats
	r.rep.Ignored.TxMetadata += res.ignored.TxMetadata
	r.rep.Ignored.LogMessages += res.ignored.LogMessages
}

// accountWritten adds the rows a window wrote to the report.
func (r *runner) accountWritten(res *batchResult) {
	for _, w := range res.written {
		tr := r.rep.table(w.table)
		tr.Inserted += w.counts.Inserted
		tr.Updated += w.counts.Updated
		tr.Deleted += w.counts.Deleted
		tr.Snapshot += w.counts.Snapshot
		tr.Rows += int64(w.rows)
		tr.Superseded += int64(w.superseded)
		tr.Bytes += w.bytes
		if w.rows > 0 {
			tr.Blocks++
		}
		if w.truncate {
			tr.Truncates++
		}
		r.rep.touch(w.table, w.touched)
	}
}

// tableFor returns the loaded target table, loading it on first use; nil
// when it does not exist.
func (r *runner) tableFor(ctx context.Context, name string) (*table, error) {
	if t, ok := r.tables[name]; ok {
		return t, nil
	}
	var t *table
	err := withRetry(ctx, r.cfg.RetryTimeout, "load table "+name, func(ctx context.Context) error {
		var err error
		t, err = loadTable(ctx, r.cfg.CH, name, r.sourceTable(ctx, name), r.cfg.DDL)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.tables[name] = t
	return t, nil
}

func (r *runner) conn() chconn.Conn { return r.cfg.CH }

// sourceTable is the catalog entry of a ClickHouse table, nil without one.
func (r *runner) sourceTable(ctx context.Context, name string) *ddl.Table {
	if r.cfg.Catalog == nil {
		return nil
	}
	src, ok := r.srcNames[name]
	if !ok {
		return nil
	}
	tables, err := r.cfg.Catalog.Tables(ctx, src[0], nil)
	if err != nil {
		return nil
	}
	for _, t := range tables {
		if t.Name == src[1] {
			t.Name = name
			return &t
		}
	}
	return nil
}

// scratch are maps and a buffer the main goroutine uses per batch and
// table, cleared and reused: made afresh they were ~0.15 GB of the 3.3 GB
// a benchmark run allocates, and the bytes allocated set the GC's pace.
type scratch struct {
	fillFirst, prefetchFirst map[string]bool
	fillLatest               map[string]*storedRow
	lits                     []byte  // fillValues' key literal
	renumber                 []int32 // table.compact's row numbers
}

// reuse returns *m emptied, made on first use.
func reuse[V any](m *map[string]V) map[string]V {
	if *m == nil {
		*m = map[string]V{}
	}
	clear(*m)
	return *m
}
