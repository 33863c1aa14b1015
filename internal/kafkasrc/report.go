package kafkasrc

// Report is what one run did, per partition, for the run report.
type Report struct {
	GroupID     string
	Generations []int32 // the generations this member took part in, in order
	// Rejoins counts the joins after a lost generation that held records
	// read but not committed (Source.Rejoin); they were read again.
	Rejoins    int
	Partitions []PartitionReport
}

// PartitionReport is one planned partition.
type PartitionReport struct {
	Topic     string
	Partition int
	// Assigned is false when another member (an overlapping run) holds the
	// partition: its remaining offsets are that member's work, not lag here.
	Assigned bool
	// Start is the offset this run began reading at, -1 if never assigned.
	Start int64
	// Committed is the group's committed offset as last known to this run:
	// the join-time offset, then this run's commits. -1 if never assigned.
	Committed int64
	// Read is the offset after the last record handed out, -1 if never assigned.
	Read int64
	// Target is the plan's high watermark.
	Target int64
	// LagLeft is Target - Committed for an assigned partition, else 0.
	LagLeft int64
	// Messages is how many records this run handed out.
	Messages int64
}

// Lag is the lag left on the partitions this member holds.
func (r Report) Lag() int64 {
	var n int64
	for _, p := range r.Partitions {
		n += p.LagLeft
	}
	return n
}

func newStats(plan *DrainPlan) map[topicPartition]*PartitionReport {
	out := make(map[topicPartition]*PartitionReport, len(plan.Partitions))
	for _, pp := range plan.Partitions {
		out[topicPartition{pp.Topic, pp.Partition}] = &PartitionReport{
			Topic: pp.Topic, Partition: pp.Partition,
			Start: -1, Committed: -1, Read: -1, Target: pp.Target,
		}
	}
	return out
}

// noteAssignment updates the stats for a new generation's assignment.
func (s *Source) noteAssignment(g *generation) {
	for tp, st := range s.stats {
		p, ok := g.byTP[tp]
		st.Assigned = ok
		if !ok {
			continue
		}
		if st.Start < 0 {
			st.Start = p.committed
		}
		st.Committed, st.Read = p.committed, p.readNext
	}
}

// Report returns the run's progress so far; it also works after Close.
func (s *Source) Report() Report {
	r := Report{GroupID: s.cfg.GroupID, Generations: append([]int32(nil), s.gens...), Rejoins: s.rejoins}
	for _, pp := range s.plan.Partitions {
		st := *s.stats[topicPartition{pp.Topic, pp.Partition}]
		if st.Assigned && st.Target > st.Committed {
			st.LagLeft = st.Target - st.Committed
		}
		r.Partitions = append(r.Partitions, st)
	}
	return r
}
