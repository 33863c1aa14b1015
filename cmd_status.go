package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/health"
	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// statusOptions are the flags of sluice status.
type statusOptions struct {
	pipelineOptions
	watch      bool
	interval   time.Duration
	maxLag     int64
	maxAge     time.Duration
	maxSlotLag string
	cluster    string
}

func (o *statusOptions) flags() []cli.Flag {
	env := func(n string) []string { return []string{"SLUICE_" + n} }
	return append(o.pipelineOptions.flags(),
		&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "refresh every --interval until interrupted (on a terminal the screen is redrawn; json: one document per line)", Destination: &o.watch},
		&cli.DurationFlag{Name: "interval", Value: 2 * time.Second, Usage: "refresh interval of --watch", Destination: &o.interval},
		&cli.Int64Flag{Name: "max-lag", EnvVars: env("MAX_LAG"), Usage: "alert (exit 3) when a table's Kafka lag exceeds this many messages (0: off)", Destination: &o.maxLag},
		&cli.DurationFlag{Name: "max-age", EnvVars: env("MAX_AGE"), Usage: "alert (exit 3) when a table's ClickHouse data is further behind the newest published change than this (0: off)", Destination: &o.maxAge},
		&cli.StringFlag{Name: "max-slot-lag", Value: "0", EnvVars: env("MAX_SLOT_LAG"), Usage: "alert (exit 3) when the slot has more unconfirmed WAL than this, e.g. 1GiB (0: off)", Destination: &o.maxSlotLag},
		&cli.StringFlag{Name: "cluster", Usage: "the tables were created ON CLUSTER (read <table>_local), as given to ddl", Destination: &o.cluster},
	)
}

func newStatusCommand(g *globalOptions) *cli.Command {
	o := &statusOptions{}
	return &cli.Command{
		Name:  "status",
		Usage: "per table: Kafka lag, slot lag, newest _version and cdc_timestamp in ClickHouse and how far behind the source",
		Description: "BEHIND is the newest change Debezium published for the table (source ts_ms of the last record of\n" +
			"each partition) minus ClickHouse's newest cdc_timestamp: a quiet table is 0 behind however old its\n" +
			"data; AGE is now minus ClickHouse's newest cdc_timestamp. The slot lag counts WAL the connector has not\n" +
			"confirmed (Debezium confirms when it commits its offsets).\n\n" +
			"Exit codes: 0 measured and no threshold exceeded, 3 a threshold (--max-lag, --max-age, --max-slot-lag)\n" +
			"exceeded or every server was reached but something is missing (a topic, the slot, a table), 4 a server\n" +
			"could not be reached, authenticated or TLS-verified (wins over 3; the report is still written and\n" +
			"lists the cause), 2 usage error.\n" +
			"--watch runs until interrupted and exits 0.",
		Flags: o.flags(),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return exitcode.UsageError(fmt.Errorf("status takes no arguments, got %q", c.Args().First()))
			}
			return runStatus(c.Context, g, o)
		},
	}
}

func (o *statusOptions) config(g *globalOptions) (health.Config, health.Thresholds, error) {
	var th health.Thresholds
	cfg, err := o.pipelineOptions.config(g)
	if err != nil {
		return cfg, th, err
	}
	if cfg.Group == "" {
		return cfg, th, exitcode.UsageError(errors.New("--group (or SLUICE_GROUP) is required: lag is the group's"))
	}
	if o.watch && o.interval <= 0 {
		return cfg, th, exitcode.UsageError(fmt.Errorf("--interval %s: want a positive duration", o.interval))
	}
	th.MaxLag, th.MaxAge = o.maxLag, o.maxAge
	if th.MaxSlotLag, err = parseBytes(o.maxSlotLag); err != nil {
		return cfg, th, exitcode.UsageError(fmt.Errorf("--max-slot-lag: %w", err))
	}
	cfg.DDL.Cluster = o.cluster
	return cfg, th, nil
}

func runStatus(ctx context.Context, g *globalOptions, o *statusOptions) error {
	cfg, th, err := o.config(g)
	if err != nil {
		return err
	}
	if o.watch {
		return watchStatus(ctx, g.stdout, o, cfg, th)
	}
	rep := health.Status(ctx, cfg, th, nil)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeStatus(g.stdout, o.output, rep); err != nil {
		return err
	}
	return statusError(rep)
}

// statusError maps a report to the exit code with check's cause rule: an
// error whose server could not be reached, authenticated or TLS-verified
// (4) wins, since what that server would have shown is unknown; otherwise
// an exceeded threshold or an error from a server that answered (a missing
// topic, slot or table: the pipeline is misconfigured) is a finding (3).
func statusError(rep *health.StatusReport) error {
	if down := rep.Unreachable; len(down) > 0 {
		names := make([]string, len(down))
		for i, o := range down {
			names[i] = o.Error
			if !strings.Contains(o.Error, o.Cause) {
				names[i] = o.Cause + ": " + o.Error
			}
			if o.Table != "" {
				names[i] = o.Table + ": " + names[i]
			}
		}
		return exitcode.UnavailableError(fmt.Errorf("status: %d error(s) because a server could not be reached: %s",
			len(down), strings.Join(names, "; ")))
	}
	problems := append([]string(nil), rep.Breaches...)
	problems = append(problems, rep.Errors...)
	for _, t := range rep.Tables {
		for _, e := range t.Errors {
			problems = append(problems, t.Table+": "+e)
		}
	}
	if len(problems) > 0 {
		return exitcode.With(exitcode.Findings, fmt.Errorf("status: %s", strings.Join(problems, "; ")))
	}
	return nil
}

func writeStatus(w io.Writer, output string, rep *health.StatusReport) error {
	var err error
	if output == "json" {
		err = rep.WriteJSON(w)
	} else {
		err = rep.WriteText(w)
	}
	if err != nil {
		return fmt.Errorf("status: write report: %w", err)
	}
	return nil
}

// watchStatus measures every interval until ctx ends. On a terminal the
// screen is cleared before each text report; elsewhere (a pipe, a log)
// reports follow each other, JSON one per line.
func watchStatus(ctx context.Context, w io.Writer, o *statusOptions, cfg health.Config, th health.Thresholds) error {
	clear := o.output == "text" && isTerminal(w)
	var prev *health.StatusReport
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for {
		rep := health.Status(ctx, cfg, th, prev)
		if ctx.Err() != nil {
			return nil // interrupted: the normal end of a watch
		}
		if clear {
			fmt.Fprint(w, "\033[H\033[2J")
		}
		if err := writeStatus(w, o.output, rep); err != nil {
			return err
		}
		if o.output == "text" && !clear {
			fmt.Fprintln(w)
		}
		prev = rep
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
