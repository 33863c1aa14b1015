package kafkasrc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go"
)

// Source reads one plan's worth of records as a member of the consumer
// group. It is used from one goroutine.
type Source struct {
	cfg    Config
	log    *slog.Logger
	plan   *DrainPlan
	client dataClient
	cg     *kafka.ConsumerGroup
	cur    *generation
	failed error // once set, every call returns it
	closed bool
	next   int // round-robin position in cur.parts
	stats  map[topicPartition]*PartitionReport
	gens   []int32
	// rejoins counts joins after a lost generation with uncommitted records.
	rejoins int
	copier  copier // message memory (slab.go)
}

// generation is this member's view of one consumer group generation.
type generation struct {
	gen   *kafka.Generation
	lost  chan struct{} // closed when kafka-go ends the generation
	parts []*partition  // assigned and planned, sorted
	byTP  map[topicPartition]*partition
}

// partition tracks reading of one assigned partition.
//
//	committed <= readNext <= fetchNext <= target
//
// pending holds fetched messages in [readNext, fetchNext) not yet handed out.
type partition struct {
	tp        topicPartition
	committed int64 // committed in this generation (the join-time offset at first)
	readNext  int64 // offset after the last message handed out
	handed    int64 // readNext when the last batch was handed out (what its Next covers)
	fetchNext int64 // offset of the next Fetch
	target    int64
	exhausted bool // nothing more to fetch below target
	pending   []Message
	fetched   []Message // pending's whole array, reused once pending is taken
}

func (p *partition) done() bool { return p.exhausted && len(p.pending) == 0 }

// Open joins the consumer group for the plan's topics and waits for the
// first generation. The generation's lifetime is watched only as a "lost"
// signal: the reading happens in ReadBatch.
func Open(ctx context.Context, cfg Config, plan *DrainPlan) (*Source, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if plan == nil || len(plan.Partitions) == 0 {
		return nil, errors.New("kafka source: the plan has no partitions to read")
	}
	cg, err := kafka.NewConsumerGroup(groupConfig(cfg, plan.Topics()))
	if err != nil {
		return nil, fmt.Errorf("kafka consumer group %q: %w", cfg.GroupID, err)
	}
	s := &Source{
		cfg: cfg, log: cfg.Logger.With("group", cfg.GroupID), plan: plan,
		client: newDataClient(cfg), cg: cg, stats: newStats(plan), copier: copier{pool: &slabPool{}},
	}
	if err := s.join(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func groupConfig(cfg Config, topics []string) kafka.ConsumerGroupConfig {
	log := cfg.Logger.With("group", cfg.GroupID, "component", "kafka-go")
	return kafka.ConsumerGroupConfig{
		ID:                cfg.GroupID,
		Brokers:           cfg.Brokers,
		Dialer:            cfg.Dialer,
		Topics:            topics,
		HeartbeatInterval: cfg.HeartbeatInterval,
		SessionTimeout:    cfg.SessionTimeout,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		JoinGroupBackoff:  cfg.Timeout,
		StartOffset:       kafka.FirstOffset,
		Timeout:           cfg.Timeout,
		Logger: kafka.LoggerFunc(func(msg string, args ...any) {
			log.Debug(fmt.Sprintf(msg, args...))
		}),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			log.Info(fmt.Sprintf(msg, args...))
		}),
	}
}

// join waits for the group's next generation and adopts its assignments.
func (s *Source) join(ctx context.Context) error {
	// JoinGroup may legitimately wait a rebalance timeout for the other
	// members; beyond that something is wrong.
	limit := s.cfg.RebalanceTimeout + s.cfg.SessionTimeout + 2*s.cfg.Timeout
	jctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		gen, err := s.cg.Next(jctx)
		if err == nil {
			s.adopt(gen)
			return nil
		}
		if !retriableJoin(err) || jctx.Err() != nil {
			return fmt.Errorf("kafka join group %q via broker %s: %w", s.cfg.GroupID, strings.Join(s.cfg.Brokers, ","), err)
		}
		// kafka-go keeps trying to join in the background (after a backoff
		// for errors other than a rebalance); wait for its next attempt.
		s.log.Info("kafka join group: retrying", "err", err)
	}
}

// retriableJoin tells errors that a later join attempt may not see: a
// rebalance started by another member, a coordinator moving or loading.
// Dial errors are not retried, so an unreachable broker fails fast.
func retriableJoin(err error) bool {
	var kerr kafka.Error
	if !errors.As(err, &kerr) {
		return false
	}
	return kerr == kafka.RebalanceInProgress || kerr.Temporary()
}

// adopt builds the partition state of a new generation.
func (s *Source) adopt(gen *kafka.Generation) {
	g := &generation{gen: gen, lost: make(chan struct{}), byTP: map[topicPartition]*partition{}}
	for topic, assigned := range gen.Assignments {
		for _, a := range assigned {
			tp := topicPartition{topic, a.ID}
			pp, ok := s.plan.Partition(topic, a.ID)
			if !ok {
				continue // created after the plan: the next run reads it
			}
			p := newPartition(tp, a.Offset, pp)
			g.parts = append(g.parts, p)
			g.byTP[tp] = p
		}
	}
	sort.Slice(g.parts, func(i, j int) bool { return lessTP(g.parts[i].tp, g.parts[j].tp) })
	// Start is used only as a signal: a Start function that returns ends
	// the generation, so this one just waits for the end.
	gen.Start(func(ctx context.Context) {
		<-ctx.Done()
		close(g.lost)
	})
	s.cur, s.next = g, 0
	s.gens = append(s.gens, gen.ID)
	s.noteAssignment(g)
	s.log.Info("joined kafka consumer group", "generation", gen.ID, "member", gen.MemberID,
		"assigned", describe(g.parts))
}

// newPartition starts at the committed offset, or at the log start when
// the group has none (kafka-go reports -2, FirstOffset).
func newPartition(tp topicPartition, offset int64, pp PartitionPlan) *partition {
	if offset < 0 {
		offset = pp.LogStart
	}
	return &partition{
		tp: tp, committed: offset, readNext: offset, fetchNext: offset, handed: offset,
		target: pp.Target, exhausted: offset >= pp.Target,
	}
}

func lessTP(a, b topicPartition) bool {
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	return a.Partition < b.Partition
}

func describe(parts []*partition) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s@%d..%d", p.tp, p.readNext, p.target)
	}
	return b.String()
}

func (g *generation) isLost() bool {
	select {
	case <-g.lost:
		return true
	default:
		return false
	}
}

// uncommitted reports whether records were handed out but not committed.
func (g *generation) uncommitted() bool {
	for _, p := range g.parts {
		if p.readNext > p.committed {
			return true
		}
	}
	return false
}

func (s *Source) usable() error {
	if s.closed {
		return errors.New("kafka source: used after Close")
	}
	return s.failed
}

// fail records that the generation is lost; every later call returns it.
func (s *Source) fail(generation int32, cause error) error {
	s.failed = &GenerationLostError{GroupID: s.cfg.GroupID, Generation: generation, Err: cause}
	s.log.Warn("kafka consumer group generation lost; stopping", "generation", generation, "err", cause)
	return s.failed
}

// Rejoin goes on after a GenerationLostError: the records read in the lost
// generation and not committed are given up (whatever the caller wrote of
// them stays; it reads them again), the group's next generation is joined,
// and reading resumes at the offsets committed in the group. Nothing is
// committed with the lost generation.
func (s *Source) Rejoin(ctx context.Context) error {
	if s.closed {
		return errors.New("kafka source: used after Close")
	}
	s.failed = nil
	s.rejoins++
	s.log.Info("rejoining the kafka consumer group after a lost generation; uncommitted records will be read again",
		"generation", s.cur.gen.ID)
	if err := s.join(ctx); err != nil {
		s.failed = err
		return err
	}
	return nil
}

// Close leaves the group at once so that the partitions move to another
// member without waiting for the session timeout.
func (s *Source) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.cg.Close()
	s.client.release()
	if err != nil {
		return fmt.Errorf("kafka leave group %q: %w", s.cfg.GroupID, err)
	}
	return nil
}
