package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/segmentio/kafka-go"
	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/replicate"
)

// replicateMemoryLimit is the Go runtime's soft memory limit for replicate
// (unless GOMEMLIMIT is set). At the default bounds (4 MB batches, 3
// queued, 32 MB windows) the window being built, the window being written,
// the batches in hand and the reader's message slabs hold about 200 MB
// live (--memprofile shows where); the limit keeps the heap's garbage from
// pushing RSS past 300 MB (the benchmark peaks at 267-273 MB). A live heap
// near the limit makes the GC run nearly continuously, and windows are what
// the live heap is made of: 32 MB windows under a 200 MB limit took 19.9 s
// of CPU instead of 9.9 s. Memory savings are CPU savings here.
const replicateMemoryLimit = 250 << 20

// replicateOptions are the flags of sluice replicate.
type replicateOptions struct {
	brokers         cli.StringSlice
	group           string
	topics          cli.StringSlice
	topicPattern    string
	chURL, pgDSN    string
	tableMap        cli.StringSlice
	partitions      cli.StringSlice
	maxMessages     int64
	maxDuration     time.Duration
	batchMessages   int
	batchBytes      int
	lookahead       int
	flushRows       int
	flushBytes      int
	flushInterval   time.Duration
	maxDeadLetters  int
	deadLetterTopic string
	output          string
	follow          bool
	metricsPushURL  string
	retryTimeout    time.Duration
	cpuProfile      string
	memProfile      string
	policy          policyOptions
	conn            connOptions
}

func (o *replicateOptions) flags() []cli.Flag {
	env := func(n string) []string { return []string{"SLUICE_" + n} }
	flags := []cli.Flag{
		kafkaFlag(&o.brokers),
		&cli.StringFlag{Name: "group", EnvVars: env("GROUP"), Usage: "Kafka consumer group id of this job (required)", Destination: &o.group},
		&cli.StringSliceFlag{Name: "topics", EnvVars: env("TOPICS"), Usage: "topics to read, comma separated", Destination: &o.topics},
		&cli.StringFlag{Name: "topic-pattern", EnvVars: env("TOPIC_PATTERN"), Usage: `regular expression selecting topics, e.g. '^cdc\.ecommerce\..*'`, Destination: &o.topicPattern},
		clickhouseFlag(&o.chURL),
		postgresFlag(&o.pgDSN),
		&cli.StringSliceFlag{Name: "table-map", EnvVars: env("TABLE_MAP"), Usage: "TOPIC=TABLE overrides (default: the topic's last part)", Destination: &o.tableMap},
		&cli.StringSliceFlag{Name: "partition", EnvVars: env("PARTITION"), Usage: "TABLE=COLUMN monthly partition column for created tables (as in sluice ddl)", Destination: &o.partitions},
		&cli.Int64Flag{Name: "max-messages", EnvVars: env("MAX_MESSAGES"), Usage: "stop after about this many messages (0: no bound)", Destination: &o.maxMessages},
		&cli.DurationFlag{Name: "max-duration", EnvVars: env("MAX_DURATION"), Usage: "stop reading after this long (0: no bound)", Destination: &o.maxDuration},
		&cli.IntFlag{Name: "batch-messages", Value: replicate.DefaultBatchMessages, EnvVars: env("BATCH_MESSAGES"), Usage: "messages per Kafka read batch (bounds the raw messages in memory)", Destination: &o.batchMessages},
		&cli.IntFlag{Name: "batch-bytes", Value: replicate.DefaultBatchBytes, EnvVars: env("BATCH_BYTES"), Usage: "message bytes per batch (bounds memory)", Destination: &o.batchBytes},
		&cli.IntFlag{Name: "lookahead-batches", Value: replicate.DefaultLookahead, EnvVars: env("LOOKAHEAD_BATCHES"), Usage: "batches decoded ahead while the ClickHouse lookups of their deletes and TOAST updates run (each holds up to --batch-bytes)", Destination: &o.lookahead},
		&cli.IntFlag{Name: "flush-rows", Value: replicate.DefaultFlushRows, EnvVars: env("FLUSH_ROWS"), Usage: "write and commit once the batches read hold this many rows (one insert per table)", Destination: &o.flushRows},
		&cli.IntFlag{Name: "flush-bytes", Value: replicate.DefaultFlushBytes, EnvVars: env("FLUSH_BYTES"), Usage: "write and commit once the pending rows hold about this many bytes (bounds memory)", Destination: &o.flushBytes},
		&cli.DurationFlag{Name: "flush-interval", Value: replicate.DefaultFlushInterval, EnvVars: env("FLUSH_INTERVAL"), Usage: "write and commit at least this often", Destination: &o.flushInterval},
		&cli.IntFlag{Name: "max-dead-letters", Value: replicate.DefaultMaxDeadLetters, EnvVars: env("MAX_DEAD_LETTERS"), Usage: "stop when a run produced more dead letters than this (0: stop at the first; -1: no limit)", Destination: &o.maxDeadLetters},
		&cli.StringFlag{Name: "dead-letter-topic", EnvVars: env("DEAD_LETTER_TOPIC"), Usage: "also send dead letters to this Kafka topic", Destination: &o.deadLetterTopic},
		&cli.StringFlag{Name: "output", Value: "text", EnvVars: env("OUTPUT"), Usage: "run report on stdout: text or json", Destination: &o.output},
		&cli.BoolFlag{Name: "follow", EnvVars: env("FOLLOW"), Usage: "keep replicating until SIGTERM", Destination: &o.follow},
		&cli.StringFlag{Name: "metrics-push-url", EnvVars: env("METRICS_PUSH_URL"), Usage: "push the run's metrics to this Prometheus Pushgateway", Destination: &o.metricsPushURL},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write a Go CPU profile of the run to this file (go tool pprof)", Destination: &o.cpuProfile},
		&cli.StringFlag{Name: "memprofile", Usage: "write a Go heap profile taken at the run's largest live heap to this file (go tool pprof)", Destination: &o.memProfile},
		&cli.DurationFlag{Name: "retry-timeout", Value: replicate.DefaultRetryTimeout, EnvVars: env("RETRY_TIMEOUT"), Usage: "give up retrying a ClickHouse write after this long", Destination: &o.retryTimeout},
	}
	flags = append(flags, o.conn.flags(&o.pgDSN, &o.chURL, true)...)
	return append(flags, o.policy.flags()...)
}

func newReplicateCommand(g *globalOptions) *cli.Command {
	o := &replicateOptions{}
	return &cli.Command{
		Name:  "replicate",
		Usage: "replicate Debezium change topics into ClickHouse (bounded run, or --follow)",
		Description: "Exit codes: 0 drained or bound reached (also idle), 3 finished with dead letters, " +
			"1 failed (nothing committed past the last durable write), 2 usage error, 4 a server unreachable, 130 interrupted.",
		Flags: o.flags(),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return exitcode.UsageError(fmt.Errorf("replicate takes no arguments, got %q", c.Args().First()))
			}
			return runReplicate(c.Context, g, o)
		},
	}
}

// config validates the flags and builds the library configuration (without
// the connections).
func (o *replicateOptions) config() (replicate.Config, error) {
	var cfg replicate.Config
	if o.group == "" {
		return cfg, exitcode.UsageError(errors.New("--group (or SLUICE_GROUP) is required"))
	}
	if len(o.topics.Value()) == 0 && o.topicPattern == "" {
		return cfg, exitcode.UsageError(errors.New("give --topics or --topic-pattern"))
	}
	if o.output != "text" && o.output != "json" {
		return cfg, exitcode.UsageError(fmt.Errorf("--output %q: want text or json", o.output))
	}
	pol, err := o.policy.policies()
	if err != nil {
		return cfg, err
	}
	cfg.DDL = ddl.DefaultOptions()
	cfg.DDL.Policies = pol
	if cfg.DDL.Partition, err = keyValues("partition", o.partitions.Value()); err != nil {
		return cfg, err
	}
	if cfg.TableMap, err = keyValues("table-map", o.tableMap.Value()); err != nil {
		return cfg, err
	}
	src := kafkasrc.Config{Brokers: splitList(o.brokers.Value()), GroupID: o.group, Topics: splitList(o.topics.Value())}
	if o.topicPattern != "" {
		if src.TopicPattern, err = regexp.Compile(o.topicPattern); err != nil {
			return cfg, exitcode.UsageError(fmt.Errorf("--topic-pattern: %w", err))
		}
	}
	cfg.Source = src
	cfg.MaxMessages, cfg.MaxDuration = o.maxMessages, o.maxDuration
	cfg.BatchMessages, cfg.BatchBytes = o.batchMessages, o.batchBytes
	cfg.LookaheadBatches = o.lookahead
	cfg.FlushRows, cfg.FlushBytes, cfg.FlushInterval = o.flushRows, o.flushBytes, o.flushInterval
	cfg.MaxDeadLetters, cfg.Follow, cfg.RetryTimeout = o.maxDeadLetters, o.follow, o.retryTimeout
	cfg.RunID = newRunID()
	return cfg, nil
}

// splitList accepts both repeated flags and comma-separated values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func runReplicate(ctx context.Context, g *globalOptions, o *replicateOptions) error {
	if err := o.conn.resolve(g.log); err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	cfg.Source.Dialer = o.conn.kafkaDialer(kafkasrc.DefaultTimeout)
	cfg.Logger = g.log.With("command", "replicate")
	target, err := chconn.ParseURL(o.chURL)
	if err != nil {
		return exitcode.UsageError(err)
	}
	conn, err := native.Open(ctx, o.chURL)
	if err != nil {
		return exitcode.UnavailableError(fmt.Errorf("replicate: %w", err))
	}
	defer conn.Close()
	cfg.CH, cfg.DDL.Database = conn, target.Database
	if o.pgDSN != "" {
		pg, err := pgConnect(ctx, o.pgDSN)
		if err != nil {
			return fmt.Errorf("replicate: %w", err)
		}
		defer pg.Close(context.WithoutCancel(ctx))
		cfg.Catalog = replicateCatalog{pg}
	}
	if o.deadLetterTopic != "" {
		w := &kafka.Writer{Addr: kafka.TCP(cfg.Source.Brokers...), Topic: o.deadLetterTopic, RequiredAcks: kafka.RequireAll,
			Transport: o.conn.kafkaTransport(kafkasrc.DefaultTimeout), AllowAutoTopicCreation: true, BatchTimeout: 10 * time.Millisecond}
		defer w.Close()
		cfg.DeadLetters = replicateDeadLetterTopic{w}
	}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if o.memProfile != "" {
		stop := peakHeapProfile(o.memProfile, g.log)
		defer stop()
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit makes the GC work harder before the heap doubles
		// past it (GOGC alone lets a 150 MB live heap reach 300 MB).
		debug.SetMemoryLimit(replicateMemoryLimit)
	}
	rep, runErr := replicate.Run(ctx, cfg)
	if err := printReplicateReport(g, o.output, rep); err != nil && runErr == nil {
		runErr = err
	}
	if o.metricsPushURL != "" {
		if err := pushReplicateMetrics(context.WithoutCancel(ctx), o.metricsPushURL, rep); err != nil {
			g.log.Warn("pushing metrics failed", "url", o.metricsPushURL, "err", err)
		}
	}
	if runErr != nil {
		return runErr
	}
	if rep.DeadLetters > 0 {
		return exitcode.With(exitcode.Findings, fmt.Errorf("replicate: finished with %d dead letters (see %s)", rep.DeadLetters, replicate.DeadLetterTable))
	}
	return nil
}

func printReplicateReport(g *globalOptions, output string, rep *replicate.Report) error {
	if output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(g.stdout)
}

// replicateCatalog reads source tables with ddl.ReadCatalog.
type replicateCatalog struct{ pg *pgx.Conn }

func (c replicateCatalog) Tables(ctx context.Context, schema string, names []string) ([]ddl.Table, error) {
	return ddl.ReadCatalog(ctx, c.pg, schema, names)
}

// replicateDeadLetterTopic writes dead letters to a Kafka topic: the raw key and
// value, with position and reason in headers.
type replicateDeadLetterTopic struct{ w *kafka.Writer }

func (k replicateDeadLetterTopic) Write(ctx context.Context, dls []replicate.DeadLetter) error {
	msgs := make([]kafka.Message, len(dls))
	for i, d := range dls {
		msgs[i] = kafka.Message{Key: d.Key, Value: d.Value, Headers: []kafka.Header{
			{Key: "sluice.run_id", Value: []byte(d.RunID)},
			{Key: "sluice.topic", Value: []byte(d.Topic)},
			{Key: "sluice.partition", Value: []byte(fmt.Sprint(d.Partition))},
			{Key: "sluice.offset", Value: []byte(fmt.Sprint(d.Offset))},
			{Key: "sluice.reason", Value: []byte(d.Reason)},
			{Key: "sluice.error", Value: []byte(d.Error)},
		}}
	}
	return k.w.WriteMessages(ctx, msgs...)
}

// pushMetrics sends the run's totals to a Prometheus Pushgateway (job
// sluice_replicate, grouped by consumer group).
func pushReplicateMetrics(ctx context.Context, url string, rep *replicate.Report) error {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_replicate_" + name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	gauge("messages", "messages read and committed by the run", float64(rep.Messages))
	gauge("bytes", "message bytes read by the run", float64(rep.Bytes))
	gauge("rows_written", "rows written to ClickHouse", float64(rep.RowsWritten))
	gauge("dead_letters", "dead letters produced", float64(rep.DeadLetters))
	gauge("lag_left", "offsets left on the partitions this run held", float64(rep.LagLeft))
	gauge("duration_seconds", "run duration", rep.Duration)
	ok := 0.0
	if rep.Status != replicate.StatusFailed {
		ok = 1
	}
	gauge("success", "1 when the run did not fail", ok)
	gauge("last_run_timestamp_seconds", "end of the run", float64(rep.Finished.Unix()))
	rows := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_replicate_table_rows", Help: "rows written per table and operation"}, []string{"table", "op"})
	for _, t := range rep.Tables {
		rows.WithLabelValues(t.Table, "insert").Set(float64(t.Inserted))
		rows.WithLabelValues(t.Table, "update").Set(float64(t.Updated))
		rows.WithLabelValues(t.Table, "delete").Set(float64(t.Deleted))
		rows.WithLabelValues(t.Table, "snapshot").Set(float64(t.Snapshot))
	}
	reg.MustRegister(rows)
	return push.New(url, "sluice_replicate").Grouping("group", rep.Group).Gatherer(reg).PushContext(ctx)
}

// peakHeapProfile writes a heap profile to path every time the live heap
// (as of the last GC, sampled every second) is the largest seen so far:
// where the memory goes at the run's peak, not at its end. stop ends it.
func peakHeapProfile(path string, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			live := sample[0].Value.Uint64()
			if live <= peak {
				continue
			}
			peak = live
			f, err := os.Create(path)
			if err != nil {
				log.Warn("--memprofile", "err", err)
				return
			}
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				log.Warn("--memprofile", "err", err)
			}
			f.Close()
		}
	}()
	return func() { close(done); <-finished }
}
