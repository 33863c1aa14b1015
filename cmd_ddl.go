package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// ddlOptions are the flags of sluice ddl and its subcommands.
type ddlOptions struct {
	pgDSN, chURL    string
	schema          string
	tables          cli.StringSlice
	cluster         string
	shardKeys       cli.StringSlice
	partitions      cli.StringSlice
	chVersion       string
	policy          policyOptions
	allowDrop       bool
	allowTypeChange bool
	analyticsApply  bool
	conn            connOptions
}

func (o *ddlOptions) flags() []cli.Flag {
	return append([]cli.Flag{
		postgresFlag(&o.pgDSN),
		clickhouseFlag(&o.chURL),
		&cli.StringFlag{Name: "schema", Value: "public", Usage: "PostgreSQL schema to read", Destination: &o.schema},
		&cli.StringSliceFlag{Name: "table", Usage: "only these source tables (repeatable; default all)", Destination: &o.tables},
		&cli.StringFlag{Name: "cluster", Usage: "emit ON CLUSTER, Replicated engines on <table>_local and a Distributed <table>", Destination: &o.cluster},
		&cli.StringSliceFlag{Name: "shard-key", Usage: "TABLE=EXPR sharding expression on a cluster (default cityHash64(customer_id) where present, else of the primary key)", Destination: &o.shardKeys},
		&cli.StringSliceFlag{Name: "partition", Usage: "TABLE=COLUMN monthly partition column (must never change; default created_at; TABLE= for none)", Destination: &o.partitions},
		&cli.StringFlag{Name: "clickhouse-version", Usage: "print: generate for this server version (e.g. 18.16 or 26.7) instead of asking the server", Destination: &o.chVersion},
		&cli.BoolFlag{Name: "allow-drop", Usage: "apply: drop ClickHouse columns that left the source", Destination: &o.allowDrop},
		&cli.BoolFlag{Name: "allow-type-change", Usage: "apply: MODIFY COLUMN when a source type changed", Destination: &o.allowTypeChange},
	}, append(o.conn.flags(&o.pgDSN, &o.chURL, false), o.policy.flags()...)...)
}

func newDDLCommand(g *globalOptions) *cli.Command {
	o := &ddlOptions{}
	sub := func(name, usage string, action func(context.Context, *globalOptions, *ddlOptions) error) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, Flags: o.flags(), Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return exitcode.UsageError(fmt.Errorf("ddl %s takes no arguments, got %q", name, c.Args().First()))
			}
			if err := o.conn.resolve(g.log); err != nil {
				return err
			}
			return action(c.Context, g, o)
		}}
	}
	return &cli.Command{
		Name:  "ddl",
		Usage: "create and evolve the ClickHouse schema from the PostgreSQL catalog",
		Subcommands: []*cli.Command{
			sub("print", "print the CREATE TABLE statements to stdout", ddlPrint),
			sub("diff", "show the changes apply would make (refused ones marked)", ddlDiff),
			sub("apply", "create missing tables and add new columns; refuse drops and type changes unless allowed", ddlApply),
			analyticsCommand(g, o),
		},
	}
}

// keyValues parses TABLE=VALUE flags.
func keyValues(flag string, vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, exitcode.UsageError(fmt.Errorf("--%s %q: want TABLE=VALUE", flag, kv))
		}
		out[k] = v
	}
	return out, nil
}

func (o *ddlOptions) options(database string) (ddl.Options, error) {
	opts := ddl.DefaultOptions()
	opts.Database = database
	opts.Cluster = o.cluster
	var err error
	if opts.Policies, err = o.policy.policies(); err != nil {
		return opts, err
	}
	if opts.Partition, err = keyValues("partition", o.partitions.Value()); err != nil {
		return opts, err
	}
	opts.ShardKey, err = keyValues("shard-key", o.shardKeys.Value())
	return opts, err
}

func (o *ddlOptions) readSource(ctx context.Context) ([]ddl.Table, error) {
	if o.pgDSN == "" {
		return nil, exitcode.UsageError(errors.New("--pg-dsn (or SLUICE_PG_DSN) is required"))
	}
	pg, err := pgConnect(ctx, o.pgDSN)
	if err != nil {
		return nil, fmt.Errorf("ddl: %w", err)
	}
	defer pg.Close(ctx)
	tables, err := ddl.ReadCatalog(ctx, pg, o.schema, o.tables.Value())
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, exitcode.UsageError(fmt.Errorf("ddl: schema %s has no tables", o.schema))
	}
	return tables, nil
}

func (o *ddlOptions) connect(ctx context.Context) (chconn.Conn, chconn.Target, error) {
	target, err := chconn.ParseURL(o.chURL)
	if err != nil {
		return nil, target, exitcode.UsageError(err)
	}
	conn, err := native.Open(ctx, o.chURL)
	if err != nil {
		return nil, target, exitcode.UnavailableError(err)
	}
	return conn, target, nil
}

// printInputs reads what the print commands need: the source tables, the
// server profile (asked of the server, or taken from --clickhouse-version so
// printing works without one) and the ddl options.
func (o *ddlOptions) printInputs(ctx context.Context) ([]ddl.Table, chconn.Profile, ddl.Options, error) {
	var profile chconn.Profile
	tables, err := o.readSource(ctx)
	if err != nil {
		return nil, profile, ddl.Options{}, err
	}
	database := "default"
	if o.chVersion != "" {
		if profile, err = chconn.ProfileForString(o.chVersion); err != nil {
			return nil, profile, ddl.Options{}, exitcode.UsageError(err)
		}
		if t, err := chconn.ParseURL(o.chURL); err == nil {
			database = t.Database
		}
	} else {
		conn, target, err := o.connect(ctx)
		if err != nil {
			return nil, profile, ddl.Options{}, err
		}
		conn.Close()
		profile, database = conn.Profile(), target.Database
	}
	opts, err := o.options(database)
	return tables, profile, opts, err
}

func ddlPrint(ctx context.Context, g *globalOptions, o *ddlOptions) error {
	tables, profile, opts, err := o.printInputs(ctx)
	if err != nil {
		return err
	}
	sql, warnings, err := ddl.SchemaSQL(tables, profile, opts)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		g.log.Warn(w)
	}
	_, err = fmt.Fprint(g.stdout, sql)
	return err
}

// serverInputs reads what the commands that talk to ClickHouse need: the
// source tables, an open connection (the caller closes it) and the ddl
// options for the connection's database.
func (o *ddlOptions) serverInputs(ctx context.Context) ([]ddl.Table, chconn.Conn, chconn.Target, ddl.Options, error) {
	tables, err := o.readSource(ctx)
	if err != nil {
		return nil, nil, chconn.Target{}, ddl.Options{}, err
	}
	conn, target, err := o.connect(ctx)
	if err != nil {
		return nil, nil, target, ddl.Options{}, err
	}
	opts, err := o.options(target.Database)
	if err != nil {
		conn.Close()
		return nil, nil, target, ddl.Options{}, err
	}
	return tables, conn, target, opts, nil
}

func ddlDiff(ctx context.Context, g *globalOptions, o *ddlOptions) error {
	tables, conn, _, opts, err := o.serverInputs(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	plan, err := ddl.Plan(ctx, conn, tables, opts, ddl.Allow{Drop: o.allowDrop, TypeChange: o.allowTypeChange})
	if err != nil {
		return err
	}
	if len(plan) == 0 {
		fmt.Fprintln(g.stdout, "-- no changes")
		return nil
	}
	for _, c := range plan {
		mark := ""
		if c.Refused {
			mark = " [REFUSED]"
		}
		fmt.Fprintf(g.stdout, "-- %s%s\n", c, mark)
		for _, s := range c.SQL {
			fmt.Fprintf(g.stdout, "%s;\n", s)
		}
	}
	if err := ddl.Refused(plan); err != nil {
		return exitcode.With(exitcode.Findings, err)
	}
	return nil
}

func ddlApply(ctx context.Context, g *globalOptions, o *ddlOptions) error {
	tables, conn, target, opts, err := o.serverInputs(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	done, err := ddl.Apply(ctx, conn, tables, opts, ddl.Allow{Drop: o.allowDrop, TypeChange: o.allowTypeChange}, g.log)
	if err != nil { // a refusal exits 1: nothing was applied
		return err
	}
	fmt.Fprintf(g.stdout, "%d change(s) applied on %s (ClickHouse %s)\n", len(done), target, conn.Profile().Version)
	return nil
}

// analyticsCommand is sluice ddl analytics: the exact analytics views
// (ddl/ANALYTICS.md). It prints them, or with --apply creates the missing
// ones and replaces changed ones; the tables must exist (ddl apply).
func analyticsCommand(g *globalOptions, o *ddlOptions) *cli.Command {
	flags := append(o.flags(), &cli.BoolFlag{Name: "apply", Usage: "create missing analytics views and replace changed ones (default: print them)", Destination: &o.analyticsApply})
	return &cli.Command{
		Name:  "analytics",
		Usage: "print (or --apply) the analytics views: <table>_current over FINAL, daily_sales, vehicle_inventory, customer_lifetime_value, payment_analytics, sales_last_7_days, top_customers",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return exitcode.UsageError(fmt.Errorf("ddl analytics takes no arguments, got %q", c.Args().First()))
			}
			if err := o.conn.resolve(g.log); err != nil {
				return err
			}
			if o.analyticsApply {
				return ddlAnalyticsApply(c.Context, g, o)
			}
			return ddlAnalyticsPrint(c.Context, g, o)
		},
	}
}

func ddlAnalyticsPrint(ctx context.Context, g *globalOptions, o *ddlOptions) error {
	tables, profile, opts, err := o.printInputs(ctx)
	if err != nil {
		return err
	}
	sql, err := ddl.AnalyticsScript(tables, profile, opts)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(g.stdout, sql)
	return err
}

func ddlAnalyticsApply(ctx context.Context, g *globalOptions, o *ddlOptions) error {
	tables, conn, target, opts, err := o.serverInputs(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	done, err := ddl.ApplyAnalytics(ctx, conn, tables, opts, g.log)
	if err != nil {
		return err
	}
	for _, c := range done {
		fmt.Fprintf(g.stdout, "-- %s\n", c)
	}
	fmt.Fprintf(g.stdout, "%d analytics view(s) created or replaced on %s (ClickHouse %s)\n", len(done), target, conn.Profile().Version)
	return nil
}
