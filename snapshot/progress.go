package snapshot

import (
	"sort"
	"sync"
	"time"
)

// TableProgress is one table's state during and after a run.
type TableProgress struct {
	Table      string
	Estimate   int64 // planner estimate of the table's rows (0 if unknown)
	Rows       int64 // rows written to ClickHouse
	Adjusted   int64 // values changed by the out-of-range policy
	Chunks     int
	ChunksDone int
	Started    time.Time // first chunk began reading
	Finished   time.Time // last chunk done
}

// Progress is shared between the workers and whoever displays it.
type Progress struct {
	mu     sync.Mutex
	tables []*TableProgress
}

func (p *Progress) find(table string) *TableProgress {
	for _, t := range p.tables {
		if t.Table == table {
			return t
		}
	}
	t := &TableProgress{Table: table}
	p.tables = append(p.tables, t)
	return t
}

func (p *Progress) add(table string, estimate int64, chunks int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.find(table)
	t.Estimate, t.Chunks = estimate, chunks
}

// chunkStarted marks the table started when its first chunk begins
// reading, so the duration and rate cover the read, not only the write.
func (p *Progress) chunkStarted(table string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.find(table)
	if t.Started.IsZero() {
		t.Started = time.Now()
	}
}

func (p *Progress) addRows(table string, rows, adjusted int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.find(table)
	if t.Started.IsZero() {
		t.Started = time.Now()
	}
	t.Rows += rows
	t.Adjusted += adjusted
}

func (p *Progress) chunkDone(table string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.find(table)
	if t.Started.IsZero() {
		t.Started = time.Now()
	}
	t.ChunksDone++
	if t.ChunksDone == t.Chunks {
		t.Finished = time.Now()
	}
}

// Tables returns a copy of every table's state, in planning order.
func (p *Progress) Tables() []TableProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]TableProgress, len(p.tables))
	for i, t := range p.tables {
		out[i] = *t
	}
	return out
}

// sortChunks puts the chunks of the largest tables first (stable), so the
// longest table starts at once and small ones fill the gaps at the end.
func sortChunks(chunks []Chunk) {
	sort.SliceStable(chunks, func(i, j int) bool {
		return chunks[i].Table.Estimate > chunks[j].Table.Estimate
	})
}
