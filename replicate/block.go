package replicate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// metaCol is a plain typed column for the CDC metadata (chconn.Column).
type metaCol[T any] struct {
	vals []T
	lit  func(T) string
}

func (c *metaCol[T]) Len() int                   { return len(c.vals) }
func (c *metaCol[T]) Values() any                { return c.vals }
func (c *metaCol[T]) ValuesRange(lo, hi int) any { return c.vals[lo:hi] }
func (c *metaCol[T]) DataSize() int              { return 8 * len(c.vals) }
func (c *metaCol[T]) Literal(i int) string       { return c.lit(c.vals[i]) }
func (c *metaCol[T]) reset()                     { clear(c.vals); c.vals = c.vals[:0] }

// codeCol is a String metadata column with few distinct values (the
// operation, the source database and table): a code per row and the
// strings once, instead of a 16-byte string header per row for the GC
// to scan. Strings are made per data block when written.
type codeCol struct {
	codes []uint32
	dict  []string
	index map[string]uint32
	size  int
	out   []string // ValuesRange's result, reused
}

func (c *codeCol) add(s string) {
	code, ok := c.index[s]
	if !ok {
		if c.index == nil {
			c.index = map[string]uint32{}
		}
		code = uint32(len(c.dict))
		c.dict = append(c.dict, s)
		c.index[s] = code
	}
	c.codes = append(c.codes, code)
	c.size += len(s)
}

func (c *codeCol) Len() int             { return len(c.codes) }
func (c *codeCol) Values() any          { return c.ValuesRange(0, len(c.codes)) }
func (c *codeCol) DataSize() int        { return c.size }
func (c *codeCol) Literal(i int) string { return strLit(c.dict[c.codes[i]]) }

func (c *codeCol) ValuesRange(lo, hi int) any {
	c.out = c.out[:0]
	for _, code := range c.codes[lo:hi] {
		c.out = append(c.out, c.dict[code])
	}
	return c.out
}

func (c *codeCol) keep(keep []bool) {
	c.codes = typemap.KeepSlice(c.codes, keep)
	c.size = 0
	for _, code := range c.codes {
		c.size += len(c.dict[code])
	}
}

func (c *codeCol) reset() {
	c.codes, c.size = c.codes[:0], 0
	if len(c.dict) > 1<<15 { // a block reused for ever keeps a bounded dictionary
		c.dict, c.index = nil, nil
	}
	c.out = nil // per data block: not kept live between writes (strBuilder.Reset)
}

// secCol is a DateTime metadata column held as epoch seconds.
type secCol struct {
	secs []uint32
	out  []time.Time
}

func (c *secCol) add(t time.Time)      { c.secs = append(c.secs, uint32(max(t.Unix(), 0))) }
func (c *secCol) at(i int) time.Time   { return time.Unix(int64(c.secs[i]), 0).UTC() }
func (c *secCol) Len() int             { return len(c.secs) }
func (c *secCol) Values() any          { return c.ValuesRange(0, len(c.secs)) }
func (c *secCol) DataSize() int        { return 4 * len(c.secs) }
func (c *secCol) Literal(i int) string { return dtLit(c.at(i)) }
func (c *secCol) reset()               { c.secs, c.out = c.secs[:0], nil }

func (c *secCol) ValuesRange(lo, hi int) any {
	c.out = c.out[:0]
	for i := lo; i < hi; i++ {
		c.out = append(c.out, c.at(i))
	}
	return c.out
}

func strLit(s string) string    { return chconn.QuoteString(s) }
func u64Lit(v uint64) string    { return strconv.FormatUint(v, 10) }
func u8Lit(v uint8) string      { return strconv.FormatUint(uint64(v), 10) }
func dt3Lit(t time.Time) string { return "'" + t.UTC().Format("2006-01-02 15:04:05.000") + "'" }
func dtLit(t time.Time) string  { return "'" + t.UTC().Format("2006-01-02 15:04:05") + "'" }

// block is the rows of one table waiting to be written: the table's
// column builders plus the metadata columns, and what the rows cover.
type block struct {
	t         *table
	cols      []typemap.Builder // the table's source columns, this block's own
	layout    int               // table.layout when the builders were made
	op        codeCol
	tsTime    metaCol[time.Time] // cdc_timestamp on DateTime64 servers
	tsMillis  metaCol[uint64]    // cdc_timestamp elsewhere (epoch ms)
	db, src   codeCol
	eventTime secCol
	version   metaCol[uint64]
	deleted   metaCol[uint8]

	rows     int
	bytes    int64
	data     int // JSON bytes of the values appended: the block's memory, roughly
	counts   opCounts
	touched  map[string]bool        // partition ids (YYYYMM) of the rows
	offsets  map[topicPart][2]int64 // first, last offset
	truncate bool                   // TRUNCATE TABLE before the insert
	// keep is false for a row a later row of the same key replaced
	// (supersede); compact drops those rows before the block is written.
	// dropping counts them until then, superseded in all (the report).
	keep       []bool
	dropping   int
	superseded int
}

// opCounts are rows per operation.
type opCounts struct{ Inserted, Updated, Deleted, Snapshot int64 }

// newBlock makes an empty block with builders of its own, so that one
// block can be written while the next one is built.
func newBlock(t *table) *block {
	cols := make([]typemap.Builder, len(t.cols))
	for i := range t.cols {
		b, err := typemap.NewBuilder(t.cols[i].col, t.profile, t.pol)
		if err != nil {
			b = t.cols[i].b // cannot happen: the table's own builder was made the same way
		}
		cols[i] = b
	}
	return &block{
		t: t, cols: cols, layout: t.layout,
		tsTime: metaCol[time.Time]{lit: dt3Lit}, tsMillis: metaCol[uint64]{lit: u64Lit},
		version: metaCol[uint64]{lit: u64Lit}, deleted: metaCol[uint8]{lit: u8Lit},
		touched: map[string]bool{}, offsets: map[topicPart][2]int64{},
	}
}

func (b *block) reset() {
	for _, c := range b.cols {
		c.Reset()
	}
	for _, c := range []interface{ reset() }{&b.op, &b.tsTime, &b.tsMillis, &b.db, &b.src, &b.eventTime, &b.version, &b.deleted} {
		c.reset()
	}
	b.rows, b.bytes, b.data, b.counts, b.truncate = 0, 0, 0, opCounts{}, false
	b.keep, b.dropping, b.superseded = b.keep[:0], 0, 0
	clear(b.touched)
	clear(b.offsets)
}

// columns lists the insert's column names and data, source columns first.
func (b *block) columns() ([]string, []chconn.Column) {
	names := make([]string, 0, len(b.t.cols)+7)
	data := make([]chconn.Column, 0, len(b.t.cols)+7)
	for i, c := range b.t.cols {
		names = append(names, c.col.Name)
		data = append(data, b.cols[i])
	}
	var ts chconn.Column = &b.tsMillis
	if b.t.profile.DateTime64 {
		ts = &b.tsTime
	}
	names = append(names, ddl.ColOperation, ddl.ColTimestamp, ddl.ColSourceDB, ddl.ColSourceTable, ddl.ColEventTime, ddl.ColVersion, ddl.ColIsDeleted)
	data = append(data, &b.op, ts, &b.db, &b.src, &b.eventTime, &b.version, &b.deleted)
	return names, data
}

// appendRow adds one event's filled image. On a conversion error some
// builders hold one value more than others: the caller rebuilds the block.
func (b *block) appendRow(e *event, now time.Time) error {
	for i := range b.t.cols {
		c, cb := &b.t.cols[i], b.cols[i]
		v := e.image[i]
		var err error
		switch {
		case v.state == valAbsent && (c.col.Nullable || c.col.Array):
			err = cb.AppendNull()
		case v.state == valAbsent:
			err = cb.AppendDebezium(zeroToken(*c), nil)
		case v.state == valRow && v.src == srcPending:
			err = cb.AppendCopy(int(v.row))
		case v.state == valRow:
			// The block being written (the writer goroutine only reads it)
			// or a remembered row.
			src := b.t.sourceBlock(v.src)
			if src == nil {
				return fmt.Errorf("replicate: table %s: no block %d to copy row %d from", b.t.name, v.src, v.row)
			}
			err = cb.AppendCopyFrom(src.cols[i], int(v.row))
		default:
			err = cb.AppendDebezium(v.raw, v.fs)
			b.data += len(v.raw)
		}
		if err != nil {
			return err
		}
	}
	op := opName(e.op, e.snapshot)
	b.op.add(op)
	if b.t.profile.DateTime64 { // only the column columns() sends
		b.tsTime.vals = append(b.tsTime.vals, time.UnixMilli(e.tsMs).UTC())
	} else {
		b.tsMillis.vals = append(b.tsMillis.vals, uint64(max(e.tsMs, 0)))
	}
	b.db.add(e.db)
	b.src.add(e.src)
	b.eventTime.add(now)
	b.version.vals = append(b.version.vals, e.version)
	var del uint8
	if e.isDelete() {
		del = 1
	}
	b.deleted.vals = append(b.deleted.vals, del)
	b.keep = append(b.keep, true)
	b.rows++
	b.bytes += int64(len(e.msg.Value))
	b.count(op)
	b.notePosition(e)
	return nil
}

// supersede marks row, the earlier row of a key, as replaced by row by,
// when ClickHouse (a ReplacingMergeTree by _version) would keep only by:
// by's version is not lower (FINAL and the merges keep the higher version,
// the later insert on a tie), and by lands where row is, the same values
// in spot, the columns the partition and sorting keys read (a merge only
// replaces rows of the same sorting key within a partition; a delete
// marker left in the row's old partition is what removes it there).
func (b *block) supersede(row, by int32, spot []int) {
	if !b.keep[row] || b.version.vals[row] > b.version.vals[by] {
		return
	}
	for _, c := range spot {
		k, ok := b.cols[c].(typemap.Keeper)
		if !ok || !k.Same(int(row), int(by)) {
			return
		}
	}
	b.keep[row] = false
	b.dropping++
	b.superseded++
}

// compact drops the superseded rows and returns each row's new number
// (-1 for a dropped row); nil when nothing was dropped.
func (b *block) compact(renumber []int32) []int32 {
	if b.dropping == 0 {
		return nil
	}
	keepers := make([]typemap.Keeper, len(b.cols))
	for i, c := range b.cols {
		k, ok := c.(typemap.Keeper)
		if !ok { // not made by typemap.NewBuilder: write every row (correct, only larger)
			b.unmark()
			return nil
		}
		keepers[i] = k
	}
	for _, k := range keepers {
		k.Keep(b.keep)
	}
	b.op.keep(b.keep)
	b.db.keep(b.keep)
	b.src.keep(b.keep)
	if len(b.tsTime.vals) > 0 {
		b.tsTime.vals = typemap.KeepSlice(b.tsTime.vals, b.keep)
	} else {
		b.tsMillis.vals = typemap.KeepSlice(b.tsMillis.vals, b.keep)
	}
	b.eventTime.secs = typemap.KeepSlice(b.eventTime.secs, b.keep)
	b.version.vals = typemap.KeepSlice(b.version.vals, b.keep)
	b.deleted.vals = typemap.KeepSlice(b.deleted.vals, b.keep)
	renumber = renumber[:0]
	n := int32(0)
	for _, k := range b.keep {
		if k {
			renumber = append(renumber, n)
			n++
		} else {
			renumber = append(renumber, -1)
		}
	}
	b.rows = int(n)
	b.keep = b.keep[:n]
	b.unmark()
	return renumber
}

func (b *block) unmark() {
	for i := range b.keep {
		b.keep[i] = true
	}
	b.dropping = 0
}

// dropPartialRow removes the values a failed appendRow left in the
// source columns (the metadata columns are appended only on success).
func (b *block) dropPartialRow() {
	for _, c := range b.cols {
		c.Truncate(b.rows)
	}
}

// finish notes the partitions (toYYYYMM) the block's rows fall in.
func (b *block) finish() {
	if b.t.part < 0 || b.rows == 0 {
		return
	}
	months := map[int]bool{}
	addMonths(b.cols[b.t.part].Values(), months)
	for m := range months {
		b.touched[fmt.Sprintf("%04d%02d", m/100, m%100)] = true
	}
}

func (b *block) count(op string) {
	switch op {
	case "INSERT":
		b.counts.Inserted++
	case "UPDATE":
		b.counts.Updated++
	case "DELETE":
		b.counts.Deleted++
	case "SNAPSHOT":
		b.counts.Snapshot++
	}
}

// topicPart is a Kafka partition.
type topicPart struct {
	topic     string
	partition int
}

func (b *block) notePosition(e *event) {
	k := topicPart{e.msg.Topic, e.msg.Partition}
	r, ok := b.offsets[k]
	if !ok {
		r = [2]int64{e.msg.Offset, e.msg.Offset}
	}
	r[0], r[1] = min(r[0], e.msg.Offset), max(r[1], e.msg.Offset)
	b.offsets[k] = r
}

// dedupToken identifies the block by table and the Kafka ranges it holds:
// a retry (or a later run re-reading the same offsets into the same block)
// carries the same token.
func (b *block) dedupToken() string {
	parts := make([]string, 0, len(b.offsets))
	for k, r := range b.offsets {
		parts = append(parts, fmt.Sprintf("%s/%d:%d-%d", k.topic, k.partition, r[0], r[1]))
	}
	sort.Strings(parts)
	h := sha256.Sum256([]byte(b.t.name + "|" + strings.Join(parts, ",") + "|" + strconv.Itoa(b.rows)))
	return "sluice-" + hex.EncodeToString(h[:16])
}

// addMonths adds year*100+month (UTC) of every value of the partition
// column (DateTime64, Int64 epoch µs or Int32 days since 1970-01-01,
// nullable or not) to months.
func addMonths(values any, months map[int]bool) {
	last := -1
	add := func(t time.Time) {
		y, m, _ := t.UTC().Date()
		if ym := y*100 + int(m); ym != last {
			months[ym], last = true, ym
		}
	}
	switch v := values.(type) {
	case []time.Time:
		for _, t := range v {
			add(t)
		}
	case []*time.Time:
		for _, t := range v {
			if t != nil {
				add(*t)
			}
		}
	case []int64:
		for _, n := range v {
			add(time.UnixMicro(n))
		}
	case []*int64:
		for _, n := range v {
			if n != nil {
				add(time.UnixMicro(*n))
			}
		}
	case []int32: // legacy date: days since 1970-01-01
		for _, d := range v {
			add(time.Unix(int64(d)*86400, 0))
		}
	case []*int32:
		for _, d := range v {
			if d != nil {
				add(time.Unix(int64(*d)*86400, 0))
			}
		}
	}
}
