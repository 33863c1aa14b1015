package native

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"reflect"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

var _ chconn.Streamer = (*Conn)(nil)

// streamBlockRows and streamBlockBytes bound one data block the stream
// sends: clickhouse-go copies appended values into its own columns and
// encodes a block whole into the connection's buffer, which the pool keeps
// once the insert ends. 2M order_items: 8192 rows per block cost 1.15 s of
// client CPU at 80 MB RSS, 32768 rows 1.05 s at 107 MB, 65536 rows 0.9 s
// at 120 MB (and fewer blocks for the server to take apart). The byte
// bound keeps rows of long strings from making huge buffers.
const (
	streamBlockRows  = 32768
	streamBlockBytes = 8 << 20
)

// blockRows is how many rows of a write make about maxBytes; the scaled
// decimal columns are 8 bytes a value.
func (s *stream) blockRows(rows int) int {
	return rowsWithin(s.values, rows, s.maxRows, s.maxBytes, func(i int) bool { return s.scaled[i].width != 0 }, s.sizes)
}

// InsertStream keeps one clickhouse-go batch open across writes: every
// Write flushes its rows as data blocks of the same INSERT, Close sends
// the end of data.
func (c *Conn) InsertStream(ctx context.Context, table string, columns []string, opts chconn.StreamOptions) (chconn.InsertStream, error) {
	q := insertQuery(table, columns)
	if opts.SquashRows > 0 {
		// An int setting: servers before 19.x take settings as typed varints.
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"min_insert_block_size_rows": opts.SquashRows}))
	}
	batch, err := c.conn.PrepareBatch(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("chconn: insert stream into %s: prepare: %w", table, err)
	}
	return newStream(table, columns, batch, streamBlockRows, streamBlockBytes), nil
}

// newStream wraps a prepared batch; data blocks hold at most maxRows rows
// of about maxBytes.
func newStream(table string, columns []string, batch driver.Batch, maxRows, maxBytes int) *stream {
	return &stream{
		table: table, columns: columns, batch: batch, cols: batch.Columns(),
		values: make([]reflect.Value, len(columns)), scaled: make([]scaledDecimal, len(columns)),
		maxRows: maxRows, maxBytes: maxBytes,
	}
}

type stream struct {
	table   string
	columns []string
	batch   driver.Batch
	// cols are the batch's columns (the same objects across flushes).
	cols   []column.Interface
	values []reflect.Value
	// scaled are the data columns sent as raw Decimal32/64 wire values.
	scaled []scaledDecimal
	// ranged are the chconn.RangeColumns, asked block by block; sizes
	// their DataSize (-1 for the others).
	ranged []chconn.RangeColumn
	sizes  []int
	wire   []byte
	// maxRows and maxBytes bound one data block.
	maxRows, maxBytes int
	single            bool // one Insert, not an InsertStream (for messages)
}

func (s *stream) what() string {
	if s.single {
		return "insert into"
	}
	return "insert stream into"
}

// scaledDecimal is a non-nullable decimal column whose scaled integers
// are written in the wire format and decoded into the batch column,
// bypassing clickhouse-go's per-value decimal.Decimal conversion.
type scaledDecimal struct {
	vals  []int64
	width int // bytes per value: 4 (Decimal32) or 8 (Decimal64); 0 = not used
}

// rawDecimal returns the wire shortcut for data column d going into col,
// when both agree on the scale and the column is a plain Decimal(p ≤ 18).
func rawDecimal(d chconn.Column, col column.Interface) scaledDecimal {
	sd, ok := d.(chconn.ScaledDecimalColumn)
	dc, isDec := col.(*column.Decimal)
	if !ok || !isDec {
		return scaledDecimal{}
	}
	vals, scale, nulls := sd.ScaledInts()
	if nulls != nil || int64(scale) != dc.Scale() {
		return scaledDecimal{}
	}
	switch p := dc.Precision(); {
	case p <= 9:
		return scaledDecimal{vals: vals, width: 4}
	case p <= 18:
		return scaledDecimal{vals: vals, width: 8}
	}
	return scaledDecimal{}
}

// appendRaw decodes rows [lo, hi) of a scaled column from its wire form
// into col, which must be empty (as it is after every flush): ch-go's
// fixed-width decoder fills the whole column.
func (s *stream) appendRaw(col column.Interface, sd scaledDecimal, lo, hi int) error {
	n := (hi - lo) * sd.width
	if cap(s.wire) < n {
		s.wire = make([]byte, n)
	}
	w := s.wire[:n]
	for i, v := range sd.vals[lo:hi] {
		if sd.width == 4 {
			binary.LittleEndian.PutUint32(w[4*i:], uint32(int32(v)))
		} else {
			binary.LittleEndian.PutUint64(w[8*i:], uint64(v))
		}
	}
	return col.Decode(proto.NewReader(bytes.NewReader(w)), hi-lo)
}

func (s *stream) Write(ctx context.Context, data []chconn.Column) error {
	if len(data) != len(s.columns) {
		return fmt.Errorf("chconn: %s %s: %d columns, %d data columns", s.what(), s.table, len(s.columns), len(data))
	}
	rows := data[0].Len()
	s.ranged = append(s.ranged[:0], make([]chconn.RangeColumn, len(data))...)
	s.sizes = append(s.sizes[:0], make([]int, len(data))...)
	for i, d := range data {
		if d.Len() != rows {
			return fmt.Errorf("chconn: %s %s: column %s has %d rows, want %d", s.what(), s.table, s.columns[i], d.Len(), rows)
		}
		s.sizes[i] = -1
		if s.scaled[i] = rawDecimal(d, s.cols[i]); s.scaled[i].width != 0 {
			continue
		}
		if rc, ok := d.(chconn.RangeColumn); ok {
			s.ranged[i], s.sizes[i] = rc, rc.DataSize()
			continue
		}
		s.values[i] = reflect.ValueOf(d.Values())
	}
	step := s.blockRows(rows)
	for lo := 0; lo < rows; lo += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+step, rows)
		for i, v := range s.values {
			var err error
			switch {
			case s.scaled[i].width != 0:
				err = s.appendRaw(s.cols[i], s.scaled[i], lo, hi)
			case s.ranged[i] != nil:
				err = s.batch.Column(i).Append(s.ranged[i].ValuesRange(lo, hi))
			default:
				err = s.batch.Column(i).Append(rowRange(v, lo, hi))
			}
			if err != nil {
				return fmt.Errorf("chconn: %s %s: column %s: %w", s.what(), s.table, s.columns[i], err)
			}
		}
		if err := s.batch.Flush(); err != nil {
			return fmt.Errorf("chconn: %s %s: send: %w", s.what(), s.table, err)
		}
	}
	clear(s.values) // the caller reuses its buffers
	clear(s.scaled)
	clear(s.ranged)
	return nil
}

func (s *stream) Close() error {
	if err := s.batch.Send(); err != nil {
		return fmt.Errorf("chconn: insert stream into %s: end: %w", s.table, err)
	}
	return nil
}

func (s *stream) Abort() { s.batch.Abort() }

// rowRange returns rows [lo, hi) of a column's typed slice, or the value
// itself when it is not a slice (a driver.Valuer).
func rowRange(v reflect.Value, lo, hi int) any {
	if v.Kind() != reflect.Slice || (lo == 0 && hi == v.Len()) {
		return v.Interface()
	}
	return v.Slice(lo, hi).Interface()
}
