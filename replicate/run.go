package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// runner is one Run's state. It is used from one goroutine.
type runner struct {
	cfg     Config
	log     *slog.Logger
	rep     *Report
	dec     *debezium.Decoder
	rec     debezium.Record
	schemas schemaCache
	ph      placeholders

	tables     map[string]*table // by ClickHouse name; nil: looked up, does not exist
	lastFields map[string]*debezium.Fields
	lsnWarned  map[string]bool
	srcNames   map[string][2]string // ClickHouse table → source schema, table
	dlReady    bool
	stages     stageTimes
	src        *kafkasrc.Source // during a drain
	win        window
}

// stageTimes add up the wall time spent per stage, logged at the end of a
// drain (where a run waits: Kafka, ClickHouse or its own CPU).
type stageTimes struct {
	read, decode, fill, build, write, commit time.Duration
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
		cfg: cfg, log: cfg.Logger.With("run_id", cfg.RunID), dec: debezium.NewDecoder(),
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
			"write", st.write.Round(time.Millisecond), "commit", st.commit.Round(time.Millisecond))
	}()
	// Writes and commits outlive a cancellation by ShutdownTimeout, so the
	// batch in hand is finished after SIGTERM.
	wctx, cancelW := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelW()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.cfg.ShutdownTimeout, cancelW) })
	defer stop()

	r.src = src
	defer func() { r.src = nil }()
	for {
		if status := r.bound(ctx, deadline); status != "" {
			if err := r.flush(wctx); err != nil {
				return err
			}
			r.rep.Status = status
			if status == StatusInterrupted {
				return fmt.Errorf("replicate: %w", ctx.Err())
			}
			return nil
		}
		t0 := time.Now()
		b, err := src.ReadBatch(ctx)
		r.stages.since(&r.stages.read, t0)
		if errors.Is(err, io.EOF) {
			if err := r.flush(wctx); err != nil {
				return err
			}
			r.rep.Status = StatusDrained
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				// The window in hand is written and committed first.
				if err := r.flush(wctx); err != nil {
					return err
				}
				r.rep.Status = StatusInterrupted
				return fmt.Errorf("replicate: %w", ctx.Err())
			}
			return markUnreachable(fmt.Errorf("replicate: %w", err))
		}
		if err := r.process(wctx, b); err != nil {
			return err
		}
		if r.windowFull() {
			if err := r.flush(wctx); err != nil {
				return err
			}
		}
	}
}

// bound returns the status that ends the run now, or "".
func (r *runner) bound(ctx context.Context, deadline time.Time) string {
	switch {
	case ctx.Err() != nil:
		return StatusInterrupted
	case r.cfg.MaxMessages > 0 && r.rep.Messages+r.win.messages >= r.cfg.MaxMessages:
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

// add takes a processed batch into the window. Its messages are released:
// the pending blocks hold typed values, and dead letters keep their own
// key and value slices.
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
	b.Messages = nil
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
	case r.cfg.MaxDeadLetters >= 0 && r.rep.DeadLetters+int64(len(w.res.deadLetters)) > int64(r.cfg.MaxDeadLetters):
		return true // stop right after the batch that crossed the limit
	}
	return false
}

// flush writes the window's blocks and dead letters, then commits the
// offsets of its last batch (which cover every batch of the window): the
// commit happens only after everything of the window is durable.
func (r *runner) flush(ctx context.Context) error {
	w := &r.win
	if !w.pending() {
		return nil
	}
	t0 := time.Now()
	if err := r.write(ctx, w.tables, &w.res); err != nil {
		return err
	}
	t0 = r.stages.since(&r.stages.write, t0)
	err := r.src.Commit(ctx, w.last)
	r.stages.since(&r.stages.commit, t0)
	if err != nil {
		return fmt.Errorf("replicate: commit after writing %d messages: %w", w.messages, err)
	}
	r.account(w)
	r.log.Debug("flushed", "batches", w.batches, "messages", w.messages, "rows", w.rows, "dead_letters", len(w.res.deadLetters))
	*w = window{seen: w.seen}
	clear(w.seen)
	if r.cfg.MaxDeadLetters >= 0 && r.rep.DeadLetters > int64(r.cfg.MaxDeadLetters) {
		return fmt.Errorf("replicate: %w: %d dead letters, limit %d (written to %s and committed; see the reasons there)",
			ErrDeadLetterLimit, r.rep.DeadLetters, r.cfg.MaxDeadLetters, DeadLetterTable)
	}
	return nil
}

// account adds a written and committed window to the report.
func (r *runner) account(win *window) {
	res := &win.res
	r.rep.Messages += win.messages
	r.rep.Bytes += win.bytes
	for _, w := range res.written {
		tr := r.rep.table(w.table)
		tr.Inserted += w.counts.Inserted
		tr.Updated += w.counts.Updated
		tr.Deleted += w.counts.Deleted
		tr.Snapshot += w.counts.Snapshot
		tr.Rows += int64(w.rows)
		tr.Bytes += w.bytes
		if w.rows > 0 {
			tr.Blocks++
		}
		if w.truncate {
			tr.Truncates++
		}
		r.rep.touch(w.table, w.touched)
	}
	for _, d := range res.deadLetters {
		r.rep.DeadLetters++
		r.rep.DeadLettersByReason[d.Reason]++
	}
	r.rep.Ignored.Tombstones += res.ignored.Tombstones
	r.rep.Ignored.Heartbeats += res.ignored.Heartbeats
	r.rep.Ignored.TxMetadata += res.ignored.TxMetadata
	r.rep.Ignored.LogMessages += res.ignored.LogMessages
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
