package native

import (
	"context"
	"fmt"
	"reflect"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

var _ chconn.Streamer = (*Conn)(nil)

// streamBlockRows bounds the rows of one data block the stream sends:
// clickhouse-go copies appended values into its own columns, so this
// bounds the copy.
const streamBlockRows = 8192

// InsertStream keeps one clickhouse-go batch open across writes: every
// Write flushes its rows as data blocks of the same INSERT, Close sends
// the end of data.
func (c *Conn) InsertStream(ctx context.Context, table string, columns []string) (chconn.InsertStream, error) {
	q := "INSERT INTO " + table + " ("
	for i, col := range columns {
		if i > 0 {
			q += ", "
		}
		q += chconn.QuoteIdent(col)
	}
	q += ")"
	batch, err := c.conn.PrepareBatch(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("chconn: insert stream into %s: prepare: %w", table, err)
	}
	return &stream{table: table, columns: columns, batch: batch, values: make([]reflect.Value, len(columns))}, nil
}

type stream struct {
	table   string
	columns []string
	batch   driver.Batch
	values  []reflect.Value
}

func (s *stream) Write(ctx context.Context, data []chconn.Column) error {
	if len(data) != len(s.columns) {
		return fmt.Errorf("chconn: insert stream into %s: %d columns, %d data columns", s.table, len(s.columns), len(data))
	}
	rows := data[0].Len()
	for i, d := range data {
		if d.Len() != rows {
			return fmt.Errorf("chconn: insert stream into %s: column %s has %d rows, want %d", s.table, s.columns[i], d.Len(), rows)
		}
		s.values[i] = reflect.ValueOf(d.Values())
	}
	for lo := 0; lo < rows; lo += streamBlockRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+streamBlockRows, rows)
		for i, v := range s.values {
			if err := s.batch.Column(i).Append(rowRange(v, lo, hi)); err != nil {
				return fmt.Errorf("chconn: insert stream into %s: column %s: %w", s.table, s.columns[i], err)
			}
		}
		if err := s.batch.Flush(); err != nil {
			return fmt.Errorf("chconn: insert stream into %s: send: %w", s.table, err)
		}
	}
	clear(s.values) // the caller reuses its buffers
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
