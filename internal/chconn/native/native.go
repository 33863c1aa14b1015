// Package native implements chconn.Conn over ClickHouse's native protocol
// with clickhouse-go v2 (the HTTP transport cannot talk to 18.16).
package native

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/secure"
)

// readTimeout bounds one read from the server without a context deadline.
const readTimeout = 60 * time.Second

// Conn is a native-protocol connection.
type Conn struct {
	conn    driver.Conn
	target  chconn.Target
	profile chconn.Profile
}

var _ chconn.Conn = (*Conn)(nil)

// Open connects, reads version() once and derives the capability profile.
// With secure=true (or any TLS parameter) the native protocol runs over TLS,
// verified against tls_ca_file (default: the system roots). A failure to
// connect, to complete the TLS handshake or to authenticate is a
// *secure.ConnError naming the server and the cause, marked with exit code 4.
func Open(ctx context.Context, rawURL string) (*Conn, error) {
	t, err := chconn.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts := &clickhouse.Options{
		Addr:        []string{t.Addr},
		Auth:        clickhouse.Auth{Database: t.Database, Username: t.User, Password: t.Password},
		DialTimeout: t.DialTimeout,
		// Each read waits at most this long when the caller's context has
		// no deadline (clickhouse-go's default is 300 s); a context deadline
		// replaces it. The server sends progress packets while a query
		// runs, so only a frozen or lost server stays silent this long.
		ReadTimeout: readTimeout,
		// The encode buffer is sent once it passes this size (after a
		// column) and keeps its capacity with the pooled connection.
		MaxCompressionBuffer: 2 << 20,
	}
	if t.Secure {
		if opts.TLS, err = t.TLS.Config("clickhouse-tls"); err != nil {
			return nil, fmt.Errorf("chconn: %w", err)
		}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, secure.Unavailable("ClickHouse", t.Addr, err)
	}
	c := &Conn{conn: conn, target: t}
	var version string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		conn.Close()
		return nil, secure.Unavailable("ClickHouse", t.Addr, err)
	}
	if c.profile, err = chconn.ProfileForString(version); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) Profile() chconn.Profile { return c.profile }

func (c *Conn) Close() error { return c.conn.Close() }

// Exec runs a statement. Note: on 18.16, INSERT ... VALUES through Exec
// hangs; use Insert.
func (c *Conn) Exec(ctx context.Context, query string) error {
	if err := c.conn.Exec(ctx, query); err != nil {
		return fmt.Errorf("chconn: exec on %s: %w", c.target.Addr, err)
	}
	return nil
}

// Query returns all rows as text.
func (c *Conn) Query(ctx context.Context, query string) ([][]string, error) {
	rows, err := c.conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("chconn: query on %s: %w", c.target.Addr, err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	dest := make([]any, len(types))
	var out [][]string
	for rows.Next() {
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("chconn: scan: %w", err)
		}
		row := make([]string, len(dest))
		for i, d := range dest {
			row[i] = chconn.FormatValue(d)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// insertChunkRows and insertChunkBytes bound one data block sent within
// an insert: clickhouse-go copies appended values into its own columns and
// encodes a block whole into the connection's buffer, which the pool keeps
// with every idle connection (up to 5), so a large insert is sent as
// several blocks of one INSERT. The server squashes them
// (min_insert_block_size_rows), so parts are not smaller. By bytes: 8192
// rows of 3 KB strings left 24 MB buffers on each pooled connection (71 MB
// of a 211 MB live heap in the replicate benchmark).
const (
	insertChunkRows  = 8192
	insertChunkBytes = 2 << 20
)

// rowsWithin is how many of rows make about maxBytes of data (at least 256,
// at most maxRows), from the string columns' sizes and 8 bytes for every
// other value or for every column fixed(i) reports as fixed-width; sizes,
// when given, holds a column's data size where it is >= 0.
func rowsWithin(values []reflect.Value, rows, maxRows, maxBytes int, fixed func(i int) bool, sizes []int) int {
	if rows == 0 {
		return maxRows
	}
	total := 0
	for i, rv := range values {
		switch {
		case fixed != nil && fixed(i):
			total += 8 * rows
			continue
		case sizes != nil && sizes[i] >= 0:
			total += sizes[i]
			continue
		}
		switch v := rv.Interface().(type) {
		case []string:
			for _, s := range v {
				total += len(s)
			}
		case []*string:
			for _, s := range v {
				if s != nil {
					total += len(*s)
				}
			}
		default:
			total += 8 * rows
		}
	}
	perRow := max(total/rows, 1)
	return min(max(maxBytes/perRow, 256), maxRows)
}

// insertQuery is the INSERT statement of columns: 18.16 needs the
// explicit column list.
func insertQuery(table string, columns []string) string {
	q := "INSERT INTO " + table + " ("
	for i, col := range columns {
		if i > 0 {
			q += ", "
		}
		q += chconn.QuoteIdent(col)
	}
	return q + ")"
}

// Insert sends one block through PrepareBatch (18.16 needs the explicit
// column list), as data blocks of about insertChunkBytes: the server
// squashes them into one part per partition. Scaled decimal columns go
// out as they are on the wire (chconn.ScaledDecimalColumn).
func (c *Conn) Insert(ctx context.Context, table string, columns []string, data []chconn.Column) error {
	if token := chconn.InsertDedupToken(ctx); token != "" {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": token}))
	}
	batch, err := c.conn.PrepareBatch(ctx, insertQuery(table, columns))
	if err != nil {
		return fmt.Errorf("chconn: insert into %s: prepare: %w", table, err)
	}
	s := newStream(table, columns, batch, insertChunkRows, insertChunkBytes)
	s.single = true
	if err := s.Write(ctx, data); err != nil {
		batch.Abort()
		return err
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chconn: insert into %s: send: %w", table, err)
	}
	return nil
}
