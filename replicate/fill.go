package replicate

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// storedRow is a row's latest state read back from ClickHouse (FINAL), as
// JSON tokens AppendDebezium accepts without a field schema.
type storedRow struct {
	vals    []val
	deleted bool
}

// lookupChunk bounds the keys of one FINAL lookup query.
const lookupChunk = 500

// lookup reads the current rows of the given keys (canonical key → the
// event holding its key values) from ClickHouse with FINAL.
func lookup(ctx context.Context, conn chconn.Conn, t *table, keys map[string]*event, cols []int) (map[string]*storedRow, error) {
	out := map[string]*storedRow{}
	var chunk []*event
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := lookupKeys(ctx, conn, t, chunk, cols, out)
		chunk = chunk[:0]
		return err
	}
	for _, e := range keys {
		chunk = append(chunk, e)
		if len(chunk) == lookupChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return out, flush()
}

func lookupKeys(ctx context.Context, conn chconn.Conn, t *table, events []*event, cols []int, out map[string]*storedRow) error {
	keyCols := events[0].keyCols
	var sel []string
	for _, i := range keyCols {
		sel = append(sel, selectExpr(t.cols[i])...)
	}
	sel = append(sel, chconn.QuoteIdent(ddl.ColIsDeleted))
	for _, i := range cols {
		sel = append(sel, selectExpr(t.cols[i])...)
	}
	var tuples []string
	for _, e := range events {
		tuples = append(tuples, "("+strings.ReplaceAll(e.key, "\x00", ", ")+")")
	}
	names := make([]string, len(keyCols))
	for j, i := range keyCols {
		names[j] = chconn.QuoteIdent(t.cols[i].col.Name)
	}
	rows, err := conn.Query(ctx, lookupQuery(t.name, sel, names, tuples))
	if err != nil {
		return fmt.Errorf("table %s: read current rows for the fill: %w", t.name, err)
	}
	for _, r := range rows {
		if err := addStoredRow(t, keyCols, cols, r, out); err != nil {
			return err
		}
	}
	return nil
}

// lookupQuery reads the latest row of each key without FINAL: the
// primary-key condition then moves to PREWHERE, so only the granules
// holding a key are read beyond the key columns, and no merge of every part
// of the table is needed; the version order picks what FINAL would (rows of
// equal version are replays of the same change). Unlike FINAL on servers
// with ReplacingMergeTree(_version, _is_deleted), it also returns delete
// markers, which the fill treats as no live row.
func lookupQuery(table string, sel, keyNames, tuples []string) string {
	keys := strings.Join(keyNames, ", ")
	cond := "(" + keys + ")"
	if len(keyNames) == 1 {
		cond = keys
	}
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s IN (%s) ORDER BY %s DESC LIMIT 1 BY %s",
		strings.Join(sel, ", "), chconn.QuoteIdent(table), cond, strings.Join(tuples, ", "),
		chconn.QuoteIdent(ddl.ColVersion), keys)
}

// selectExpr selects a column as (isNull, text): the null flag keeps NULL
// apart from a string that reads \N; bytes come as hex so any byte survives.
func selectExpr(c column) []string {
	q := chconn.QuoteIdent(c.col.Name)
	text := "toString(" + q + ")"
	switch {
	case c.col.Kind() == typemap.KindBytes && c.col.Array:
		text = "toString(arrayMap(x -> hex(x), " + q + "))"
	case c.col.Kind() == typemap.KindBytes:
		text = "hex(" + q + ")"
	}
	return []string{"isNull(" + q + ")", "ifNull(" + text + ", '')"}
}

// lookupCols are the columns the events' fills need (fillCols), in table
// order: a lookup reads only those (deletes of the shop's tables need the
// partition column alone), the others stay absent in the stored row. It
// runs on the main goroutine (it reads the table), before the lookup.
func lookupCols(ncols int, keys map[string]*event) []int {
	need := make([]bool, ncols)
	for _, e := range keys {
		e.fillCols(func(i int) { need[i] = true })
	}
	var cols []int
	for i, n := range need {
		if n {
			cols = append(cols, i)
		}
	}
	return cols
}

func addStoredRow(t *table, keyCols, cols []int, r []string, out map[string]*storedRow) error {
	want := 2*len(keyCols) + 1 + 2*len(cols)
	if len(r) != want {
		return fmt.Errorf("table %s: fill lookup returned %d columns, want %d", t.name, len(r), want)
	}
	var lits []string
	for j, i := range keyCols {
		tok, err := tokenFromClickHouse(t.cols[i], r[2*j] == "1", r[2*j+1])
		if err != nil {
			return fmt.Errorf("table %s: key column %s: %w", t.name, t.cols[i].col.Name, err)
		}
		lit, err := keyLiteral(&t.cols[i], tok, nil)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		lits = append(lits, lit)
	}
	base := 2 * len(keyCols)
	row := &storedRow{deleted: r[base] == "1", vals: make([]val, len(t.cols))}
	for j, i := range cols {
		tok, err := tokenFromClickHouse(t.cols[i], r[base+1+2*j] == "1", r[base+2+2*j])
		if err != nil {
			return fmt.Errorf("table %s: column %s: stored value %q: %w", t.name, t.cols[i].col.Name, r[base+2+2*j], err)
		}
		row.vals[i] = val{raw: tok, state: valPresent}
	}
	out[strings.Join(lits, "\x00")] = row
	return nil
}

// keyLiteral renders one key value as a SQL literal through the column's
// type contract, so keys from messages and from ClickHouse compare equal.
func keyLiteral(c *column, raw []byte, fs *typemap.FieldSchema) (string, error) {
	if c.keyB.Len() > 1024 {
		c.keyB.Reset()
	}
	if err := c.keyB.AppendDebezium(raw, fs); err != nil {
		return "", fmt.Errorf("key column %s: %w", c.col.Name, err)
	}
	return c.keyB.Literal(c.keyB.Len() - 1), nil
}

// tokenFromClickHouse turns ClickHouse's text form of a stored value into
// the JSON token a schemaless Debezium message would carry for it.
func tokenFromClickHouse(c column, null bool, text string) ([]byte, error) {
	if null {
		return []byte("null"), nil
	}
	if !c.col.Array {
		return scalarToken(c.col.Kind(), text)
	}
	elems, err := parseArrayText(text)
	if err != nil {
		return nil, err
	}
	var b []byte
	b = append(b, '[')
	for i, el := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		if el == nil {
			b = append(b, "null"...)
			continue
		}
		tok, err := scalarToken(c.col.Kind(), *el)
		if err != nil {
			return nil, err
		}
		b = append(b, tok...)
	}
	return append(b, ']'), nil
}

func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func scalarToken(k typemap.Kind, text string) ([]byte, error) {
	switch k {
	case typemap.KindInt16, typemap.KindInt32, typemap.KindInt64, typemap.KindTime, typemap.KindInterval:
		return []byte(text), nil
	case typemap.KindFloat32, typemap.KindFloat64:
		switch text {
		case "nan", "-nan":
			return []byte(`"NaN"`), nil
		case "inf", "+inf":
			return []byte(`"Infinity"`), nil
		case "-inf":
			return []byte(`"-Infinity"`), nil
		}
		return []byte(text), nil
	case typemap.KindBool:
		if text == "1" || text == "true" {
			return []byte("true"), nil
		}
		return []byte("false"), nil
	case typemap.KindDecimal, typemap.KindNumeric, typemap.KindMoney:
		if json.Valid([]byte(text)) {
			return []byte(text), nil // Decimal(P,S): a JSON number
		}
		return quoteJSON(text), nil // String storage: text
	case typemap.KindBytes:
		raw, err := hex.DecodeString(text)
		if err != nil {
			return nil, err
		}
		return quoteJSON(base64.StdEncoding.EncodeToString(raw)), nil
	case typemap.KindDate:
		if isInteger(text) {
			return []byte(text), nil // Int32 days since 1970-01-01 (servers without Date32)
		}
		return quoteJSON(text), nil // Date32 text: IsoDate
	case typemap.KindTimestamp, typemap.KindTimestampTZ:
		if isInteger(text) {
			return []byte(text), nil // Int64 epoch µs (servers without DateTime64)
		}
		return quoteJSON(strings.Replace(text, " ", "T", 1) + "Z"), nil
	}
	return quoteJSON(text), nil
}

// isInteger reports whether text is an optionally signed decimal integer
// (a stored day or microsecond count), not a date or date-time text.
func isInteger(text string) bool {
	digits := strings.TrimPrefix(text, "-")
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}

// parseArrayText reads ClickHouse's text form of an array: [1,NULL,3] or
// ['a\'b',NULL]. A nil element is NULL.
func parseArrayText(s string) ([]*string, error) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, fmt.Errorf("not an array text: %q", s)
	}
	s = s[1 : len(s)-1]
	var out []*string
	for i := 0; i < len(s); {
		switch {
		case s[i] == ',' || s[i] == ' ':
			i++
		case s[i] == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '\''; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
					b.WriteByte(unescapeByte(s[j]))
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string in array text")
			}
			str := b.String()
			out = append(out, &str)
			i = j + 1
		default:
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			tok := strings.TrimSpace(s[i : i+j])
			if tok == "NULL" {
				out = append(out, nil)
			} else {
				out = append(out, &tok)
			}
			i += j
		}
	}
	return out, nil
}

func unescapeByte(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case '0':
		return 0
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	}
	return c
}

// zeroToken is the value ClickHouse gives a NOT NULL column that a message
// does not carry (the column's default after ADD COLUMN).
func zeroToken(c column) []byte {
	if c.col.Array {
		return []byte("[]")
	}
	switch c.col.Kind() {
	case typemap.KindText, typemap.KindJSON, typemap.KindInet, typemap.KindBpchar, typemap.KindEnum:
		return []byte(`""`)
	case typemap.KindBytes:
		return []byte(`""`)
	case typemap.KindBool:
		return []byte("false")
	case typemap.KindUUID:
		return []byte(`"00000000-0000-0000-0000-000000000000"`)
	}
	return []byte("0")
}
