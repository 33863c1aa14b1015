package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
)

// Options configure one snapshot run.
type Options struct {
	// Schema is the PostgreSQL schema; Tables limits the run to these
	// tables (all tables of the schema when empty).
	Schema string
	Tables []string
	// Where is a SQL predicate added to every chunk query (partial
	// backfill). It cannot be combined with Truncate.
	Where string
	// Truncate empties each ClickHouse table before the snapshot point is
	// chosen (see doc.go).
	Truncate bool
	// Workers is the number of parallel PostgreSQL readers.
	Workers int
	// ChunkRows is the target number of rows per chunk (one query);
	// BatchRows the rows per ClickHouse insert block. When the connection
	// streams inserts (chconn.Streamer: the native protocol), a worker
	// instead sends a table's rows as INSERTs of InsertRows rows (0: one
	// per worker and table) in blocks of min(StreamRows, BatchRows) rows
	// (StreamRows 0: BatchRows), and the server squashes the blocks into
	// parts: SquashRows, when > 0, is the inserts' min_insert_block_size_rows
	// (the server's default is 1,048,576); min_insert_block_size_bytes
	// (256 MB by default) still bounds the server's memory per insert.
	ChunkRows  int
	BatchRows  int
	StreamRows int
	InsertRows int
	SquashRows int
	// WaitTimeout bounds the wait for transactions running at the snapshot
	// LSN; WaitPoll is how often it checks (default 100ms).
	WaitTimeout time.Duration
	WaitPoll    time.Duration
	// DDL shapes the tables created when missing; its Policies are the type
	// policies the rows are converted with.
	DDL ddl.Options
	// Progress, when set, is updated as blocks are written.
	Progress *Progress
	// AfterExport, when set, runs once the snapshot is exported and before
	// any row is read (tests use it to commit changes during the run).
	AfterExport func(Point)
	Log         *slog.Logger
}

// DefaultOptions are the command's defaults.
func DefaultOptions() Options {
	return Options{
		Schema:      "public",
		Workers:     2,
		ChunkRows:   250_000,
		BatchRows:   500_000,
		StreamRows:  65_536,
		InsertRows:  1 << 23,
		SquashRows:  1 << 23,
		WaitTimeout: 5 * time.Minute,
		WaitPoll:    100 * time.Millisecond,
		DDL:         ddl.DefaultOptions(),
	}
}

func (o *Options) validate() error {
	switch {
	case o.Where != "" && o.Truncate:
		return errors.New("snapshot: --where and --truncate together would leave only the selected rows; choose one")
	case o.Workers < 1:
		return fmt.Errorf("snapshot: workers %d: want at least 1", o.Workers)
	case o.BatchRows < 1:
		return fmt.Errorf("snapshot: batch rows %d: want at least 1", o.BatchRows)
	case o.StreamRows < 0:
		return fmt.Errorf("snapshot: stream rows %d: want 0 (batch rows) or more", o.StreamRows)
	case o.InsertRows < 0:
		return fmt.Errorf("snapshot: insert rows %d: want 0 (unbounded) or more", o.InsertRows)
	case o.SquashRows < 0:
		return fmt.Errorf("snapshot: squash rows %d: want 0 (the server's) or more", o.SquashRows)
	case o.ChunkRows < 0:
		return fmt.Errorf("snapshot: chunk rows %d: want 0 (one chunk per table) or more", o.ChunkRows)
	}
	if o.WaitPoll <= 0 {
		o.WaitPoll = 100 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
	return o.DDL.Policies.Validate()
}

// UnavailableError marks a server that could not be reached, so the
// command can exit with the unavailable code.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// tableJob is one table's share of the run.
type tableJob struct {
	Table    ddl.Table
	Estimate int64
	Chunks   int
	Created  bool
	// cdc_source_table's values, built by the table's first block.
	metaOnce    sync.Once
	sourceTable sizedColumn
}

// Run snapshots the chosen tables of the PostgreSQL database at pgDSN into
// ch. The report is filled as far as the run got, also on error.
func Run(ctx context.Context, pgDSN string, ch chconn.Conn, opts Options) (rep *Report, err error) {
	start := time.Now()
	rep = &Report{Status: StatusFailed}
	var jobs []*tableJob
	defer func() { rep.finish(jobs, opts.Progress, time.Since(start), err) }()
	if err := opts.validate(); err != nil {
		return rep, err
	}
	cfg, err := pgx.ParseConfig(pgDSN)
	if err != nil {
		return rep, fmt.Errorf("snapshot: PostgreSQL DSN: %w", err)
	}
	coord, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return rep, &UnavailableError{fmt.Errorf("snapshot: connect to PostgreSQL: %w", err)}
	}
	defer coord.Close(context.WithoutCancel(ctx))

	jobs, err = prepareTables(ctx, coord, ch, opts)
	if err != nil {
		return rep, err
	}
	tx, pt, err := exportPoint(ctx, coord, opts.WaitTimeout, opts.WaitPoll, opts.Log)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rep.setPoint(pt)
	opts.Log.Info("snapshot exported", "lsn", pt.LSN, "version", pt.Version, "snapshot", pt.SnapshotID, "waited", pt.Waited.Round(time.Millisecond))

	chunks, err := planAll(ctx, tx, jobs, opts)
	if err != nil {
		return rep, err
	}
	if opts.AfterExport != nil {
		opts.AfterExport(pt)
	}
	return rep, runWorkers(ctx, cfg, ch, pt, chunks, opts)
}

// prepareTables reads the catalog, creates missing ClickHouse tables and
// truncates when asked; all before the snapshot point is chosen.
func prepareTables(ctx context.Context, pg *pgx.Conn, ch chconn.Conn, opts Options) ([]*tableJob, error) {
	tables, err := ddl.ReadCatalog(ctx, pg, opts.Schema, opts.Tables)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("snapshot: schema %s has no tables", opts.Schema)
	}
	changes, err := ddl.Apply(ctx, ch, tables, opts.DDL, ddl.Allow{}, opts.Log)
	if err != nil {
		return nil, fmt.Errorf("snapshot: prepare ClickHouse tables: %w", err)
	}
	created := map[string]bool{}
	for _, c := range changes {
		if c.Kind == ddl.CreateTable {
			created[c.Table] = true
		}
	}
	jobs := make([]*tableJob, len(tables))
	for i, t := range tables {
		jobs[i] = &tableJob{Table: t, Created: created[t.Name]}
		if opts.Truncate {
			// On a cluster the rows live in <table>_local on every shard.
			q := "TRUNCATE TABLE " + chconn.QuoteIdent(ddl.LocalName(t, opts.DDL))
			if opts.DDL.Cluster != "" {
				q += " ON CLUSTER " + chconn.QuoteIdent(opts.DDL.Cluster)
			}
			if err := ch.Exec(ctx, q); err != nil {
				return nil, fmt.Errorf("snapshot: table %s: truncate: %w", t.Name, err)
			}
			opts.Log.Info("truncated", "table", t.Name)
		}
	}
	return jobs, nil
}

// planAll plans every table's chunks inside the exported snapshot, the
// largest tables first so the long ones start early.
func planAll(ctx context.Context, tx pgx.Tx, jobs []*tableJob, opts Options) ([]Chunk, error) {
	var all []Chunk
	for _, job := range jobs {
		est, err := estimateRows(ctx, tx, job.Table)
		if err != nil {
			return nil, err
		}
		job.Estimate = est
		chunks, err := planChunks(ctx, tx, job, est, opts.ChunkRows)
		if err != nil {
			return nil, err
		}
		job.Chunks = len(chunks)
		opts.Progress.add(job.Table.Name, est, len(chunks))
		all = append(all, chunks...)
	}
	// Interleave by table size: the biggest table's chunks go first.
	sortChunks(all)
	return all, nil
}

// runWorkers reads and writes the chunks with opts.Workers workers; the
// first error stops the others and is the one returned.
func runWorkers(parent context.Context, cfg *pgx.ConnConfig, ch chconn.Conn, pt Point, chunks []Chunk, opts Options) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	queue := make(chan Chunk)
	go func() {
		defer close(queue)
		for _, c := range chunks {
			select {
			case queue <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	var once sync.Once
	var first error
	n := min(opts.Workers, max(len(chunks), 1))
	_, streamed := ch.(chconn.Streamer)
	tokens, meta := blockTokens(n, streamed), &runMeta{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{ch: ch, pt: pt, opts: opts, tokens: tokens, meta: meta}
			if err := w.run(ctx, cfg, queue); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return parent.Err()
}
