package health

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

func newKafkaClient(cfg Config) (*kafka.Client, func()) {
	tr := cfg.Kafka.Transport(cfg.Timeout, "sluice-check")
	return &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: cfg.Timeout, Transport: tr}, tr.CloseIdleConnections
}

// kafkaTopics reads the cluster's topics and their partition counts.
func kafkaTopics(ctx context.Context, cfg Config) (map[string]int, int, error) {
	client, release := newKafkaClient(cfg)
	defer release()
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, 0, fmt.Errorf("kafka: metadata from %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	out := make(map[string]int, len(md.Topics))
	for _, t := range md.Topics {
		if t.Error == nil {
			out[t.Name] = len(t.Partitions)
		}
	}
	return out, len(md.Brokers), nil
}

// checkKafka checks the brokers, the topics and the group's offsets. It
// returns the configured topics that exist (all configured topics when
// Kafka is unreachable, so the ClickHouse tables can still be checked).
func checkKafka(ctx context.Context, cfg Config) ([]string, []Item) {
	if len(cfg.Brokers) == 0 {
		return cfg.Topics, []Item{item(Kafka, "reachable", "", Skip, "no Kafka brokers given (--kafka-brokers)", "")}
	}
	topics, brokers, err := kafkaTopics(ctx, cfg)
	if err != nil {
		return cfg.Topics, []Item{withCause(item(Kafka, "reachable", "", Fail, err.Error(),
			"check --kafka-brokers (host:port of the PLAINTEXT listener, as advertised.listeners says); is Kafka running?"), err)}
	}
	items := []Item{item(Kafka, "reachable", "", OK, fmt.Sprintf("%s, %s", plural(brokers, "broker"), plural(len(topics), "topic")), "")}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	found := cfg.selectTopics(names)
	items = append(items, topicItems(cfg, topics, found)...)
	return found, append(items, groupItem(ctx, cfg, found))
}

func topicItems(cfg Config, topics map[string]int, found []string) []Item {
	if len(cfg.Topics) == 0 && cfg.TopicPattern == nil {
		return []Item{item(Kafka, "topic", "", Skip, "no topics given (--topics, --topic-pattern, or --connector to discover them)", "")}
	}
	var items []Item
	for _, t := range cfg.Topics {
		if _, ok := topics[t]; !ok {
			items = append(items, item(Kafka, "topic", t, Fail, fmt.Sprintf("topic %q does not exist", t),
				"Debezium creates it on the table's first change: check the connector is running and the table is in table.include.list and the publication"))
		}
	}
	if cfg.TopicPattern != nil && len(found) == 0 {
		items = append(items, item(Kafka, "topic", cfg.TopicPattern.String(), Fail, "no topic matches the pattern",
			"check --topic-pattern against the connector's topic.prefix, and that the connector is running"))
	}
	for _, t := range found {
		items = append(items, item(Kafka, "topic", t, OK, plural(topics[t], "partition"), ""))
	}
	return items
}

// groupItem reads the group's committed offsets without joining it.
func groupItem(ctx context.Context, cfg Config, topics []string) Item {
	if cfg.Group == "" {
		return item(Kafka, "group", "", Skip, "no consumer group given (--group)", "")
	}
	if len(topics) == 0 {
		return item(Kafka, "group", cfg.Group, Skip, "no topic to read offsets on", "")
	}
	plan, err := kafkasrc.Plan(ctx, kafkasrc.Config{Brokers: cfg.Brokers, GroupID: cfg.Group, Topics: topics, Timeout: cfg.Timeout,
		Dialer: cfg.Kafka.Dialer(cfg.Timeout, "sluice-check")})
	if err != nil {
		return withCause(item(Kafka, "group", cfg.Group, Fail, err.Error(), "check the broker's log and the group's ACLs"), err)
	}
	committed := 0
	var lost []string
	for _, p := range plan.Partitions {
		if p.Committed >= 0 {
			committed++
		}
		if p.Committed >= 0 && p.Committed < p.LogStart {
			lost = append(lost, fmt.Sprintf("%s/%d (committed %d, log start %d)", p.Topic, p.Partition, p.Committed, p.LogStart))
		}
	}
	msg := fmt.Sprintf("committed on %d of %s, lag %d messages", committed, plural(len(plan.Partitions), "partition"), plan.Lag())
	switch {
	case len(lost) > 0:
		return item(Kafka, "group", cfg.Group, Fail, "retention deleted records the group never read: "+strings.Join(lost, ", "),
			"those changes are lost to ClickHouse: re-snapshot the tables (sluice snapshot), and raise the topics' retention.ms")
	case committed == 0:
		return item(Kafka, "group", cfg.Group, Warn, msg+": the group has never committed, the first replicate reads from the log start",
			"expected before the first sluice replicate; otherwise check --group matches the replicate job")
	}
	return item(Kafka, "group", cfg.Group, OK, msg, "")
}
