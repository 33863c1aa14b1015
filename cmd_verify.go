package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/typemap"
	"github.com/sluice-cdc/sluice/verify"
)

// verifyOptions are the flags of sluice verify.
type verifyOptions struct {
	pgDSN, chURL string
	schema       string
	tables       cli.StringSlice
	output       string
	outFile      string
	maxDiffs     int
	segments     int
	subSegments  int
	leafRows     int
	pgSessions   int
	asOf         string
	lagWait      time.Duration
	months       cli.StringSlice
	perMonth     bool
	partitions   cli.StringSlice
	numeric      string
	numPrec      int
	numScale     int
	outOfRange   string
	jsonPolicy   string
	conn         connOptions
}

func (o *verifyOptions) flags() []cli.Flag {
	return append([]cli.Flag{
		postgresFlag(&o.pgDSN),
		clickhouseFlag(&o.chURL),
		&cli.StringFlag{Name: "schema", Value: "public", Usage: "PostgreSQL schema to compare", Destination: &o.schema},
		&cli.StringSliceFlag{Name: "table", Usage: "only these source tables (repeatable; default all)", Destination: &o.tables},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text, json or junit", Destination: &o.output},
		&cli.StringFlag{Name: "output-file", Usage: "write the report here instead of stdout", Destination: &o.outFile},
		&cli.IntFlag{Name: "max-diffs", Value: 100, Usage: "stop listing a table's differing keys after this many", Destination: &o.maxDiffs},
		&cli.IntFlag{Name: "segments", Value: 256, Usage: "key-range segments of the first pass", Destination: &o.segments},
		&cli.IntFlag{Name: "sub-segments", Value: 32, Usage: "segments each differing segment is split into", Destination: &o.subSegments},
		&cli.IntFlag{Name: "leaf-rows", Value: 1000, Usage: "compare a segment row by row once it has at most this many rows", Destination: &o.leafRows},
		&cli.IntFlag{Name: "pg-sessions", Value: 2, Usage: "PostgreSQL sessions sharing a table's first pass (hashing is CPU-bound: about one per core PostgreSQL may use)", Destination: &o.pgSessions},
		&cli.StringFlag{Name: "as-of", Usage: "source LSN (HI/LO or decimal): keys whose ClickHouse version is later are in flight, not differences", Destination: &o.asOf},
		&cli.DurationFlag{Name: "lag-wait", Usage: "replication-lag tolerance: re-check differing keys after this wait; only those still differing count", Destination: &o.lagWait},
		&cli.StringSliceFlag{Name: "month", Usage: "compare only this month (YYYY-MM, UTC) of each table's partition column (repeatable)", Destination: &o.months},
		&cli.BoolFlag{Name: "per-month", Usage: "compare every table month by month (for very large tables)", Destination: &o.perMonth},
		&cli.StringSliceFlag{Name: "partition", Usage: "TABLE=COLUMN monthly partition column, as given to ddl (default created_at)", Destination: &o.partitions},
		&cli.StringFlag{Name: "numeric", Value: "decimal", Usage: "unconstrained numeric policy the data was written with: decimal or string", Destination: &o.numeric},
		&cli.IntFlag{Name: "numeric-precision", Value: 38, Usage: "Decimal precision of unconstrained numeric", Destination: &o.numPrec},
		&cli.IntFlag{Name: "numeric-scale", Value: 10, Usage: "Decimal scale of unconstrained numeric", Destination: &o.numScale},
		&cli.StringFlag{Name: "out-of-range", Value: "error", Usage: "out-of-range policy the data was written with: error, clamp or null", Destination: &o.outOfRange},
		&cli.StringFlag{Name: "json", Value: "string", Usage: "json policy the data was written with (verify needs string)", Destination: &o.jsonPolicy},
	}, o.conn.flags(&o.pgDSN, &o.chURL, false)...)
}

func newVerifyCommand(g *globalOptions) *cli.Command {
	o := &verifyOptions{}
	return &cli.Command{
		Name:  "verify",
		Usage: "compare ClickHouse with PostgreSQL: counts and checksums per table, and the differing keys",
		Description: "Exit codes: 0 equal, 3 differs, 4 could not compare (a server was unreachable or a table\n" +
			"could not be compared), 2 usage, 1 other failures. A difference wins over an incomplete comparison.",
		Flags: o.flags(),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return exitcode.UsageError(fmt.Errorf("verify takes no arguments, got %q", c.Args().First()))
			}
			return runVerify(c.Context, g, o)
		},
	}
}

func (o *verifyOptions) libOptions(g *globalOptions, database string) (verify.Options, error) {
	opts := verify.Options{
		Database: database, MaxDiffs: o.maxDiffs, Segments: o.segments, SubSegments: o.subSegments,
		LeafRows: o.leafRows, PGConnections: o.pgSessions, LagWait: o.lagWait, Months: o.months.Value(), PerMonth: o.perMonth, Log: g.log,
	}
	opts.Policies = typemap.DefaultPolicies()
	opts.Policies.Numeric = typemap.NumericPolicy(o.numeric)
	opts.Policies.NumericPrecision = o.numPrec
	opts.Policies.NumericScale = o.numScale
	opts.Policies.OutOfRange = typemap.RangePolicy(o.outOfRange)
	opts.Policies.JSON = typemap.JSONPolicy(o.jsonPolicy)
	if err := opts.Policies.Validate(); err != nil {
		return opts, exitcode.UsageError(err)
	}
	if o.asOf != "" {
		lsn, err := verify.ParseLSN(o.asOf)
		if err != nil {
			return opts, exitcode.UsageError(err)
		}
		opts.AsOf = &lsn
	}
	for _, m := range opts.Months {
		if _, err := parseMonth(m); err != nil {
			return opts, exitcode.UsageError(err)
		}
	}
	var err error
	opts.Partition, err = keyValues("partition", o.partitions.Value())
	return opts, err
}

func parseMonth(m string) (string, error) {
	if len(m) != 7 || m[4] != '-' {
		return "", fmt.Errorf("--month %q: want YYYY-MM", m)
	}
	return m, nil
}

func (o *verifyOptions) writer() (func(io.Writer, *verify.Report) error, error) {
	switch o.output {
	case "text":
		return verify.WriteText, nil
	case "json":
		return verify.WriteJSON, nil
	case "junit":
		return verify.WriteJUnit, nil
	}
	return nil, exitcode.UsageError(fmt.Errorf("--output %q: want text, json or junit", o.output))
}

func runVerify(ctx context.Context, g *globalOptions, o *verifyOptions) error {
	if err := o.conn.resolve(g.log); err != nil {
		return err
	}
	write, err := o.writer()
	if err != nil {
		return err
	}
	if o.pgDSN == "" {
		return exitcode.UsageError(errors.New("--pg-dsn (or SLUICE_PG_DSN) is required"))
	}
	target, err := chconn.ParseURL(o.chURL)
	if err != nil {
		return exitcode.UsageError(err)
	}
	opts, err := o.libOptions(g, target.Database)
	if err != nil {
		return err
	}
	pg, err := pgConnect(ctx, o.pgDSN)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer pg.Close(context.Background())
	ch, err := native.Open(ctx, o.chURL)
	if err != nil {
		return exitcode.UnavailableError(err)
	}
	defer ch.Close()
	tables, err := ddl.ReadCatalog(ctx, pg, o.schema, o.tables.Value())
	if err != nil {
		return exitcode.UsageError(err)
	}
	if len(tables) == 0 {
		return exitcode.UsageError(fmt.Errorf("verify: schema %s has no tables", o.schema))
	}
	rep, err := verify.Run(ctx, pg, ch, tables, opts)
	if err != nil {
		return exitcode.UnavailableError(err)
	}
	if err := writeReport(g, o.outFile, write, rep); err != nil {
		return err
	}
	switch rep.Verdict {
	case verify.Differs:
		return exitcode.With(exitcode.Findings, errors.New("verify: ClickHouse differs from PostgreSQL"))
	case verify.Error:
		return exitcode.UnavailableError(errors.New("verify: some tables could not be compared"))
	}
	return nil
}

func writeReport(g *globalOptions, path string, write func(io.Writer, *verify.Report) error, rep *verify.Report) error {
	if path == "" {
		return write(g.stdout, rep)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := write(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("verify: write %s: %w", path, err)
	}
	return f.Close()
}
