package snapshot

import (
	"strconv"
	"sync"
	"time"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
)

// constColumn is a metadata column with the same value on every row of a
// block; the slice is shared between blocks (of all workers), never
// written after creation.
type constColumn[T any] struct {
	all     []T
	n       int
	literal string
}

// view is a column of its own length over the same values.
func (c *constColumn[T]) view() sizedColumn { return &constColumn[T]{all: c.all, literal: c.literal} }

func newConst[T any](v T, literal string, max int) *constColumn[T] {
	all := make([]T, max)
	for i := range all {
		all[i] = v
	}
	return &constColumn[T]{all: all, literal: literal}
}

func (c *constColumn[T]) Len() int           { return c.n }
func (c *constColumn[T]) Values() any        { return c.all[:c.n] }
func (c *constColumn[T]) Literal(int) string { return c.literal }
func (c *constColumn[T]) setLen(n int)       { c.n = n }

// sizedColumn is a metadata column whose length follows the block.
type sizedColumn interface {
	chconn.Column
	setLen(n int)
	view() sizedColumn
}

// runMeta holds the metadata columns' values of a run, built once and
// shared by every block: all but cdc_source_table are the same for every
// table, which has its own (built by its first block).
type runMeta struct {
	once  sync.Once
	names []string
	cols  []sizedColumn
}

// sourceTableCol is the position of cdc_source_table in metaColumns.
const sourceTableCol = 3

// columns gives a block of job's rows its metadata columns (views).
func (r *runMeta) columns(p chconn.Profile, pt Point, job *tableJob, max int) ([]string, []sizedColumn) {
	r.once.Do(func() { r.names, r.cols = metaColumns(p, pt, "", max) })
	job.metaOnce.Do(func() {
		job.sourceTable = newConst(job.Table.Name, chconn.QuoteString(job.Table.Name), max)
	})
	views := make([]sizedColumn, len(r.cols))
	for i, m := range r.cols {
		if i == sourceTableCol {
			m = job.sourceTable
		}
		views[i] = m.view()
	}
	return r.names, views
}

// metaColumns builds the CDC metadata columns of one table's snapshot
// rows (event_time is left to its DEFAULT now()). max is the block size.
func metaColumns(p chconn.Profile, pt Point, table string, max int) ([]string, []sizedColumn) {
	names := []string{ddl.ColOperation, ddl.ColTimestamp, ddl.ColSourceDB, ddl.ColSourceTable, ddl.ColVersion, ddl.ColIsDeleted}
	var ts sizedColumn
	if p.DateTime64 {
		t := pt.Time.Truncate(time.Millisecond)
		ts = newConst(t, "'"+t.Format("2006-01-02 15:04:05.000")+"'", max)
	} else {
		ms := uint64(pt.Time.UnixMilli())
		ts = newConst(ms, strconv.FormatUint(ms, 10), max)
	}
	cols := []sizedColumn{
		newConst(OperationSnapshot, chconn.QuoteString(OperationSnapshot), max),
		ts,
		newConst(pt.Database, chconn.QuoteString(pt.Database), max),
		newConst(table, chconn.QuoteString(table), max),
		newConst(pt.Version, strconv.FormatUint(pt.Version, 10), max),
		newConst(uint8(0), "0", max),
	}
	return names, cols
}

// OperationSnapshot is the cdc_operation of rows sluice snapshot writes
// (and of Debezium's snapshot reads).
const OperationSnapshot = "SNAPSHOT"
