package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/health"
	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// pipelineOptions are the flags check and status share: where the
// pipeline's parts are and what it replicates.
type pipelineOptions struct {
	pgDSN, chURL      string
	brokers           cli.StringSlice
	group             string
	topics            cli.StringSlice
	topicPattern      string
	connectURL        string
	connector         string
	slot, publication string
	tableMap          cli.StringSlice
	output            string
	timeout           time.Duration
	conn              connOptions
}

func (o *pipelineOptions) flags() []cli.Flag {
	env := func(n string) []string { return []string{"SLUICE_" + n} }
	return append([]cli.Flag{
		postgresFlag(&o.pgDSN),
		kafkaFlag(&o.brokers),
		clickhouseFlag(&o.chURL),
		&cli.StringFlag{Name: "connect-url", EnvVars: env("CONNECT_URL"), Usage: "Kafka Connect REST URL; with it the connector's state is checked and the slot, publication and topics are discovered from its configuration", Destination: &o.connectURL},
		&cli.StringFlag{Name: "connector", EnvVars: env("CONNECTOR"), Usage: "the Debezium connector's name (default: every connector; discovery needs exactly one PostgreSQL connector)", Destination: &o.connector},
		&cli.StringFlag{Name: "slot", EnvVars: env("SLOT"), Usage: "replication slot Debezium uses (default: the connector's slot.name)", Destination: &o.slot},
		&cli.StringFlag{Name: "publication", EnvVars: env("PUBLICATION"), Usage: "publication Debezium uses (default: the connector's publication.name)", Destination: &o.publication},
		&cli.StringFlag{Name: "group", EnvVars: env("GROUP"), Usage: "Kafka consumer group of sluice replicate", Destination: &o.group},
		&cli.StringSliceFlag{Name: "topics", EnvVars: env("TOPICS"), Usage: "topics, comma separated (default: the connector's tables as <topic.prefix>.<schema>.<table>)", Destination: &o.topics},
		&cli.StringFlag{Name: "topic-pattern", EnvVars: env("TOPIC_PATTERN"), Usage: `regular expression selecting topics, e.g. '^cdc\.ecommerce\..*'`, Destination: &o.topicPattern},
		&cli.StringSliceFlag{Name: "table-map", EnvVars: env("TABLE_MAP"), Usage: "TOPIC=TABLE overrides, as given to replicate (default: the topic's last part)", Destination: &o.tableMap},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", EnvVars: env("OUTPUT"), Usage: "text or json", Destination: &o.output},
		&cli.DurationFlag{Name: "timeout", Value: health.DefaultTimeout, Usage: "bound on each server round trip", Destination: &o.timeout},
	}, append(o.conn.flags(&o.pgDSN, &o.chURL, true), o.conn.connectFlags(&o.connectURL)...)...)
}

// config validates the shared flags into a health.Config.
func (o *pipelineOptions) config(g *globalOptions) (health.Config, error) {
	if err := o.conn.resolve(g.log); err != nil {
		return health.Config{}, err
	}
	cfg := health.Config{
		Kafka: o.conn.kafkaSec, Connect: o.conn.connectSec,
		PostgresDSN: o.pgDSN, ClickHouseURL: o.chURL, ConnectURL: o.connectURL, Connector: o.connector,
		Brokers: splitList(o.brokers.Value()), Group: o.group, Topics: splitList(o.topics.Value()),
		Slot: o.slot, Publication: o.publication, Timeout: o.timeout, Logger: g.log,
	}
	if o.output != "text" && o.output != "json" {
		return cfg, exitcode.UsageError(fmt.Errorf("--output %q: want text or json", o.output))
	}
	if o.topicPattern != "" {
		re, err := regexp.Compile(o.topicPattern)
		if err != nil {
			return cfg, exitcode.UsageError(fmt.Errorf("--topic-pattern: %w", err))
		}
		cfg.TopicPattern = re
	}
	var err error
	if cfg.TableMap, err = keyValues("table-map", o.tableMap.Value()); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// checkOptions are the flags of sluice check.
type checkOptions struct {
	pipelineOptions
	schema         string
	cluster        string
	maxRetainedWAL string
	policy         policyOptions
}

func (o *checkOptions) flags() []cli.Flag {
	flags := append(o.pipelineOptions.flags(),
		&cli.StringFlag{Name: "max-retained-wal", Value: "1GiB", EnvVars: []string{"SLUICE_MAX_RETAINED_WAL"}, Usage: "warn when the slot retains more WAL than this (e.g. 512MiB, 2GB; 0: never)", Destination: &o.maxRetainedWAL},
		&cli.StringFlag{Name: "cluster", Usage: "the tables were created ON CLUSTER (check <table>_local), as given to ddl", Destination: &o.cluster},
	)
	return append(flags, o.policy.flags()...)
}

func newCheckCommand(g *globalOptions) *cli.Command {
	o := &checkOptions{}
	return &cli.Command{
		Name:  "check",
		Usage: "check every part of the pipeline and report each item as ok, warn or fail, with the fix",
		Description: "Checks PostgreSQL (reachable, wal_level, the slot and publication Debezium uses, the slot's retained WAL),\n" +
			"Kafka (reachable, topics and partitions, the group's committed offsets), the Debezium connector's state\n" +
			"(with --connect-url) and ClickHouse (reachable, capability profile, each target table against the type\n" +
			"contract). Items whose settings are missing are skipped. Passwords are never printed.\n\n" +
			"Exit codes: 0 no item failed (warnings allowed), 3 every server was reached but an item failed\n" +
			"(a missing slot, topic, table, grant...), 4 a server could not be reached, authenticated or\n" +
			"TLS-verified (the report is still complete; such items carry a cause), 2 usage error.",
		Flags: o.flags(),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return exitcode.UsageError(fmt.Errorf("check takes no arguments, got %q", c.Args().First()))
			}
			return runCheck(c.Context, g, o)
		},
	}
}

func runCheck(ctx context.Context, g *globalOptions, o *checkOptions) error {
	cfg, err := o.config(g)
	if err != nil {
		return err
	}
	if cfg.MaxRetainedWAL, err = parseBytes(o.maxRetainedWAL); err != nil {
		return exitcode.UsageError(fmt.Errorf("--max-retained-wal: %w", err))
	}
	cfg.DDL = ddl.DefaultOptions()
	cfg.DDL.Cluster = o.cluster
	if cfg.DDL.Policies, err = o.policy.policies(); err != nil {
		return err
	}
	rep := health.Check(ctx, cfg)
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.output == "json" {
		err = rep.WriteJSON(g.stdout)
	} else {
		err = rep.WriteText(g.stdout)
	}
	if err != nil {
		return fmt.Errorf("check: write report: %w", err)
	}
	return checkError(rep)
}

// checkError maps a report to the exit code: a server that could not be
// reached, authenticated or TLS-verified (4) wins over other failed items
// (3), since its own checks could not even run.
func checkError(rep *health.Report) error {
	failed := rep.Failed()
	if len(failed) == 0 {
		return nil
	}
	if down := rep.Unreachable(); len(down) > 0 {
		return exitcode.UnavailableError(fmt.Errorf("check: %d failed, %d because a server could not be reached: %s",
			len(failed), len(down), itemNames(down)))
	}
	return exitcode.With(exitcode.Findings, fmt.Errorf("check: %d failed: %s", len(failed), itemNames(failed)))
}

func itemNames(items []health.Item) string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = strings.TrimSpace(it.Component + " " + it.Check + " " + it.Target)
		if it.Cause != "" {
			names[i] += " (" + it.Cause + ")"
		}
	}
	return strings.Join(names, "; ")
}

// parseBytes reads a size such as 1GiB, 512MB, 1048576 or 0.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a size such as 1GiB, 512MB or 0")
	}
	return int64(n * float64(mult)), nil
}
