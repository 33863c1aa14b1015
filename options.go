package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/secure"
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

// connOptions are the secure-connection flags shared by every command that
// talks to a server: TLS and SASL for Kafka, TLS and a password file for
// ClickHouse, a password file for PostgreSQL. resolve folds the files into
// the command's connection strings (so every consumer of the DSN or URL
// sees them) and builds the Kafka client security. Secrets come from the
// environment or files; no flag has a secret default, so --help never
// shows one.
type connOptions struct {
	pgDSN          *string
	pgPasswordFile string

	chURL          *string
	chPassword     string
	chPasswordFile string
	chTLS          secure.TLSFiles

	kafkaOn           bool
	kafka             secure.Kafka
	kafkaPasswordFile string
	// kafkaSec is built by resolve: the TLS config and SASL mechanism of
	// the consumer, the group and the dead-letter producer.
	kafkaSec secure.KafkaSecurity

	connectURL          *string
	connect             secure.HTTP
	connectPasswordFile string
	// connectSec is built by resolve: TLS and basic authentication of the
	// Kafka Connect REST client.
	connectSec secure.HTTPSecurity

	resolved bool
}

// flags returns the extra flags for the servers the command uses: pgDSN
// and chURL are the destinations of its --pg-dsn and --clickhouse-url
// (nil: not used), kafka whether it reads Kafka.
func (c *connOptions) flags(pgDSN, chURL *string, kafka bool) []cli.Flag {
	env := func(n string) []string { return []string{"SLUICE_" + n} }
	var flags []cli.Flag
	if pgDSN != nil {
		c.pgDSN = pgDSN
		flags = append(flags,
			&cli.StringFlag{Name: "pg-password-file", EnvVars: env("PG_PASSWORD_FILE"), Destination: &c.pgPasswordFile,
				Usage: "read the PostgreSQL password from this file (overrides the DSN's; PGPASSWORD and PGPASSFILE work too)"},
		)
	}
	if chURL != nil {
		c.chURL = chURL
		flags = append(flags,
			&cli.StringFlag{Name: "clickhouse-password", EnvVars: env("CLICKHOUSE_PASSWORD"), Destination: &c.chPassword,
				Usage: "ClickHouse password (prefer the environment variable or --clickhouse-password-file; overrides the URL's)"},
			&cli.StringFlag{Name: "clickhouse-password-file", EnvVars: env("CLICKHOUSE_PASSWORD_FILE"), Destination: &c.chPasswordFile,
				Usage: "read the ClickHouse password from this file (overrides the URL's)"},
		)
		flags = append(flags, tlsFlags("clickhouse", &c.chTLS, tlsHelp{
			server: "ClickHouse", certs: "ClickHouse's certificate", any: "ClickHouse certificate",
			caNote: "implies TLS, like ?secure=true in the URL", nameNote: "default: the URL's host"})...)
	}
	if kafka {
		c.kafkaOn = true
		flags = append(flags,
			&cli.BoolFlag{Name: "kafka-tls", EnvVars: env("KAFKA_TLS"), Destination: &c.kafka.TLS,
				Usage: "connect to Kafka with TLS (implied by any --kafka-tls-* flag)"})
		flags = append(flags, tlsFlags("kafka", &c.kafka.TLSFiles, tlsHelp{
			server: "Kafka", certs: "the brokers' certificates", any: "broker certificate",
			caNote: "default: the system roots", nameNote: "default: each broker's host"})...)
		flags = append(flags,
			&cli.StringFlag{Name: "kafka-sasl-mechanism", EnvVars: env("KAFKA_SASL_MECHANISM"), Destination: &c.kafka.SASLMechanism,
				Usage: "SASL mechanism: plain, scram-sha-256 or scram-sha-512 (default: no SASL)"},
			&cli.StringFlag{Name: "kafka-sasl-username", EnvVars: env("KAFKA_SASL_USERNAME"), Destination: &c.kafka.Username,
				Usage: "SASL user name"},
			&cli.StringFlag{Name: "kafka-sasl-password", EnvVars: env("KAFKA_SASL_PASSWORD"), Destination: &c.kafka.Password,
				Usage: "SASL password (prefer the environment variable or --kafka-sasl-password-file)"},
			&cli.StringFlag{Name: "kafka-sasl-password-file", EnvVars: env("KAFKA_SASL_PASSWORD_FILE"), Destination: &c.kafkaPasswordFile,
				Usage: "read the SASL password from this file (overrides --kafka-sasl-password)"},
		)
	}
	return flags
}

// connectFlags returns the TLS and basic-authentication flags of the Kafka
// Connect REST API; connectURL is the destination of --connect-url.
func (c *connOptions) connectFlags(connectURL *string) []cli.Flag {
	c.connectURL = connectURL
	env := func(n string) []string { return []string{"SLUICE_CONNECT_" + n} }
	flags := tlsFlags("connect", &c.connect.TLSFiles, tlsHelp{
		server: "Kafka Connect", certs: "Kafka Connect's certificate", any: "Kafka Connect certificate",
		caNote: "https --connect-url; default: the system roots", nameNote: "default: the URL's host"})
	return append(flags,
		&cli.StringFlag{Name: "connect-username", EnvVars: env("USERNAME"), Destination: &c.connect.Username,
			Usage: "Kafka Connect REST user (HTTP basic authentication)"},
		&cli.StringFlag{Name: "connect-password", EnvVars: env("PASSWORD"), Destination: &c.connect.Password,
			Usage: "Kafka Connect REST password (prefer the environment variable or --connect-password-file; overrides the URL's)"},
		&cli.StringFlag{Name: "connect-password-file", EnvVars: env("PASSWORD_FILE"), Destination: &c.connectPasswordFile,
			Usage: "read the Kafka Connect REST password from this file (overrides --connect-password)"},
	)
}

// tlsHelp words the help of one server's TLS flags.
type tlsHelp struct {
	server   string // "client certificate (PEM) for <server>"
	certs    string // "PEM CA certificates that sign <certs>"
	any      string // "accept any <any>"
	caNote   string // in parentheses after the CA file's help
	nameNote string // in parentheses after the server name's help
}

// tlsFlags are the TLS flags every server has, --<name>-tls-ca-file,
// -cert-file, -key-file, -server-name and -insecure-skip-verify (and
// SLUICE_<NAME>_TLS_* in the environment), into dst.
func tlsFlags(name string, dst *secure.TLSFiles, h tlsHelp) []cli.Flag {
	prefix := name + "-tls-"
	env := func(n string) []string { return []string{"SLUICE_" + strings.ToUpper(name) + "_TLS_" + n} }
	return []cli.Flag{
		&cli.StringFlag{Name: prefix + "ca-file", EnvVars: env("CA_FILE"), Destination: &dst.CAFile,
			Usage: fmt.Sprintf("PEM CA certificates that sign %s (%s)", h.certs, h.caNote)},
		&cli.StringFlag{Name: prefix + "cert-file", EnvVars: env("CERT_FILE"), Destination: &dst.CertFile,
			Usage: fmt.Sprintf("client certificate (PEM) for %s (mutual TLS), with --%skey-file", h.server, prefix)},
		&cli.StringFlag{Name: prefix + "key-file", EnvVars: env("KEY_FILE"), Destination: &dst.KeyFile,
			Usage: "client private key (PEM) for " + h.server},
		&cli.StringFlag{Name: prefix + "server-name", EnvVars: env("SERVER_NAME"), Destination: &dst.ServerName,
			Usage: fmt.Sprintf("name %s must carry (%s)", h.certs, h.nameNote)},
		&cli.BoolFlag{Name: prefix + "insecure-skip-verify", EnvVars: env("INSECURE_SKIP_VERIFY"), Destination: &dst.InsecureSkipVerify,
			Usage: "accept any " + h.any + " (testing only; logs a warning)"},
	}
}

// resolve reads the secret files, folds them into the command's DSN and
// URL and builds the Kafka security. Mistakes are usage errors (exit 2);
// messages name files, never their content.
func (c *connOptions) resolve(log *slog.Logger) error {
	if c.resolved {
		return nil
	}
	c.resolved = true
	if c.pgDSN != nil && c.pgPasswordFile != "" {
		pw, err := secure.ReadSecretFile("pg-password-file", c.pgPasswordFile)
		if err != nil {
			return exitcode.UsageError(err)
		}
		if *c.pgDSN, err = secure.PostgresDSNWithPassword(*c.pgDSN, pw); err != nil {
			return exitcode.UsageError(fmt.Errorf("--pg-dsn: %w", err))
		}
	}
	if c.chURL != nil {
		opts := chconn.URLOptions{Password: c.chPassword, TLS: c.chTLS}
		if c.chPasswordFile != "" {
			pw, err := secure.ReadSecretFile("clickhouse-password-file", c.chPasswordFile)
			if err != nil {
				return exitcode.UsageError(err)
			}
			opts.Password = pw
		}
		u, err := chconn.WithOptions(*c.chURL, opts)
		if err != nil {
			return exitcode.UsageError(err)
		}
		*c.chURL = u
		if t, err := chconn.ParseURL(u); err == nil && t.TLS.InsecureSkipVerify && log != nil {
			log.Warn("ClickHouse TLS certificate verification is OFF (--clickhouse-tls-insecure-skip-verify): anyone on the path can read the password and the data", "server", t.Addr)
		}
	}
	if err := c.resolveConnect(log); err != nil {
		return err
	}
	if c.kafkaOn {
		if c.kafkaPasswordFile != "" {
			pw, err := secure.ReadSecretFile("kafka-sasl-password-file", c.kafkaPasswordFile)
			if err != nil {
				return exitcode.UsageError(err)
			}
			c.kafka.Password = pw
		}
		sec, err := c.kafka.Build()
		if err != nil {
			return exitcode.UsageError(err)
		}
		c.kafkaSec = sec
		if c.kafka.InsecureSkipVerify && log != nil {
			log.Warn("Kafka TLS certificate verification is OFF (--kafka-tls-insecure-skip-verify): anyone on the path can read the credentials and the data")
		}
		if sec.SASL != nil && sec.TLS == nil && strings.EqualFold(c.kafka.SASLMechanism, secure.SASLPlain) && log != nil {
			log.Warn("SASL PLAIN without TLS sends the Kafka password in clear text; add --kafka-tls")
		}
	}
	return nil
}

// resolveConnect builds the Kafka Connect client security when the command
// has --connect-url and it is set.
func (c *connOptions) resolveConnect(log *slog.Logger) error {
	if c.connectURL == nil || *c.connectURL == "" {
		return nil
	}
	if c.connectPasswordFile != "" {
		pw, err := secure.ReadSecretFile("connect-password-file", c.connectPasswordFile)
		if err != nil {
			return exitcode.UsageError(err)
		}
		c.connect.Password = pw
	}
	sec, err := c.connect.Build(*c.connectURL, "connect")
	if err != nil {
		return exitcode.UsageError(err)
	}
	c.connectSec = sec
	if log == nil {
		return nil
	}
	if c.connect.InsecureSkipVerify {
		log.Warn("Kafka Connect TLS certificate verification is OFF (--connect-tls-insecure-skip-verify): anyone on the path can read the credentials and the connectors' configuration")
	}
	if sec.Username != "" && !strings.HasPrefix(strings.ToLower(*c.connectURL), "https://") {
		log.Warn("HTTP basic authentication without TLS sends the Kafka Connect password in clear text; use an https --connect-url")
	}
	return nil
}

// kafkaDialer is the Dialer of the consumer group (TLS and SASL included).
func (c *connOptions) kafkaDialer(timeout time.Duration) *kafka.Dialer {
	return c.kafkaSec.Dialer(timeout, "sluice")
}

// kafkaTransport carries Client and Writer requests (TLS and SASL included).
func (c *connOptions) kafkaTransport(timeout time.Duration) *kafka.Transport {
	return c.kafkaSec.Transport(timeout, "sluice")
}

// pgConnect opens one PostgreSQL connection; a failure names the server and
// the cause and exits 4.
func pgConnect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in parse errors, but print only our form.
		return nil, exitcode.UsageError(fmt.Errorf("--pg-dsn %s: cannot parse", secure.RedactDSN(dsn)))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, secure.Unavailable("PostgreSQL", fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), err)
	}
	return conn, nil
}
