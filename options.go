package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// globalOptions holds what every command shares: where output goes and the
// logger built from the global flags.
type globalOptions struct {
	logFormat string
	logLevel  string

	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

func (g *globalOptions) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name: "log-format", Value: "text", EnvVars: []string{"SLUICE_LOG_FORMAT"},
			Usage: "log format on stderr: text or json", Destination: &g.logFormat,
		},
		&cli.StringFlag{
			Name: "log-level", Value: "info", EnvVars: []string{"SLUICE_LOG_LEVEL"},
			Usage: "debug, info, warn or error", Destination: &g.logLevel,
		},
	}
}

// setup builds the logger once the global flags are parsed.
func (g *globalOptions) setup(*cli.Context) error {
	log, err := newLogger(g.stderr, g.logFormat, g.logLevel)
	if err != nil {
		return exitcode.UsageError(err)
	}
	g.log = log
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}

// Connection flags. Each command that talks to a server declares the flags
// it needs, so they can follow the command name on the command line; the
// environment twins let a CronJob set them once.

func postgresFlag(dst *string) cli.Flag {
	return &cli.StringFlag{
		Name: "pg-dsn", EnvVars: []string{"SLUICE_PG_DSN"}, Destination: dst,
		Usage: "PostgreSQL connection string (libpq URL or key=value); the PG* environment variables fill what it leaves out",
	}
}

func clickhouseFlag(dst *string) cli.Flag {
	return &cli.StringFlag{
		Name: "clickhouse-url", EnvVars: []string{"SLUICE_CLICKHOUSE_URL"}, Destination: dst,
		Value: "clickhouse://127.0.0.1:9000/default",
		Usage: "ClickHouse native-protocol URL clickhouse://[user[:password]@]host:port/database",
	}
}

func kafkaFlag(dst *cli.StringSlice) cli.Flag {
	return &cli.StringSliceFlag{
		Name: "kafka-brokers", EnvVars: []string{"SLUICE_KAFKA_BROKERS"}, Destination: dst,
		Value: cli.NewStringSlice("127.0.0.1:9092"),
		Usage: "Kafka bootstrap brokers, host:port, comma separated",
	}
}

// policyOptions are the type-contract policies. ddl, snapshot and replicate
// must be given the same values, so every command declares them here.
type policyOptions struct {
	numeric           string
	numPrec, numScale int
	outOfRange        string
	jsonPolicy        string
}

func (o *policyOptions) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "numeric", Value: "decimal", EnvVars: []string{"SLUICE_NUMERIC"}, Usage: "unconstrained numeric: decimal or string", Destination: &o.numeric},
		&cli.IntFlag{Name: "numeric-precision", Value: 38, EnvVars: []string{"SLUICE_NUMERIC_PRECISION"}, Usage: "Decimal precision of unconstrained numeric", Destination: &o.numPrec},
		&cli.IntFlag{Name: "numeric-scale", Value: 10, EnvVars: []string{"SLUICE_NUMERIC_SCALE"}, Usage: "Decimal scale of unconstrained numeric", Destination: &o.numScale},
		&cli.StringFlag{Name: "out-of-range", Value: "error", EnvVars: []string{"SLUICE_OUT_OF_RANGE"}, Usage: "dates/timestamps outside ClickHouse's range: error, clamp or null", Destination: &o.outOfRange},
		&cli.StringFlag{Name: "json", Value: "string", EnvVars: []string{"SLUICE_JSON"}, Usage: "json/jsonb as string, or json (the JSON type where the server has it)", Destination: &o.jsonPolicy},
	}
}

// policies returns the validated policies; a bad value is a usage error.
func (o *policyOptions) policies() (typemap.Policies, error) {
	pol := typemap.DefaultPolicies()
	pol.Numeric = typemap.NumericPolicy(o.numeric)
	pol.NumericPrecision = o.numPrec
	pol.NumericScale = o.numScale
	pol.OutOfRange = typemap.RangePolicy(o.outOfRange)
	pol.JSON = typemap.JSONPolicy(o.jsonPolicy)
	if err := pol.Validate(); err != nil {
		return pol, exitcode.UsageError(err)
	}
	return pol, nil
}
