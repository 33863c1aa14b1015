// Command sluice replicates PostgreSQL changes, captured by Debezium into
// Kafka, into ClickHouse in bounded batches.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, so tests can
// call it.
func run(args []string, stdout, stderr io.Writer) int {
	// SIGINT and SIGTERM cancel one context; every command stops through it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	g := &globalOptions{stdout: stdout, stderr: stderr}
	err := newApp(g).RunContext(ctx, args)
	if err == nil {
		return exitcode.OK
	}
	code := exitcode.Of(err)
	report(g, err, code)
	return code
}

// report prints the one error line of a failed run, through the logger when
// the flags got far enough to build one.
func report(g *globalOptions, err error, code int) {
	if g.log != nil {
		g.log.Error("sluice failed", "error", err.Error(), "exit_code", code)
		return
	}
	fmt.Fprintf(g.stderr, "sluice: %v (exit code %d)\n", err, code)
}

func newApp(g *globalOptions) *cli.App {
	app := &cli.App{
		Name:            "sluice",
		Usage:           "replicate PostgreSQL changes from Debezium topics into ClickHouse, in bounded batches",
		Writer:          g.stdout,
		ErrWriter:       g.stderr,
		Flags:           g.flags(),
		Before:          g.setup,
		HideHelpCommand: true,
		Commands: []*cli.Command{
			newVersionCommand(g),
			newDDLCommand(g),
			newVerifyCommand(g),
			newReplicateCommand(g),
			newSnapshotCommand(g),
			newCheckCommand(g),
			newStatusCommand(g),
		},
		// Errors go back to run; urfave/cli must not exit on its own.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError,
		Action:         rootAction,
	}
	for _, cmd := range app.Commands {
		markUsageErrors(cmd)
	}
	return app
}

// usageError marks flag parsing errors so they exit with the usage code.
func usageError(_ *cli.Context, err error, _ bool) error {
	return exitcode.UsageError(err)
}

func markUsageErrors(cmd *cli.Command) {
	cmd.OnUsageError = usageError
	for _, sub := range cmd.Subcommands {
		markUsageErrors(sub)
	}
}

// rootAction runs when no command matched: help for a bare "sluice", a
// usage error for a word that names no command.
func rootAction(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return exitcode.UsageError(fmt.Errorf("no command %q; see 'sluice --help'", c.Args().First()))
	}
	return cli.ShowAppHelp(c)
}
