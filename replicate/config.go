package replicate

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

// Defaults of the run bounds. Batches bound the bytes in flight: up to
// LookaheadBatches + 3 Kafka batches (one being decoded, the queued ones
// waiting for their lookups, one read ahead, one being read, plus
// kafkasrc's read-ahead of up to 4 MB) and two flush windows (one being
// built, one being written) are held at a time. FlushBytes counts the JSON
// bytes of the values appended, about what the compact column builders
// hold. A window is one insert per table, and every insert writes a part
// per touched partition: ClickHouse's work (parts, merges, lookups that
// open every part) falls with bigger windows. On the benchmark's 1M shop
// events (ClickHouse on tmpfs): 16 MB windows took 13.2-13.8 s, 32 MB
// windows 11.5-12.5 s at 267-274 MB RSS, and ClickHouse's own CPU 15 s vs
// 10 s. Earlier figures are in doc.go.
const (
	DefaultBatchMessages  = 10000
	DefaultBatchBytes     = 4 << 20
	DefaultLookahead      = 3
	DefaultFlushRows      = 150000
	DefaultFlushBytes     = 32 << 20
	DefaultFlushInterval  = 30 * time.Second
	DefaultMaxDeadLetters = 1000
	DefaultRetryTimeout   = 30 * time.Second
	DefaultFollowPoll     = 2 * time.Second
	DefaultShutdown       = 30 * time.Second
	DeadLetterTable       = "sluice_dead_letters"
)

// Catalog reads source tables from PostgreSQL (ddl.ReadCatalog); nil when
// the run has no --pg-dsn, in which case the ClickHouse tables must exist.
type Catalog interface {
	Tables(ctx context.Context, schema string, names []string) ([]ddl.Table, error)
}

// DeadLetterSink sends dead letters somewhere besides ClickHouse (a Kafka
// topic). Write must be durable when it returns.
type DeadLetterSink interface {
	Write(ctx context.Context, dls []DeadLetter) error
}

// Config is one replicate job.
type Config struct {
	// Source is where to read: brokers, group, topics or pattern. Its batch
	// bounds are set from BatchMessages and BatchBytes.
	Source kafkasrc.Config
	// CH is the target ClickHouse; tables live in its current database.
	CH chconn.Conn
	// Catalog, when set, creates and evolves tables through ddl.
	Catalog Catalog
	// DDL are the schema options (policies, partition columns), the same
	// as sluice ddl's.
	DDL ddl.Options
	// TableMap overrides topic → table (default: the topic's last part).
	TableMap map[string]string

	BatchMessages int
	BatchBytes    int
	// LookaheadBatches bounds the batches decoded and queued while the
	// ClickHouse lookups of their fills run (deletes and TOAST
	// placeholders need the stored row): a batch is filled and built as
	// soon as its lookups are done, or when more than this many are
	// queued. Each queued batch holds up to BatchBytes of messages.
	LookaheadBatches int
	// FlushRows, FlushBytes and FlushInterval bound the flush window: the
	// batches whose rows wait in the tables' blocks (typed values; the
	// Kafka messages are released after each batch) until they are written
	// and committed together. FlushBytes bounds the values' JSON size.
	FlushRows     int
	FlushBytes    int
	FlushInterval time.Duration
	// MaxMessages and MaxDuration bound the run; zero means no bound.
	MaxMessages int64
	MaxDuration time.Duration
	// MaxDeadLetters stops the run once more dead letters than this were
	// produced (0: the first one stops it); negative means no limit.
	MaxDeadLetters int
	// DeadLetters is an optional second dead-letter place (Kafka topic).
	DeadLetters DeadLetterSink

	// Follow keeps replicating: after a drain, plan again every FollowPoll.
	Follow     bool
	FollowPoll time.Duration

	// RetryTimeout bounds the retries of one write (transient errors only).
	RetryTimeout time.Duration
	// ShutdownTimeout bounds the write and commit of the batch in hand
	// after cancellation (SIGTERM).
	ShutdownTimeout time.Duration

	RunID  string
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.BatchMessages <= 0 {
		c.BatchMessages = DefaultBatchMessages
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.LookaheadBatches <= 0 {
		c.LookaheadBatches = DefaultLookahead
	}
	if c.FlushRows <= 0 {
		c.FlushRows = DefaultFlushRows
	}
	if c.FlushBytes <= 0 {
		c.FlushBytes = DefaultFlushBytes
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MaxMessages > 0 && c.MaxMessages < int64(c.BatchMessages) {
		c.BatchMessages = int(c.MaxMessages)
	}
	c.Source.MaxBatchMessages, c.Source.MaxBatchBytes = c.BatchMessages, c.BatchBytes
	if c.RetryTimeout <= 0 {
		c.RetryTimeout = DefaultRetryTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdown
	}
	if c.FollowPoll <= 0 {
		c.FollowPoll = DefaultFollowPoll
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Source.Logger = c.Logger
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DDL.Policies.Placeholder == "" {
		c.DDL = ddl.DefaultOptions()
	}
	return c
}
