package chconn

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Conn is one connection to a ClickHouse engine. Implementations: the
// native protocol (package native) and chDB (package chdb).
type Conn interface {
	// Exec runs a statement that returns no rows (DDL, INSERT ... SELECT).
	Exec(ctx context.Context, query string) error
	// Query runs a SELECT and returns every row as text, the way
	// ClickHouse's toString() would print it; small results only (catalog
	// reads, checksums, tests).
	Query(ctx context.Context, query string) ([][]string, error)
	// Insert appends one block of rows, column-oriented.
	Insert(ctx context.Context, table string, columns []string, data []Column) error
	// Profile is the capability profile read once at connect time.
	Profile() Profile
	Close() error
}

// Column is one column of an insert block (typemap.Builder satisfies it):
// Values gives a typed slice for the native protocol, Literal renders row i
// as a SQL literal for engines that only take SQL text.
type Column interface {
	Len() int
	Values() any
	Literal(i int) string
}

// RangeColumn is a Column that gives rows [lo, hi) as a typed slice of
// their own, valid until its next call, so that the native writer makes
// per-value views (strings, NULL pointers) for one data block at a time
// instead of for the whole column. DataSize is the bytes of its values,
// for sizing the data blocks.
type RangeColumn interface {
	Column
	ValuesRange(lo, hi int) any
	DataSize() int
}

// QuoteIdent quotes a ClickHouse identifier with backticks, escaping
// backslashes and backticks, so any catalog name is safe in SQL text.
func QuoteIdent(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 2)
	b.WriteByte('`')
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '`', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('`')
	return b.String()
}

// QuoteBytes renders raw bytes (possibly not UTF-8) as a ClickHouse string
// literal, every non-printable byte escaped as \xNN so binary data survives
// any SQL transport.
func QuoteBytes(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteString renders a ClickHouse string literal.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// InsertSQL renders a column-oriented block as INSERT ... VALUES text, for
// engines without a binary insert path (chDB).
func InsertSQL(table string, columns []string, data []Column) (string, error) {
	if len(columns) != len(data) {
		return "", fmt.Errorf("chconn: insert %s: %d columns, %d data columns", table, len(columns), len(data))
	}
	rows := 0
	if len(data) > 0 {
		rows = data[0].Len()
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	for i, c := range columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteIdent(c))
	}
	b.WriteString(") VALUES")
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" (")
		for i, d := range data {
			if d.Len() != rows {
				return "", fmt.Errorf("chconn: insert %s: column %s has %d rows, want %d", table, columns[i], d.Len(), rows)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.Literal(r))
		}
		b.WriteByte(')')
	}
	return b.String(), nil
}

// FormatValue prints a scanned value as text, the same for both engines.
func FormatValue(v any) string {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "\\N"
		}
		rv = rv.Elem()
	}
	switch x := rv.Interface().(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999999")
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(rv.Interface())
}

type dedupTokenKey struct{}

// WithInsertDedupToken asks the next Insert made with ctx to send the
// insert_deduplication_token setting, so that a retried block is not
// written twice. Callers set it only when Profile().InsertDedupToken; on
// non-replicated tables the server deduplicates only with the table
// setting non_replicated_deduplication_window > 0.
func WithInsertDedupToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, dedupTokenKey{}, token)
}

// InsertDedupToken returns the token set by WithInsertDedupToken, or "".
func InsertDedupToken(ctx context.Context) string {
	s, _ := ctx.Value(dedupTokenKey{}).(string)
	return s
}
