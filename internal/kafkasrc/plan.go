package kafkasrc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/sethvargo/go-retry"

	"github.com/sluice-cdc/sluice/internal/secure"
)

// DrainPlan is step 1 of a run: where the group stands on every partition
// and how far this run will read. It is made without joining the group, so
// an idle run costs a few round trips. A --follow loop calls Plan again
// after each drain to take a fresh target.
type DrainPlan struct {
	GroupID    string
	Partitions []PartitionPlan // sorted by topic, then partition
	At         time.Time       // when the watermarks were read
	Took       time.Duration
}

// PartitionPlan is one partition's position at plan time.
type PartitionPlan struct {
	Topic     string
	Partition int
	// Committed is the group's committed offset, -1 when none.
	Committed int64
	// LogStart is the first offset still in the log.
	LogStart int64
	// Start is where reading begins: Committed, or LogStart when nothing
	// was committed or retention already deleted the committed offset.
	Start int64
	// Target is the high watermark at plan time; the run reads [Start, Target).
	Target int64
	// Lag is Target - Start, never negative.
	Lag int64
}

// Lag is the number of offsets this run would read over all partitions.
// Zero means the caller can exit without joining the group.
func (p *DrainPlan) Lag() int64 {
	var n int64
	for _, pp := range p.Partitions {
		n += pp.Lag
	}
	return n
}

// Topics lists the planned topics, sorted.
func (p *DrainPlan) Topics() []string {
	var out []string
	for _, pp := range p.Partitions {
		if len(out) == 0 || out[len(out)-1] != pp.Topic {
			out = append(out, pp.Topic)
		}
	}
	return out
}

// Partition returns the plan of one partition.
func (p *DrainPlan) Partition(topic string, partition int) (PartitionPlan, bool) {
	for _, pp := range p.Partitions {
		if pp.Topic == topic && pp.Partition == partition {
			return pp, true
		}
	}
	return PartitionPlan{}, false
}

// Plan reads metadata, the group's committed offsets (OffsetFetch) and the
// first and last offset of every partition (ListOffsets). It never joins the
// group, so it is safe to call while another run holds it.
//
// A retriable Kafka error code (a partition without a leader during an
// election, a coordinator loading: kafka.Error.Temporary) repeats the
// whole plan, with a fresh client and so fresh metadata, with backoff for
// up to planRetryTimeout; anything else (an unreachable broker, a refused
// authorization) fails at once.
func Plan(ctx context.Context, cfg Config) (*DrainPlan, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var plan *DrainPlan
	b := retry.WithMaxDuration(planRetryTimeout, retry.WithCappedDuration(2*time.Second, retry.NewExponential(100*time.Millisecond)))
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		p, err := planOnce(ctx, cfg)
		if err != nil && retriableCode(err) {
			cfg.Logger.Warn("kafka plan: retrying after a retriable error", "err", err)
			return retry.RetryableError(err)
		}
		plan = p
		return err
	})
	return plan, err
}

// planRetryTimeout bounds Plan's retries of retriable Kafka errors: a
// leader election or a coordinator load takes seconds.
const planRetryTimeout = 20 * time.Second

// retriableCode tells a Kafka error code the broker marks retriable, but
// an unknown topic: a listed topic that does not exist is most often a
// typo, reported at once (selectTopics).
func retriableCode(err error) bool {
	var kerr kafka.Error
	return errors.As(err, &kerr) && kerr.Temporary() && kerr != kafka.UnknownTopicOrPartition
}

func planOnce(ctx context.Context, cfg Config) (*DrainPlan, error) {
	begin := time.Now()
	client := newDataClient(cfg)
	defer client.release()

	parts, err := resolveTopics(ctx, client.Client, cfg)
	if err != nil {
		return nil, err
	}
	plan := &DrainPlan{GroupID: cfg.GroupID, At: time.Now()}
	if len(parts) == 0 {
		cfg.Logger.Warn("no topic matches the configuration", "topics", cfg.Topics, "pattern", patternString(cfg.TopicPattern))
		plan.Took = time.Since(begin)
		return plan, nil
	}
	committed, err := fetchCommitted(ctx, client.Client, cfg.GroupID, parts)
	if err != nil {
		return nil, err
	}
	bounds, err := listBounds(ctx, client.Client, parts)
	if err != nil {
		return nil, err
	}
	plan.At = time.Now()
	plan.Partitions = buildPlan(parts, committed, bounds)
	for _, pp := range plan.Partitions {
		if pp.Committed >= 0 && pp.Committed < pp.LogStart {
			cfg.Logger.Warn("committed offset no longer in the log (retention): the records in between are lost",
				"group", cfg.GroupID, "topic", pp.Topic, "partition", pp.Partition,
				"committed", pp.Committed, "log_start", pp.LogStart)
		}
	}
	plan.Took = time.Since(begin)
	cfg.Logger.Debug("kafka plan", "group", cfg.GroupID, "partitions", len(plan.Partitions),
		"lag", plan.Lag(), "took", plan.Took)
	return plan, nil
}

func patternString(re *regexp.Regexp) string {
	if re == nil {
		return ""
	}
	return re.String()
}

// topicPartition names one partition.
type topicPartition struct {
	Topic     string
	Partition int
}

func (tp topicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

// bounds is a partition's log start and high watermark.
type bounds struct{ first, last int64 }

// resolveTopics turns the configured list and pattern into partitions.
func resolveTopics(ctx context.Context, client *kafka.Client, cfg Config) (map[string][]int, error) {
	req := &kafka.MetadataRequest{}
	if cfg.TopicPattern == nil {
		req.Topics = cfg.Topics // ask only for what is listed
	}
	md, err := client.Metadata(ctx, req)
	if err != nil {
		// The first request of a run: a refused connection, a failed TLS
		// handshake or SASL authentication shows here, named and marked
		// with exit code 4.
		return nil, secure.Unavailable("Kafka", strings.Join(cfg.Brokers, ","), fmt.Errorf("kafka metadata from broker %s: %w", strings.Join(cfg.Brokers, ","), err))
	}
	return selectTopics(md.Topics, cfg.Topics, cfg.TopicPattern)
}

// selectTopics picks the listed topics (each must exist) and the topics the
// pattern matches, leaving out internal ones unless listed.
func selectTopics(topics []kafka.Topic, listed []string, pattern *regexp.Regexp) (map[string][]int, error) {
	byName := make(map[string]kafka.Topic, len(topics))
	for _, t := range topics {
		byName[t.Name] = t
	}
	out := map[string][]int{}
	for _, name := range listed {
		t, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("kafka topic %q: %w", name, kafka.UnknownTopicOrPartition)
		}
		if err := addTopic(out, t); err != nil {
			return nil, err
		}
	}
	if pattern == nil {
		return out, nil
	}
	for _, t := range topics {
		if _, done := out[t.Name]; done || t.Internal || strings.HasPrefix(t.Name, "__") {
			continue
		}
		if !pattern.MatchString(t.Name) {
			continue
		}
		if err := addTopic(out, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func addTopic(out map[string][]int, t kafka.Topic) error {
	if t.Error != nil {
		return fmt.Errorf("kafka topic %q: %w", t.Name, t.Error)
	}
	ids := make([]int, 0, len(t.Partitions))
	for _, p := range t.Partitions {
		if p.Error != nil && !errors.Is(p.Error, kafka.ReplicaNotAvailable) {
			return fmt.Errorf("kafka topic %q partition %d: %w", t.Name, p.ID, p.Error)
		}
		ids = append(ids, p.ID)
	}
	sort.Ints(ids)
	out[t.Name] = ids
	return nil
}

// fetchCommitted reads the group's committed offsets; -1 means none.
func fetchCommitted(ctx context.Context, client *kafka.Client, group string, parts map[string][]int) (map[topicPartition]int64, error) {
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: parts})
	if err != nil {
		return nil, fmt.Errorf("kafka committed offsets of group %q: %w", group, err)
	}
	out := make(map[topicPartition]int64)
	for topic, ids := range parts {
		for _, id := range ids {
			out[topicPartition{topic, id}] = -1
		}
	}
	// A group that never committed: real Kafka answers -1 per partition,
	// kfake answers GROUP_ID_NOT_FOUND. Both mean "nothing committed".
	if res.Error != nil {
		if errors.Is(res.Error, kafka.GroupIdNotFound) {
			return out, nil
		}
		return nil, fmt.Errorf("kafka committed offsets of group %q: %w", group, res.Error)
	}
	for topic, ps := range res.Topics {
		for _, p := range ps {
			// Errors come per partition inside the response, not in err.
			if p.Error != nil {
				return nil, fmt.Errorf("kafka committed offset of group %q on %s/%d: %w", group, topic, p.Partition, p.Error)
			}
			out[topicPartition{topic, p.Partition}] = p.CommittedOffset
		}
	}
	return out, nil
}

// listBounds reads the log start and the high watermark of every partition.
func listBounds(ctx context.Context, client *kafka.Client, parts map[string][]int) (map[topicPartition]bounds, error) {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for topic, ids := range parts {
		for _, id := range ids {
			req.Topics[topic] = append(req.Topics[topic], kafka.FirstOffsetOf(id), kafka.LastOffsetOf(id))
		}
	}
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("kafka list offsets: %w", err)
	}
	out := make(map[topicPartition]bounds)
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("kafka list offsets of %s/%d: %w", topic, p.Partition, p.Error)
			}
			out[topicPartition{topic, p.Partition}] = bounds{first: p.FirstOffset, last: p.LastOffset}
		}
	}
	for topic, ids := range parts {
		for _, id := range ids {
			if _, ok := out[topicPartition{topic, id}]; !ok {
				return nil, fmt.Errorf("kafka list offsets: no answer for %s/%d", topic, id)
			}
		}
	}
	return out, nil
}

// buildPlan combines committed offsets and log bounds, sorted.
func buildPlan(parts map[string][]int, committed map[topicPartition]int64, bnd map[topicPartition]bounds) []PartitionPlan {
	var out []PartitionPlan
	for topic, ids := range parts {
		for _, id := range ids {
			tp := topicPartition{topic, id}
			out = append(out, planPartition(tp, committed[tp], bnd[tp]))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

func planPartition(tp topicPartition, committed int64, b bounds) PartitionPlan {
	start := committed
	if start < b.first {
		// Nothing committed (-1), or retention deleted what was committed.
		start = b.first
	}
	lag := b.last - start
	if lag < 0 {
		lag = 0
	}
	return PartitionPlan{
		Topic: tp.Topic, Partition: tp.Partition,
		Committed: committed, LogStart: b.first, Start: start, Target: b.last, Lag: lag,
	}
}
