package health

import (
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/secure"
)

// Config names the pipeline's parts. Empty fields are not checked, unless
// Resolve can discover them from the connector.
type Config struct {
	PostgresDSN string
	// Slot and Publication are the ones Debezium uses (slot.name and
	// publication.name of the connector).
	Slot, Publication string
	// MaxRetainedWAL: the slot's retained WAL above this many bytes is a
	// warning (0: never).
	MaxRetainedWAL int64

	Brokers []string
	// Group is the consumer group of sluice replicate.
	Group        string
	Topics       []string
	TopicPattern *regexp.Regexp
	// Kafka is the TLS and SASL of every Kafka connection (zero: plaintext).
	Kafka secure.KafkaSecurity

	ConnectURL string
	Connector  string
	// Connect is the TLS and basic authentication of the Kafka Connect
	// REST client (zero: Go's defaults, the URL's user info).
	Connect secure.HTTPSecurity

	ClickHouseURL string
	// DDL carries the type-contract policies and cluster layout the target
	// tables were created with (as given to sluice ddl and replicate).
	DDL ddl.Options
	// TableMap overrides the ClickHouse table of a topic (TOPIC=TABLE), as
	// in sluice replicate; the default is the topic's last part.
	TableMap map[string]string

	// Timeout bounds each server round trip.
	Timeout time.Duration
	Logger  *slog.Logger
}

// DefaultTimeout bounds one call to a server.
const DefaultTimeout = 5 * time.Second

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Endpoints returns the configured servers with passwords masked.
func (c Config) Endpoints() map[string]string {
	out := map[string]string{}
	if c.PostgresDSN != "" {
		out[Postgres] = RedactDSN(c.PostgresDSN)
	}
	if len(c.Brokers) > 0 {
		out[Kafka] = strings.Join(c.Brokers, ",")
	}
	if c.ConnectURL != "" {
		out[Connect] = RedactDSN(c.ConnectURL)
	}
	if c.ClickHouseURL != "" {
		out[ClickHouse] = RedactDSN(c.ClickHouseURL)
	}
	return out
}

// TableRef is one replicated table: its topic, the source schema and
// table, and the ClickHouse table it lands in.
type TableRef struct {
	Topic        string
	SourceSchema string
	SourceTable  string
	Table        string
}

// tableRef maps a topic the way sluice replicate does.
func (c Config) tableRef(topic string) TableRef {
	_, schema, tbl, ok := debezium.SplitTopic(topic)
	if !ok {
		schema, tbl = "public", topic
	}
	name := tbl
	if m := c.TableMap[topic]; m != "" {
		name = m
	}
	return TableRef{Topic: topic, SourceSchema: schema, SourceTable: tbl, Table: name}
}

// tableRefs maps topics to tables, sorted by table, skipping Debezium's
// heartbeat, transaction and message topics.
func (c Config) tableRefs(topics []string) []TableRef {
	var out []TableRef
	for _, t := range topics {
		if debezium.IsHeartbeatTopic(t) || debezium.IsTransactionTopic(t) || debezium.IsMessageTopic(t) {
			continue
		}
		out = append(out, c.tableRef(t))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Topic < out[j].Topic
	})
	return out
}

// selectTopics returns the configured topics present in the cluster's
// topic list plus those the pattern matches, sorted and unique.
func (c Config) selectTopics(existing []string) []string {
	set := map[string]bool{}
	have := map[string]bool{}
	for _, t := range existing {
		have[t] = true
	}
	for _, t := range c.Topics {
		if have[t] {
			set[t] = true
		}
	}
	if c.TopicPattern != nil {
		for _, t := range existing {
			if !strings.HasPrefix(t, "__") && c.TopicPattern.MatchString(t) {
				set[t] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (c Config) topicsDescription() string {
	var parts []string
	if len(c.Topics) > 0 {
		parts = append(parts, strings.Join(c.Topics, ","))
	}
	if c.TopicPattern != nil {
		parts = append(parts, "pattern "+c.TopicPattern.String())
	}
	if len(parts) == 0 {
		return "no topics"
	}
	return strings.Join(parts, " and ")
}

// discovered applies what the connector's configuration tells: slot,
// publication and, when no topics were given, the topics of its tables.
func (c *Config) discovered(cc connectorConfig) {
	if c.Slot == "" {
		c.Slot = cc.slot()
	}
	if c.Publication == "" {
		c.Publication = cc.publication()
	}
	if len(c.Topics) == 0 && c.TopicPattern == nil {
		c.Topics, c.TopicPattern = cc.topics()
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
