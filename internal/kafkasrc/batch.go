package kafkasrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/segmentio/kafka-go"
)

// Batch is what one ReadBatch hands out. Write it durably, then Commit it.
type Batch struct {
	Messages []Message
	// Next is, per partition read so far and not yet committed, the offset
	// after the last record handed out: what Commit will commit. It can
	// advance with no message when a partition ends in transaction markers.
	Next []PartitionOffset

	generation int32
	bytes      int
	full       bool
	pool       *slabPool // takes Messages' array back on Release
}

// PartitionOffset is a partition and an offset in it.
type PartitionOffset struct {
	Topic     string
	Partition int
	Offset    int64
}

// Bytes is the payload size of the batch (keys, values, headers).
func (b *Batch) Bytes() int { return b.bytes }

// ReadBatch returns the next records of the assigned partitions, bounded
// by MaxBatchMessages and MaxBatchBytes, or io.EOF once every assigned
// partition reached the plan's target.
//
// When the generation ended between batches (everything read was
// committed), ReadBatch rejoins the group and goes on from the offsets
// committed then; when records read in the ended generation are not
// committed yet, it returns a GenerationLostError.
func (s *Source) ReadBatch(ctx context.Context) (*Batch, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.cur.isLost() {
		if s.cur.uncommitted() {
			return nil, s.fail(s.cur.gen.ID, nil)
		}
		s.log.Info("kafka consumer group generation ended between batches; rejoining", "generation", s.cur.gen.ID)
		if err := s.join(ctx); err != nil {
			return nil, err
		}
	}
	b := &Batch{generation: s.cur.gen.ID, Messages: s.copier.pool.messages(), pool: s.copier.pool}
	if err := s.fill(ctx, b); err != nil {
		return nil, err
	}
	b.Next = s.uncommittedOffsets()
	if len(b.Messages) == 0 && !s.advanced() {
		// Every partition reached its target and nothing new is covered:
		// an earlier batch's Next covers everything read (committed or not
		// yet). Handing out empty batches again would make a caller that
		// commits later spin until it does.
		return nil, io.EOF
	}
	s.markHanded()
	return b, nil
}

// advanced tells whether some partition was read past what the last batch
// handed out covers (an empty batch can still cover transaction markers).
func (s *Source) advanced() bool {
	for _, p := range s.cur.parts {
		if p.readNext > p.handed && p.readNext > p.committed {
			return true
		}
	}
	return false
}

func (s *Source) markHanded() {
	for _, p := range s.cur.parts {
		p.handed = p.readNext
	}
}

// fill fetches and takes records round-robin until the batch is full or
// every partition is done.
func (s *Source) fill(ctx context.Context, b *Batch) error {
	for !b.full && len(b.Messages) < s.cfg.MaxBatchMessages {
		p := s.nextPartition()
		if p == nil {
			return nil
		}
		if len(p.pending) > 0 {
			s.take(b, p)
			continue
		}
		if err := s.fetch(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// nextPartition returns the current round-robin partition with work left.
func (s *Source) nextPartition() *partition {
	n := len(s.cur.parts)
	for i := 0; i < n; i++ {
		j := (s.next + i) % n
		if !s.cur.parts[j].done() {
			s.next = j
			return s.cur.parts[j]
		}
	}
	return nil
}

// take moves pending messages of p into b within the batch bounds. A
// partition whose fetched records are all handed out yields its turn.
func (s *Source) take(b *Batch, p *partition) {
	st := s.stats[p.tp]
	for len(p.pending) > 0 && len(b.Messages) < s.cfg.MaxBatchMessages {
		m := p.pending[0]
		size := m.size()
		if len(b.Messages) > 0 && b.bytes+size > s.cfg.MaxBatchBytes {
			b.full = true
			return
		}
		b.Messages = append(b.Messages, m)
		b.bytes += size
		p.pending[0] = Message{} // let the payload go with the batch
		p.pending = p.pending[1:]
		p.readNext = m.Offset + 1
		st.Messages++
	}
	if len(p.pending) == 0 {
		// Offsets after the last message (control records) are read too.
		p.readNext = p.fetchNext
		p.pending = nil
		s.copier.pool.putMessages(p.fetched) // every element was zeroed above
		p.fetched = nil
		s.next++
	}
	st.Read = p.readNext
}

// fetch reads one response of p from fetchNext, dropping records outside
// [fetchNext, target).
func (s *Source) fetch(ctx context.Context, p *partition) error {
	res, err := s.client.Fetch(ctx, &kafka.FetchRequest{
		Topic: p.tp.Topic, Partition: p.tp.Partition, Offset: p.fetchNext,
		MinBytes: 1, MaxBytes: fetchMaxBytes,
	})
	if err != nil {
		return fmt.Errorf("kafka fetch %s at offset %d: %w", p.tp, p.fetchNext, err)
	}
	if res.Error != nil {
		if errors.Is(res.Error, kafka.OffsetOutOfRange) {
			return s.skipToLogStart(ctx, p)
		}
		return fmt.Errorf("kafka fetch %s at offset %d: %w", p.tp, p.fetchNext, res.Error)
	}
	f, err := decodeFetch(&s.copier, p.tp.Topic, p.tp.Partition, res.Records, p.fetchNext, p.target)
	if err != nil {
		return err
	}
	if f.next < 0 {
		// An empty answer below the watermark: what is left are transaction
		// markers the broker does not send back. Treat the partition as done.
		s.log.Debug("empty fetch below target; partition done", "partition", p.tp.String(),
			"offset", p.fetchNext, "target", p.target)
		p.exhausted = true
		return nil
	}
	p.pending, p.fetched, p.fetchNext = f.messages, f.messages, f.next
	p.exhausted = p.fetchNext >= p.target
	if len(p.pending) == 0 {
		p.readNext = p.fetchNext
	}
	return nil
}

// skipToLogStart handles a committed offset that retention already deleted:
// the records in between are gone, so reading resumes at the log start.
func (s *Source) skipToLogStart(ctx context.Context, p *partition) error {
	res, err := s.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{p.tp.Topic: {kafka.FirstOffsetOf(p.tp.Partition)}},
	})
	if err != nil {
		return fmt.Errorf("kafka list offsets of %s: %w", p.tp, err)
	}
	for _, po := range res.Topics[p.tp.Topic] {
		if po.Partition != p.tp.Partition {
			continue
		}
		if po.Error != nil || po.FirstOffset <= p.fetchNext {
			return fmt.Errorf("kafka fetch %s at offset %d: %w (log start %d)", p.tp, p.fetchNext, kafka.OffsetOutOfRange, po.FirstOffset)
		}
		s.log.Warn("offset no longer in the log (retention); skipping to log start: the records in between are lost",
			"partition", p.tp.String(), "offset", p.fetchNext, "log_start", po.FirstOffset)
		p.fetchNext, p.readNext = po.FirstOffset, po.FirstOffset
		p.exhausted = p.fetchNext >= p.target
		return nil
	}
	return fmt.Errorf("kafka list offsets: no answer for %s", p.tp)
}

// uncommittedOffsets lists what a commit now would cover.
func (s *Source) uncommittedOffsets() []PartitionOffset {
	var out []PartitionOffset
	for _, p := range s.cur.parts {
		if p.readNext > p.committed {
			out = append(out, PartitionOffset{Topic: p.tp.Topic, Partition: p.tp.Partition, Offset: p.readNext})
		}
	}
	return out
}

// Commit commits the batch's offsets with the generation that read it, for
// partitions this member holds, and only forward. Call it after the batch
// is written durably.
//
// A batch from an ended generation, an ended generation, or a failed commit
// (including a per-partition error in the broker's answer) gives a
// GenerationLostError; the commit is not retried. The call is bounded by
// Config.Timeout: kafka-go's Generation.CommitOffsets takes no context.
func (s *Source) Commit(ctx context.Context, b *Batch) error {
	if err := s.usable(); err != nil {
		return err
	}
	if b == nil {
		return nil
	}
	if b.generation != s.cur.gen.ID || s.cur.isLost() {
		return s.fail(b.generation, nil)
	}
	offsets, err := s.commitOffsets(b)
	if err != nil || len(offsets) == 0 {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka commit for group %q: %w", s.cfg.GroupID, err)
	}
	if err := s.cur.gen.CommitOffsets(offsets); err != nil {
		return s.fail(b.generation, err)
	}
	s.committed(offsets)
	return nil
}

// commitOffsets keeps the batch's offsets that move an assigned partition
// forward. The broker does not check that a member commits only its own
// partitions, so an unassigned one is an error here.
func (s *Source) commitOffsets(b *Batch) (map[string]map[int]int64, error) {
	out := map[string]map[int]int64{}
	for _, po := range b.Next {
		tp := topicPartition{po.Topic, po.Partition}
		p, ok := s.cur.byTP[tp]
		if !ok {
			return nil, fmt.Errorf("kafka commit for group %q: %s is not assigned to this member", s.cfg.GroupID, tp)
		}
		if po.Offset <= p.committed {
			continue // already committed (a later batch went first)
		}
		if po.Offset > p.readNext {
			return nil, fmt.Errorf("kafka commit for group %q: %s offset %d is beyond what was read (%d)", s.cfg.GroupID, tp, po.Offset, p.readNext)
		}
		if out[po.Topic] == nil {
			out[po.Topic] = map[int]int64{}
		}
		out[po.Topic][po.Partition] = po.Offset
	}
	return out, nil
}

// committed records a successful commit.
func (s *Source) committed(offsets map[string]map[int]int64) {
	for topic, parts := range offsets {
		for id, off := range parts {
			tp := topicPartition{topic, id}
			s.cur.byTP[tp].committed = off
			s.stats[tp].Committed = off
		}
	}
	s.log.Debug("committed kafka offsets", "generation", s.cur.gen.ID, "offsets", formatOffsets(offsets))
}

func formatOffsets(offsets map[string]map[int]int64) string {
	var out []string
	for topic, parts := range offsets {
		for id, off := range parts {
			out = append(out, fmt.Sprintf("%s/%d=%d", topic, id, off))
		}
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}
