// Package kafkasrc reads Debezium change events from Kafka in bounded runs.
//
// It follows design B of shared/docs/kafka-drain.md, the one measured safe
// when two scheduled runs overlap:
//
//  1. Plan reads metadata, the group's committed offsets and each partition's
//     log start and high watermark without joining the group. The high
//     watermark seen now is the run's target; a plan with no lag lets the
//     caller exit at once.
//  2. Open joins the consumer group; the generation is used only as a
//     "generation lost" signal, never to run the work.
//  3. ReadBatch fetches the assigned partitions with Client.Fetch from the
//     committed offset up to the target, and returns io.EOF at the target.
//  4. The caller writes the batch durably, then Commit commits it with the
//     generation that read it. A failed commit or a lost generation is an
//     ErrGenerationLost: the caller stops and the next run re-reads.
package kafkasrc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"time"

	"github.com/segmentio/kafka-go"
)

// Defaults. Short group timeouts matter for scheduled runs: a member that
// crashed keeps its partitions until SessionTimeout passes, and the next run
// waits that long for the group to settle.
const (
	DefaultMaxBatchMessages  = 5000
	DefaultMaxBatchBytes     = 16 << 20
	DefaultSessionTimeout    = 6 * time.Second
	DefaultRebalanceTimeout  = 10 * time.Second
	DefaultHeartbeatInterval = 1 * time.Second
	DefaultTimeout           = 5 * time.Second

	// fetchMaxBytes bounds one Fetch response per partition. The broker
	// still returns a whole record batch when a single batch is larger.
	fetchMaxBytes = 4 << 20
)

// Config describes where to read and how large one batch may be.
type Config struct {
	// Brokers are the bootstrap addresses, host:port.
	Brokers []string
	// GroupID is the consumer group whose committed offsets mark progress.
	GroupID string

	// Topics lists topics by name; TopicPattern selects topics from the
	// cluster metadata when the plan is made (e.g. ^cdc\.shop\..*\.orders$).
	// Both may be set; the union is read. Topics whose names start with "__"
	// (Kafka internals, Debezium heartbeats) match a pattern only when they
	// are also listed in Topics.
	Topics       []string
	TopicPattern *regexp.Regexp

	// MaxBatchMessages and MaxBatchBytes bound one ReadBatch. A batch always
	// holds at least one message, even one larger than MaxBatchBytes.
	MaxBatchMessages int
	MaxBatchBytes    int

	// Consumer group timings; zero means the short defaults above.
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
	// Timeout bounds each request to a broker (dial, metadata, offsets,
	// coordinator calls).
	Timeout time.Duration

	// Dialer opens the consumer group's coordinator connections. TLS and
	// SASL go here (Dialer.TLS, Dialer.SASLMechanism); the data client's
	// transport is derived from it unless Transport is set. Nil: a plain
	// TCP dialer with Timeout.
	Dialer *kafka.Dialer
	// Transport, when set, carries the data client's requests (Metadata,
	// OffsetFetch, ListOffsets, Fetch). The caller owns it.
	Transport kafka.RoundTripper

	Logger *slog.Logger
}

// withDefaults returns a copy of c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.MaxBatchMessages <= 0 {
		c.MaxBatchMessages = DefaultMaxBatchMessages
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.RebalanceTimeout <= 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Dialer == nil {
		c.Dialer = &kafka.Dialer{Timeout: c.Timeout, DualStack: true, ClientID: "sluice"}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate reports configuration mistakes before any network call.
func (c Config) validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka source: no brokers configured")
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka source: broker %q: %w", b, err)
		}
	}
	if c.GroupID == "" {
		return errors.New("kafka source: no consumer group id configured")
	}
	if len(c.Topics) == 0 && c.TopicPattern == nil {
		return errors.New("kafka source: neither topics nor a topic pattern configured")
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		return fmt.Errorf("kafka source: heartbeat interval %s must be shorter than session timeout %s",
			c.HeartbeatInterval, c.SessionTimeout)
	}
	return nil
}

// dataClient is the kafka.Client for metadata, offsets and fetches, plus a
// function that releases its connections.
type dataClient struct {
	*kafka.Client
	release func()
}

// newDataClient builds a client whose transport shares the Dialer's TLS,
// SASL and client id, so securing the Dialer secures both paths.
func newDataClient(c Config) dataClient {
	if c.Transport != nil {
		client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Timeout: c.Timeout, Transport: c.Transport}
		return dataClient{Client: client, release: func() {}}
	}
	tr := &kafka.Transport{
		DialTimeout: c.Timeout,
		ClientID:    c.Dialer.ClientID,
		TLS:         c.Dialer.TLS,
		SASL:        c.Dialer.SASLMechanism,
	}
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Timeout: c.Timeout, Transport: tr}
	return dataClient{Client: client, release: tr.CloseIdleConnections}
}
