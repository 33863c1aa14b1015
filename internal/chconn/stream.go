package chconn

import "context"

// Streamer is implemented by a Conn that can send one INSERT as a stream
// of data blocks (checked by type assertion; chDB does not). A long insert
// lets the server squash the blocks into parts of its own
// min_insert_block_size_rows (about 1M rows) while the client holds one
// small block at a time: large parts with bounded client memory.
type Streamer interface {
	// InsertStream starts INSERT INTO table (columns) on a connection it
	// holds until Close or Abort.
	InsertStream(ctx context.Context, table string, columns []string, opts StreamOptions) (InsertStream, error)
}

// StreamOptions tune one insert stream.
type StreamOptions struct {
	// SquashRows, when > 0, is the insert's min_insert_block_size_rows:
	// the server writes a part per partition each time it has gathered
	// this many rows, or min_insert_block_size_bytes (256 MB by default,
	// which bounds its memory), whichever comes first.
	SquashRows int
}

// InsertStream is one open INSERT. Its methods are not safe for
// concurrent use.
type InsertStream interface {
	// Write sends the rows of data as data blocks of the insert; data may
	// be reused once Write returns. Rows are committed as the server's
	// squashed blocks fill up and at Close, not per Write.
	Write(ctx context.Context, data []Column) error
	// Close ends the insert and waits for the server to finish it.
	Close() error
	// Abort releases the insert's connection without ending the insert
	// normally. Rows already written stay: parts the server wrote and, on
	// 18.16 at least, the rest of what it received (it takes the closed
	// connection as the end of the data). Write sends whole blocks only.
	Abort()
}

// ScaledDecimalColumn is implemented by a Column of Decimal(p ≤ 18, s)
// values held as integers scaled by 10^s, so that a stream can send them
// as they are on the wire instead of converting every value through
// decimal.Decimal (three big.Int allocations per value in clickhouse-go).
type ScaledDecimalColumn interface {
	// ScaledInts returns the values scaled by 10^scale and, for a nullable
	// column, the NULL marks (nil when the column is not nullable).
	ScaledInts() (vals []int64, scale int, nulls []bool)
}
