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
	}()
	// Writes and commits outlive a cancellation by ShutdownTimeout, so the
	// batch in hand is finished after SIGTERM.
	wctx, cancelW := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelW()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.cfg.ShutdownTimeout, cancelW) })
	defer stop()

	for {
		if status := r.bound(ctx, deadline); status != "" {
			r.rep.Status = status
			if status == StatusInterrupted {
				return fmt.Errorf("replicate: %w", ctx.Err())
			}
			return nil
		}
		b, err := src.ReadBatch(ctx)
		if errors.Is(err, io.EOF) {
			r.rep.Status = StatusDrained
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				r.rep.Status = StatusInterrupted
				return fmt.Errorf("replicate: %w", ctx.Err())
			}
			return markUnreachable(fmt.Errorf("replicate: %w", err))
		}
		if err := r.batch(wctx, src, b); err != nil {
			return err
		}
	}
}

// bound returns the status that ends the run now, or "".
func (r *runner) bound(ctx context.Context, deadline time.Time) string {
	switch {
	case ctx.Err() != nil:
		return StatusInterrupted
	case r.cfg.MaxMessages > 0 && r.rep.Messages >= r.cfg.MaxMessages:
		return StatusMaxMessages
	case !deadline.IsZero() && r.cfg.Now().After(deadline):
		return StatusMaxDuration
	}
	return ""
}

// batch runs the stages for one Kafka batch: decode and route, fill,
// build blocks, write blocks and dead letters, then commit.
func (r *runner) batch(ctx context.Context, src *kafkasrc.Source, b *kafkasrc.Batch) error {
	res, err := r.process(ctx, b)
	if err != nil {
		return err
	}
	if err := src.Commit(ctx, b); err != nil {
		return fmt.Errorf("replicate: commit after writing %d messages: %w", len(b.Messages), err)
	}
	r.account(b, res)
	if r.cfg.MaxDeadLetters >= 0 && r.rep.DeadLetters > int64(r.cfg.MaxDeadLetters) {
		return fmt.Errorf("replicate: %w: %d dead letters, limit %d (written to %s and committed; see the reasons there)",
			ErrDeadLetterLimit, r.rep.DeadLetters, r.cfg.MaxDeadLetters, DeadLetterTable)
	}
	return nil
}

// account adds a written and committed batch to the report.
func (r *runner) account(b *kafkasrc.Batch, res *batchResult) {
	r.rep.Messages += int64(len(b.Messages))
	r.rep.Bytes += int64(b.Bytes())
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
