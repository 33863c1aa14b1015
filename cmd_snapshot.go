package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/snapshot"
)

// snapshotOptions are the flags of sluice snapshot.
type snapshotOptions struct {
	pgDSN, chURL string
	schema       string
	tables       cli.StringSlice
	where        string
	truncate     bool
	workers      int
	chunkRows    int
	batchRows    int
	streamRows   int
	insertRows   int
	squashRows   int
	waitTimeout  time.Duration
	partitions   cli.StringSlice
	policy       policyOptions
	output       string
	progress     string
	cpuProfile   string
	conn         connOptions
}

func (o *snapshotOptions) flags() []cli.Flag {
	d := snapshot.DefaultOptions()
	return append([]cli.Flag{
		postgresFlag(&o.pgDSN),
		clickhouseFlag(&o.chURL),
		&cli.StringFlag{Name: "schema", Value: "public", Usage: "PostgreSQL schema to read", Destination: &o.schema},
		&cli.StringSliceFlag{Name: "tables", Aliases: []string{"table"}, EnvVars: []string{"SLUICE_SNAPSHOT_TABLES"}, Usage: "only these source tables (comma separated or repeated; default all of the schema)", Destination: &o.tables},
		&cli.StringFlag{Name: "where", Usage: "SQL predicate for a partial backfill, applied to every chosen table (e.g. \"order_date >= '2025-01-01'\")", Destination: &o.where},
		&cli.BoolFlag{Name: "truncate", Usage: "empty each ClickHouse table before the snapshot (readers see an empty, then growing table until the run ends)", Destination: &o.truncate},
		&cli.IntFlag{Name: "workers", Value: d.Workers, EnvVars: []string{"SLUICE_SNAPSHOT_WORKERS"}, Usage: "parallel PostgreSQL readers (each one connection)", Destination: &o.workers},
		&cli.IntFlag{Name: "chunk-rows", Value: d.ChunkRows, Usage: "target rows per chunk (key or ctid range read by one query)", Destination: &o.chunkRows},
		&cli.IntFlag{Name: "batch-rows", Value: d.BatchRows, Usage: "rows per ClickHouse insert block (chDB; the upper bound of --stream-rows)", Destination: &o.batchRows},
		&cli.IntFlag{Name: "stream-rows", Value: d.StreamRows, Usage: "native protocol: rows per block sent into a streamed INSERT (0: --batch-rows)", Destination: &o.streamRows},
		&cli.IntFlag{Name: "insert-rows", Value: d.InsertRows, Usage: "native protocol: rows per streamed INSERT (0: one per worker and table); the server squashes its blocks into parts", Destination: &o.insertRows},
		&cli.IntFlag{Name: "squash-rows", Value: d.SquashRows, Usage: "native protocol: the streamed INSERTs' min_insert_block_size_rows, rows gathered per part written (0: the server's setting; its min_insert_block_size_bytes still applies)", Destination: &o.squashRows},
		&cli.DurationFlag{Name: "wait-timeout", Value: d.WaitTimeout, EnvVars: []string{"SLUICE_SNAPSHOT_WAIT_TIMEOUT"}, Usage: "how long to wait for transactions running at the snapshot LSN to end", Destination: &o.waitTimeout},
		&cli.StringSliceFlag{Name: "partition", Usage: "TABLE=COLUMN monthly partition column of tables created here (as in 'sluice ddl')", Destination: &o.partitions},
		&cli.StringFlag{Name: "output", Value: "text", EnvVars: []string{"SLUICE_OUTPUT"}, Usage: "run report on stdout: text or json", Destination: &o.output},
		&cli.StringFlag{Name: "progress", Value: "auto", Usage: "progress lines on stderr: auto (when stderr is a terminal), always or never", Destination: &o.progress},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write a Go CPU profile of the run to this file (go tool pprof)", Destination: &o.cpuProfile},
	}, append(o.conn.flags(&o.pgDSN, &o.chURL, false), o.policy.flags()...)...)
}

func newSnapshotCommand(g *globalOptions) *cli.Command {
	o := &snapshotOptions{}
	return &cli.Command{
		Name:  "snapshot",
		Usage: "copy PostgreSQL tables into ClickHouse from one consistent snapshot, versioned to hand over to replicate",
		Description: "Every row gets _version = the snapshot's LSN, so change events older than the snapshot lose to it\n" +
			"under FINAL and newer ones win. Missing tables are created. An interrupted run is not resumed:\n" +
			"rerun it; the new rows carry a higher version and the old ones collapse.",
		Flags: o.flags(),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return exitcode.UsageError(fmt.Errorf("snapshot takes no arguments, got %q", c.Args().First()))
			}
			return runSnapshot(c.Context, g, o)
		},
	}
}

// libOptions turns the flags into library options; errors are usage errors.
func (o *snapshotOptions) libOptions(g *globalOptions, database string) (snapshot.Options, error) {
	opts := snapshot.DefaultOptions()
	if o.pgDSN == "" {
		return opts, exitcode.UsageError(errors.New("--pg-dsn (or SLUICE_PG_DSN) is required"))
	}
	if o.where != "" && o.truncate {
		return opts, exitcode.UsageError(errors.New("--where and --truncate together would leave only the selected rows; choose one"))
	}
	if o.workers < 1 || o.batchRows < 1 || o.chunkRows < 0 || o.streamRows < 0 || o.insertRows < 0 || o.squashRows < 0 {
		return opts, exitcode.UsageError(errors.New("--workers and --batch-rows must be at least 1, --chunk-rows, --stream-rows, --insert-rows and --squash-rows at least 0"))
	}
	if o.output != "text" && o.output != "json" {
		return opts, exitcode.UsageError(fmt.Errorf("--output %q: want text or json", o.output))
	}
	var err error
	if opts.DDL.Policies, err = o.policy.policies(); err != nil {
		return opts, err
	}
	if opts.DDL.Partition, err = keyValues("partition", o.partitions.Value()); err != nil {
		return opts, err
	}
	opts.DDL.Database = database
	opts.Schema, opts.Where, opts.Truncate = o.schema, o.where, o.truncate
	for _, t := range o.tables.Value() {
		for _, name := range strings.Split(t, ",") {
			if name = strings.TrimSpace(name); name != "" {
				opts.Tables = append(opts.Tables, name)
			}
		}
	}
	opts.Workers, opts.ChunkRows, opts.BatchRows, opts.StreamRows, opts.InsertRows, opts.SquashRows = o.workers, o.chunkRows, o.batchRows, o.streamRows, o.insertRows, o.squashRows
	opts.WaitTimeout = o.waitTimeout
	opts.Log = g.log
	opts.Progress = &snapshot.Progress{}
	return opts, nil
}

func runSnapshot(ctx context.Context, g *globalOptions, o *snapshotOptions) error {
	if err := o.conn.resolve(g.log); err != nil {
		return err
	}
	target, err := chconn.ParseURL(o.chURL)
	if err != nil {
		return exitcode.UsageError(err)
	}
	opts, err := o.libOptions(g, target.Database)
	if err != nil {
		return err
	}
	ch, err := native.Open(ctx, o.chURL)
	if err != nil {
		return exitcode.UnavailableError(err)
	}
	defer ch.Close()

	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if showProgress(o.progress, g.stderr) {
		stop := startProgress(g.stderr, opts.Progress)
		defer stop()
	}
	rep, err := snapshot.Run(ctx, o.pgDSN, ch, opts)
	if perr := printReport(g.stdout, o.output, rep); perr != nil && err == nil {
		err = perr
	}
	var unavailable *snapshot.UnavailableError
	if errors.As(err, &unavailable) {
		return exitcode.UnavailableError(err)
	}
	return err
}

func showProgress(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startProgress redraws one status line per second until stop is called.
func startProgress(w io.Writer, p *snapshot.Progress) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprint(w, "\r\033[K"+progressLine(p.Tables(), time.Now()))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// progressLine shows the tables being copied: rows, rate and ETA.
func progressLine(tables []snapshot.TableProgress, now time.Time) string {
	var parts []string
	for _, t := range tables {
		if t.Started.IsZero() || !t.Finished.IsZero() {
			continue
		}
		secs := now.Sub(t.Started).Seconds()
		r := float64(t.Rows) / max(secs, 0.001)
		eta := "?"
		if t.Estimate > t.Rows && r > 0 {
			eta = (time.Duration(float64(t.Estimate-t.Rows)/r) * time.Second).Round(time.Second).String()
		}
		parts = append(parts, fmt.Sprintf("%s %d/~%d rows %.0f rows/s ETA %s (%d/%d chunks)",
			t.Table, t.Rows, t.Estimate, r, eta, t.ChunksDone, t.Chunks))
	}
	if len(parts) == 0 {
		return "snapshot: waiting"
	}
	return strings.Join(parts, " | ")
}

func printReport(w io.Writer, format string, rep *snapshot.Report) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if rep.LSN != "" {
		fmt.Fprintf(w, "snapshot at LSN %s (_version %d), %s, waited %.1fs for running transactions\n",
			rep.LSN, rep.Version, rep.SnapshotTime.Format(time.RFC3339), rep.WaitedSeconds)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\tchunks\tseconds\trows/s\tadjusted\t")
	for _, t := range rep.Tables {
		chunks := fmt.Sprintf("%d/%d", t.ChunksDone, t.Chunks)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.0f\t%d\t\n", t.Table, t.Rows, chunks, t.Seconds, t.RowsPerSecond, t.Adjusted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s: %d rows in %.1fs (%.0f rows/s)\n", rep.Status, rep.Rows, rep.Seconds, rep.RowsPerSecond)
	return err
}
