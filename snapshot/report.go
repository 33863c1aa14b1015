package snapshot

import (
	"context"
	"errors"
	"time"
)

// Run outcomes.
const (
	StatusOK          = "ok"
	StatusInterrupted = "interrupted"
	StatusFailed      = "failed"
)

// Report is the run report (the command prints it as text or JSON).
type Report struct {
	Status        string        `json:"status"`
	LSN           string        `json:"snapshot_lsn,omitempty"`
	Version       uint64        `json:"version,omitempty"`
	SnapshotTime  *time.Time    `json:"snapshot_time,omitempty"`
	WaitedSeconds float64       `json:"waited_seconds"`
	Tables        []TableReport `json:"tables"`
	Rows          int64         `json:"rows"`
	Seconds       float64       `json:"seconds"`
	RowsPerSecond float64       `json:"rows_per_second"`
	Error         string        `json:"error,omitempty"`
}

// TableReport is one table's line of the report.
type TableReport struct {
	Table         string  `json:"table"`
	Rows          int64   `json:"rows"`
	Chunks        int     `json:"chunks"`
	ChunksDone    int     `json:"chunks_done"`
	Complete      bool    `json:"complete"`
	Created       bool    `json:"created"`
	Adjusted      int64   `json:"adjusted_values"`
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_second"`
}

func (r *Report) setPoint(p Point) {
	r.LSN, r.Version = p.LSN, p.Version
	t := p.Time
	r.SnapshotTime = &t
	r.WaitedSeconds = p.Waited.Seconds()
}

func rate(rows int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(rows) / secs
}

func (r *Report) finish(jobs []*tableJob, p *Progress, elapsed time.Duration, err error) {
	created := map[string]bool{}
	for _, j := range jobs {
		created[j.Table.Name] = j.Created
	}
	var tables []TableProgress
	if p != nil {
		tables = p.Tables()
	}
	for _, t := range tables {
		tr := TableReport{Table: t.Table, Rows: t.Rows, Chunks: t.Chunks, ChunksDone: t.ChunksDone,
			Complete: t.ChunksDone == t.Chunks, Created: created[t.Table], Adjusted: t.Adjusted}
		if !t.Started.IsZero() {
			end := t.Finished
			if end.IsZero() {
				end = time.Now()
			}
			tr.Seconds = end.Sub(t.Started).Seconds()
			tr.RowsPerSecond = rate(t.Rows, tr.Seconds)
		}
		r.Tables = append(r.Tables, tr)
		r.Rows += t.Rows
	}
	r.Seconds = elapsed.Seconds()
	r.RowsPerSecond = rate(r.Rows, r.Seconds)
	switch {
	case err == nil:
		r.Status = StatusOK
	case errors.Is(err, context.Canceled):
		r.Status = StatusInterrupted
		r.Error = err.Error()
	default:
		r.Error = err.Error()
	}
}
