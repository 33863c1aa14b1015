package replicate

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

// Report is what a run did. Its JSON form (--output json) is a stable
// interface: doc.go lists the fields.
type Report struct {
	RunID    string    `json:"run_id"`
	Group    string    `json:"group"`
	Status   string    `json:"status"`
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started_at"`
	Finished time.Time `json:"finished_at"`
	Duration float64   `json:"duration_seconds"`
	// Joined is false when the run never joined the consumer group (idle).
	Joined      bool    `json:"joined"`
	Generations []int32 `json:"generations"`
	Cycles      int     `json:"cycles"`
	// Rejoins counts joins after a lost generation (an overlapping run
	// joined or left, a session expired) with records read but not yet
	// committed: those were read again in the new generation.
	Rejoins int `json:"rejoins"`

	Messages       int64   `json:"messages"`
	Bytes          int64   `json:"bytes"`
	MessagesPerSec float64 `json:"messages_per_second"`
	RowsWritten    int64   `json:"rows_written"`
	RowsPerSec     float64 `json:"rows_per_second"`
	LagLeft        int64   `json:"lag_left"`

	Partitions []PartitionReport `json:"partitions"`
	Tables     []*TableReport    `json:"tables"`
	Ignored    IgnoredReport     `json:"ignored"`

	DeadLetters         int64            `json:"dead_letters"`
	DeadLettersByReason map[string]int64 `json:"dead_letters_by_reason"`
	// Touched lists the (table, partition) pairs written, for analytics
	// refreshes (partition is the toYYYYMM id, "" for unpartitioned tables).
	Touched []TouchedPartition `json:"touched_partitions"`

	tables map[string]*TableReport
}

// PartitionReport is one Kafka partition: where the group stood, how far
// this run committed, and what is left.
type PartitionReport struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Assigned  bool   `json:"assigned"`
	Start     int64  `json:"start_offset"`
	Committed int64  `json:"committed_offset"`
	Target    int64  `json:"target_offset"`
	LagLeft   int64  `json:"lag_left"`
	Messages  int64  `json:"messages"`
}

// TableReport counts one table's rows, blocks and bytes.
type TableReport struct {
	Table    string `json:"table"`
	Inserted int64  `json:"inserted"`
	Updated  int64  `json:"updated"`
	Deleted  int64  `json:"deleted"`
	Snapshot int64  `json:"snapshot"`
	Rows     int64  `json:"rows"`
	Blocks   int64  `json:"blocks"`
	Bytes    int64  `json:"bytes"`
	// Superseded counts changes not written because a later change of
	// the same key in the same flush window replaced them (tables that
	// are ReplacingMergeTree(_version)): Rows is the changes less these.
	Superseded int64 `json:"superseded"`
	// FilledFromClickHouse counts rows completed from the stored row
	// (deletes, TOAST placeholders); FilledInBatch from an earlier event
	// still in memory; FilledFromRun (deletes) from a row this run wrote
	// in an earlier window and remembers (no lookup).
	FilledFromClickHouse int64 `json:"filled_from_clickhouse"`
	FilledInBatch        int64 `json:"filled_in_batch"`
	FilledFromRun        int64 `json:"filled_from_run"`
	// DeletesWithoutRow counts deletes of rows ClickHouse does not have
	// (already deleted, or never replicated): nothing to write.
	DeletesWithoutRow int64 `json:"deletes_without_row"`
	Truncates         int64 `json:"truncates"`
	ColumnsAdded      int64 `json:"columns_added"`
}

// fillSource is where a fill found the row's latest state.
type fillSource uint8

const (
	fromBatch      fillSource = iota // an event still in memory
	fromRun                          // a row this run wrote (recent.go)
	fromClickHouse                   // a lookup
)

func (t *TableReport) countFill(from fillSource) {
	switch from {
	case fromRun:
		t.FilledFromRun++
	case fromClickHouse:
		t.FilledFromClickHouse++
	default:
		t.FilledInBatch++
	}
}

// IgnoredReport counts records that carry no row change.
type IgnoredReport struct {
	Tombstones  int64 `json:"tombstones"`
	Heartbeats  int64 `json:"heartbeats"`
	TxMetadata  int64 `json:"tx_metadata"`
	LogMessages int64 `json:"log_messages"`
}

// TouchedPartition is a (table, partition id) written by the run.
type TouchedPartition struct {
	Table     string `json:"table"`
	Partition string `json:"partition"`
}

// Run statuses.
const (
	StatusIdle        = "idle"         // no lag at start: nothing read, group not joined
	StatusDrained     = "drained"      // every partition reached its target
	StatusMaxMessages = "max_messages" // --max-messages reached
	StatusMaxDuration = "max_duration" // --max-duration reached
	StatusInterrupted = "interrupted"  // SIGINT/SIGTERM: what was in hand was written and committed
	StatusFailed      = "failed"       // stopped by an error; nothing committed past the last durable write
)

func newReport(runID, group string, start time.Time) *Report {
	return &Report{RunID: runID, Group: group, Started: start, Generations: []int32{},
		Partitions: []PartitionReport{}, Tables: []*TableReport{}, DeadLettersByReason: map[string]int64{},
		Touched: []TouchedPartition{}, tables: map[string]*TableReport{}}
}

func (r *Report) table(name string) *TableReport {
	if t, ok := r.tables[name]; ok {
		return t
	}
	t := &TableReport{Table: name}
	r.tables[name] = t
	r.Tables = append(r.Tables, t)
	sort.Slice(r.Tables, func(i, j int) bool { return r.Tables[i].Table < r.Tables[j].Table })
	return t
}

func (r *Report) touch(table string, parts map[string]bool) {
	for p := range parts {
		tp := TouchedPartition{Table: table, Partition: p}
		found := false
		for _, x := range r.Touched {
			if x == tp {
				found = true
				break
			}
		}
		if !found {
			r.Touched = append(r.Touched, tp)
		}
	}
}

// addSource merges a source's partition report (one per cycle in follow mode).
func (r *Report) addSource(kr kafkasrc.Report) {
	r.Generations = append(r.Generations, kr.Generations...)
	r.Rejoins += kr.Rejoins
	for _, p := range kr.Partitions {
		pr := PartitionReport{Topic: p.Topic, Partition: p.Partition, Assigned: p.Assigned,
			Start: p.Start, Committed: p.Committed, Target: p.Target, LagLeft: p.LagLeft, Messages: p.Messages}
		r.mergePartition(pr)
	}
}

func (r *Report) addPlan(plan *kafkasrc.DrainPlan) {
	for _, p := range plan.Partitions {
		r.mergePartition(PartitionReport{Topic: p.Topic, Partition: p.Partition, Start: p.Start,
			Committed: p.Committed, Target: p.Target, LagLeft: p.Lag})
	}
}

func (r *Report) mergePartition(pr PartitionReport) {
	for i := range r.Partitions {
		p := &r.Partitions[i]
		if p.Topic == pr.Topic && p.Partition == pr.Partition {
			msgs := p.Messages + pr.Messages
			start := p.Start
			*p = pr
			p.Messages = msgs
			if start >= 0 {
				p.Start = start
			}
			return
		}
	}
	r.Partitions = append(r.Partitions, pr)
	sort.Slice(r.Partitions, func(i, j int) bool {
		a, b := r.Partitions[i], r.Partitions[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
}

func (r *Report) finish(end time.Time) {
	r.Finished = end
	r.Duration = end.Sub(r.Started).Seconds()
	r.LagLeft = 0
	for _, p := range r.Partitions {
		r.LagLeft += p.LagLeft
	}
	r.RowsWritten = 0
	for _, t := range r.Tables {
		r.RowsWritten += t.Rows
	}
	if r.Duration > 0 {
		r.MessagesPerSec = float64(r.Messages) / r.Duration
		r.RowsPerSec = float64(r.RowsWritten) / r.Duration
	}
	sort.Slice(r.Touched, func(i, j int) bool {
		if r.Touched[i].Table != r.Touched[j].Table {
			return r.Touched[i].Table < r.Touched[j].Table
		}
		return r.Touched[i].Partition < r.Touched[j].Partition
	})
}

// WriteText prints the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "sluice replicate %s: %s in %.2fs (group %s, joined %t)\n", r.RunID, r.Status, r.Duration, r.Group, r.Joined)
	if r.Error != "" {
		fmt.Fprintf(&b, "  error: %s\n", r.Error)
	}
	fmt.Fprintf(&b, "  %d messages (%.0f/s), %d bytes, %d rows written (%.0f/s), lag left %d\n",
		r.Messages, r.MessagesPerSec, r.Bytes, r.RowsWritten, r.RowsPerSec, r.LagLeft)
	b.WriteString("  partitions (start → committed / target, lag left):\n")
	for _, p := range r.Partitions {
		note := ""
		if !p.Assigned && r.Joined {
			note = " (held by another member)"
		}
		fmt.Fprintf(&b, "    %s/%d  %d → %d / %d  lag %d  %d msgs%s\n", p.Topic, p.Partition, p.Start, p.Committed, p.Target, p.LagLeft, p.Messages, note)
	}
	if len(r.Tables) > 0 {
		b.WriteString("  tables (inserted/updated/deleted/snapshot, rows written, superseded, blocks, bytes):\n")
		for _, t := range r.Tables {
			fmt.Fprintf(&b, "    %-20s %d/%d/%d/%d  %d rows  %d superseded  %d blocks  %d bytes  filled %d from ClickHouse, %d in batch, %d from the run\n",
				t.Table, t.Inserted, t.Updated, t.Deleted, t.Snapshot, t.Rows, t.Superseded, t.Blocks, t.Bytes, t.FilledFromClickHouse, t.FilledInBatch, t.FilledFromRun)
		}
	}
	fmt.Fprintf(&b, "  ignored: %d tombstones, %d heartbeats, %d transaction records, %d logical messages\n",
		r.Ignored.Tombstones, r.Ignored.Heartbeats, r.Ignored.TxMetadata, r.Ignored.LogMessages)
	fmt.Fprintf(&b, "  dead letters: %d", r.DeadLetters)
	reasons := make([]string, 0, len(r.DeadLettersByReason))
	for k, v := range r.DeadLettersByReason {
		reasons = append(reasons, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(reasons, ", "))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
