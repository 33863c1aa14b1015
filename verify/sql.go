package verify

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// pgKeyHash and chKeyHash are a 60-bit non-negative hash of the key text,
// used to bucket tables whose key is not a single integer column: the
// same number on both sides, and no sign to trip over in % and /.
func pgKeyHash(text string) string {
	return fmt.Sprintf("('x' || md5(%s))::bit(60)::bigint", text)
}

func chKeyHash(text string) string {
	return fmt.Sprintf("bitShiftRight(reinterpretAsUInt64(reverse(substring(MD5(%s), 1, 8))), 4)", text)
}

// pgJoin and chJoin join never-NULL normalized texts with '|'. The text
// forms are self-delimiting (typemap/norm.go), so a value can move between
// columns or swap with a neighbour without giving the same row text.
func pgJoin(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return "concat_ws('|', " + strings.Join(parts, ", ") + ")"
}

func chJoin(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	var b strings.Builder
	b.WriteString("concat(")
	for i, p := range parts {
		if i > 0 {
			b.WriteString(", '|', ")
		}
		b.WriteString(p)
	}
	b.WriteString(")")
	return b.String()
}

// pgIdent quotes a PostgreSQL identifier.
func pgIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// pgString quotes a PostgreSQL string literal (standard_conforming_strings).
func pgString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Aliases of computed columns, chosen so no source column shadows them
// (old ClickHouse releases let an alias replace a column of the same name).
const (
	aliasBucket = "sluice_bucket_"
	aliasHash   = "sluice_hash_"
	aliasKey    = "sluice_key_"
	aliasText   = "sluice_text_"
)

// chSettings keeps ClickHouse from moving the WHERE into a PREWHERE,
// which would filter (on _is_deleted) before FINAL picks the latest
// version and could bring back a deleted row's older version.
const chSettings = " SETTINGS optimize_move_to_prewhere = 0"

// tableSQL holds the per-table expressions every query is built from.
type tableSQL struct {
	table  ddl.Table
	norms  []typemap.Norm
	hashes []hashInput // row hash inputs, one per column (hash.go)
	// textCols are the columns hashed from their text (hashInput.textual).
	textCols []int
	keyCols  []int // indexes of the key columns in table.Columns
	// intKey: the key is one integer column, so segments are key ranges
	// that both databases answer from their primary index.
	intKey bool
	pgFrom string // schema.table
	chFrom string // database.table FINAL
	// month restricts both sides to one calendar month (UTC) of the
	// partition column; empty for the whole table.
	pgMonth, chMonth string
}

func newTableSQL(t ddl.Table, chDatabase string, p chconn.Profile, pol typemap.Policies) (*tableSQL, error) {
	if len(t.PrimaryKey) == 0 {
		return nil, fmt.Errorf("verify: table %s has no primary key", t.Name)
	}
	ts := &tableSQL{
		table:  t,
		pgFrom: pgIdent(t.Schema) + "." + pgIdent(t.Name),
		chFrom: chconn.QuoteIdent(chDatabase) + "." + chconn.QuoteIdent(t.Name) + " FINAL",
	}
	for _, c := range t.Columns {
		if strings.HasPrefix(c.Name, "sluice_") && strings.HasSuffix(c.Name, "_") {
			return nil, fmt.Errorf("verify: table %s: column %s uses a name verify reserves for its own aliases", t.Name, c.Name)
		}
		n, err := typemap.NormExprs(c, pgIdent(c.Name), chconn.QuoteIdent(c.Name), p, pol)
		if err != nil {
			return nil, fmt.Errorf("verify: table %s: %w", t.Name, err)
		}
		ts.norms = append(ts.norms, n)
		in := newHashInput(c, pgIdent(c.Name), chconn.QuoteIdent(c.Name), n, p, pol)
		if in.textual {
			ts.textCols = append(ts.textCols, len(ts.hashes))
		}
		ts.hashes = append(ts.hashes, in)
	}
	for _, k := range t.PrimaryKey {
		i := columnIndex(t, k)
		if i < 0 {
			return nil, fmt.Errorf("verify: table %s: key column %s is not a column", t.Name, k)
		}
		ts.keyCols = append(ts.keyCols, i)
	}
	if len(ts.keyCols) == 1 {
		switch c := t.Columns[ts.keyCols[0]]; c.Kind() {
		case typemap.KindInt16, typemap.KindInt32, typemap.KindInt64:
			ts.intKey = !c.Array
		}
	}
	return ts, nil
}

func columnIndex(t ddl.Table, name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func (ts *tableSQL) keyName() string { return ts.table.Columns[ts.keyCols[0]].Name }

// orderedText reports whether the textual columns are checksummed per
// segment, as one MD5 of their texts in key order, rather than per row:
// PostgreSQL's md5() costs about a microsecond a call (a new OpenSSL
// context each time) whatever the length, so one call per segment instead
// of one per row and column is the cheaper way to hash text. It needs rows
// in key order, which an integer key range gives from the primary index;
// other keys hash their text per row.
func (ts *tableSQL) orderedText() bool { return ts.intKey && len(ts.textCols) > 0 }

// rowInputs are the row hash's inputs: every column, or, when the text is
// checksummed per segment, the columns with an integer form.
func (ts *tableSQL) rowInputs() []hashInput {
	if !ts.orderedText() {
		return ts.hashes
	}
	var out []hashInput
	for _, in := range ts.hashes {
		if !in.textual {
			out = append(out, in)
		}
	}
	return out
}

func (ts *tableSQL) chRowHash() string { return chRowHashOf(ts.rowInputs()) }

// Segment text: the textual columns' normalized texts joined by '|' per
// row, rows joined by newlines in key order, hashed with MD5. Neither
// separator occurs in a form that is not length-prefixed (norm.go), so
// the joined text tells every value apart, NULL ('\N') from ” ('0:').
func (ts *tableSQL) pgRowText() string {
	parts := make([]string, len(ts.textCols))
	for i, c := range ts.textCols {
		parts[i] = ts.norms[c].PG
	}
	return pgJoin(parts)
}

func (ts *tableSQL) chRowText() string {
	parts := make([]string, len(ts.textCols))
	for i, c := range ts.textCols {
		parts[i] = ts.norms[c].CH
	}
	return chJoin(parts)
}

func (ts *tableSQL) pgKeyText() string {
	parts := make([]string, len(ts.keyCols))
	for i, k := range ts.keyCols {
		parts[i] = ts.norms[k].PG
	}
	return pgJoin(parts)
}

func (ts *tableSQL) chKeyText() string {
	parts := make([]string, len(ts.keyCols))
	for i, k := range ts.keyCols {
		parts[i] = ts.norms[k].CH
	}
	return chJoin(parts)
}

// segment is a part of a table's key space: a half-open range [lo, hi) of
// an integer key, or the keys whose 60-bit key hash h has h % mod == rem.
type segment struct {
	lo, hi   int64
	mod, rem uint64
}

func (s segment) String() string {
	if s.mod != 0 {
		return fmt.Sprintf("keyhash %% %d = %d", s.mod, s.rem)
	}
	return fmt.Sprintf("[%d, %d)", s.lo, s.hi)
}

// split returns the n children of s (fewer when a range is narrower than n)
// and the bucket expressions numbering a row's child on each side.
func (ts *tableSQL) split(s segment, n int) (children []segment, pgBucket, chBucket string) {
	if !ts.intKey {
		for j := 0; j < n; j++ {
			children = append(children, segment{mod: s.mod * uint64(n), rem: s.rem + s.mod*uint64(j)})
		}
		pgBucket = fmt.Sprintf("((%s / %d) %% %d)", pgKeyHash(ts.pgKeyText()), s.mod, n)
		chBucket = fmt.Sprintf("(intDiv(%s, %d) %% %d)", chKeyHash(ts.chKeyText()), s.mod, n)
		return children, pgBucket, chBucket
	}
	width := (s.hi - s.lo + int64(n) - 1) / int64(n)
	if width < 1 {
		width = 1
	}
	for lo := s.lo; lo < s.hi; lo += width {
		children = append(children, segment{lo: lo, hi: min(lo+width, s.hi)})
	}
	k := ts.keyName()
	pgBucket = fmt.Sprintf("((%s - %d) / %d)", pgIdent(k), s.lo, width)
	chBucket = fmt.Sprintf("intDiv(%s - %d, %d)", chconn.QuoteIdent(k), s.lo, width)
	return children, pgBucket, chBucket
}

// chTextKeys bounds the key range of one ClickHouse digest query when the
// text is checksummed per segment: ClickHouse holds every text of the
// query in memory (groupArray) until the buckets are sorted, so a table's
// first pass is read in runs of segments of at most this many keys (keys
// are unique, so at most this many rows: ~50-100 MB of short texts).
const chTextKeys = 2_000_000

// chRuns splits s into the ranges ClickHouse digests one query each:
// s itself, or, for the per-segment text, runs of consecutive children
// covering at most chTextKeys keys (a single child may cover more).
func (ts *tableSQL) chRuns(s segment, children []segment) []segment {
	if !ts.orderedText() || s.hi-s.lo <= chTextKeys {
		return []segment{s}
	}
	var out []segment
	for _, c := range children {
		if n := len(out); n > 0 && c.hi-out[n-1].lo <= chTextKeys {
			out[n-1].hi = c.hi
			continue
		}
		out = append(out, c)
	}
	return out
}

// canSplit reports whether s has more than one possible key.
func (ts *tableSQL) canSplit(s segment) bool {
	if ts.intKey {
		return s.hi-s.lo > 1
	}
	return s.mod < 1<<50
}

func (ts *tableSQL) pgWhere(s segment) string {
	var conds []string
	if ts.pgMonth != "" {
		conds = append(conds, ts.pgMonth)
	}
	switch {
	case ts.intKey:
		k := pgIdent(ts.keyName())
		conds = append(conds, fmt.Sprintf("%s >= %d AND %s < %d", k, s.lo, k, s.hi))
	case s.mod > 1:
		conds = append(conds, fmt.Sprintf("%s %% %d = %d", pgKeyHash(ts.pgKeyText()), s.mod, s.rem))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// chWhere filters one segment. withDeleted keeps delete markers (leaf
// reads classify them); checksums exclude them. The key range and month
// filters hold for every version of a row (the key and the partition
// column never change), so applying them together with FINAL is safe.
func (ts *tableSQL) chWhere(s segment, withDeleted bool) string {
	var conds []string
	if !withDeleted {
		conds = append(conds, chconn.QuoteIdent(ddl.ColIsDeleted)+" = 0")
	}
	if ts.chMonth != "" {
		conds = append(conds, ts.chMonth)
	}
	switch {
	case ts.intKey:
		k := chconn.QuoteIdent(ts.keyName())
		conds = append(conds, fmt.Sprintf("%s >= %d AND %s < %d", k, s.lo, k, s.hi))
	case s.mod > 1:
		conds = append(conds, fmt.Sprintf("%s %% %d = %d", chKeyHash(ts.chKeyText()), s.mod, s.rem))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// pgDigestSQL counts and checksums the children of s in one pass. The
// inputs are computed in a subquery, and the row hash over them in a
// second one, each kept by OFFSET 0 from being merged into the query
// above: so each input is computed once though both lanes read it, and
// the row hash once though sum and bit_xor both read it (PostgreSQL does
// not share a repeated expression between aggregates: with the row hash
// written in both, the lanes ran twice, a quarter of a segment's cost).
func (ts *tableSQL) pgDigestSQL(s segment, pgBucket string) string {
	ins := ts.rowInputs()
	cols, names := pgInputs(ins)
	h := pgRowHashOf(ins, names)
	return fmt.Sprintf("SELECT %[1]s, count(*), sum(%[2]s)::text, bit_xor(%[2]s) FROM (SELECT %[1]s, %[3]s AS %[2]s FROM (SELECT %[4]s AS %[1]s, %[5]s FROM %[6]s%[7]s OFFSET 0) s OFFSET 0) h GROUP BY %[1]s",
		aliasBucket, aliasHash, h, pgBucket, strings.Join(cols, ", "), ts.pgFrom, ts.pgWhere(s))
}

// pgSegmentDigestSQL is the digest of one segment, with its text checksum
// (orderedText). The text is aggregated over a subquery ordered by the key:
// the primary-key range scan delivers that order, so no sort runs, where
// string_agg(... ORDER BY key) would sort every segment again (PostgreSQL
// before 16 always sorts for an ordered aggregate), a third of the
// segment's cost. An aggregate consumes its input in the order its input
// node returns it; the session disables parallel plans
// (prepareSession), the only ones that could interleave that input. A
// misordered input could only make the digests differ, never agree. One
// query per segment (an aggregate over ordered input cannot be grouped by
// bucket); the sessions send them as a batch. The row hash is computed
// once per row in a second subquery, as in pgDigestSQL; a subquery that
// only computes columns returns its input's rows in their order.
func (ts *tableSQL) pgSegmentDigestSQL(s segment) string {
	ins := ts.rowInputs()
	cols, names := pgInputs(ins)
	h := pgRowHashOf(ins, names)
	return fmt.Sprintf("SELECT count(*), coalesce(sum(%[1]s), 0)::text, coalesce(bit_xor(%[1]s), 0), coalesce(md5(string_agg(%[2]s, E'\\n')), '') FROM (SELECT %[2]s, %[9]s AS %[1]s FROM (SELECT %[4]s AS %[3]s, %[5]s AS %[2]s, %[6]s FROM %[7]s%[8]s ORDER BY %[3]s OFFSET 0) s OFFSET 0) h",
		aliasHash, aliasText, aliasKey, pgIdent(ts.keyName()), ts.pgRowText(), strings.Join(cols, ", "), ts.pgFrom, ts.pgWhere(s), h)
}

func (ts *tableSQL) chDigestSQL(s segment, chBucket string) string {
	text := ""
	if ts.orderedText() {
		// The texts sorted by their keys (unique). The two groupArray
		// states of a bucket take and merge the same rows in the same
		// order, so the arrays stay aligned. Sorting one array by another
		// compares integers; sorting (key, text) tuples compared tuples
		// and cost 18.16 half again as much (0.83 s -> 0.57 s for 2M rows).
		text = fmt.Sprintf(", lower(hex(MD5(arrayStringConcat(arraySort((x, k) -> k, groupArray(%s), groupArray(%s)), '\\n'))))", aliasText, aliasKey)
	}
	return fmt.Sprintf("SELECT %[1]s, count(), sum(%[2]s), groupBitXor(%[2]s)%[7]s FROM (SELECT %[3]s AS %[1]s, %[4]s AS %[2]s%[8]s FROM %[5]s%[6]s) GROUP BY %[1]s"+chSettings,
		aliasBucket, aliasHash, chBucket, ts.chRowHash(), ts.chFrom, ts.chWhere(s, false), text, ts.chTextColumns())
}

// chTextColumns selects the key and the row text for the segment text.
func (ts *tableSQL) chTextColumns() string {
	if !ts.orderedText() {
		return ""
	}
	return fmt.Sprintf(", %s AS %s, %s AS %s", chconn.QuoteIdent(ts.keyName()), aliasKey, ts.chRowText(), aliasText)
}

// Leaf reads return, per row: the key text, the key's display values, one
// MD5 per column, and on ClickHouse the version and the delete mark.
func (ts *tableSQL) pgLeafSQL(s segment) string {
	cols := []string{ts.pgKeyText()}
	for i, k := range ts.keyCols {
		// Aliased: ORDER BY a name would pick this text column, not the key.
		cols = append(cols, fmt.Sprintf("%s::text AS sluice_key%d_", pgIdent(ts.table.Columns[k].Name), i))
	}
	for _, n := range ts.norms {
		cols = append(cols, "md5("+n.PG+")")
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + ts.pgFrom + ts.pgWhere(s)
}

func (ts *tableSQL) chLeafSQL(s segment) string {
	cols := []string{ts.chKeyText()}
	for _, k := range ts.keyCols {
		cols = append(cols, "toString("+chconn.QuoteIdent(ts.table.Columns[k].Name)+")")
	}
	for _, n := range ts.norms {
		cols = append(cols, "lower(hex(MD5("+n.CH+")))")
	}
	cols = append(cols, chconn.QuoteIdent(ddl.ColVersion), chconn.QuoteIdent(ddl.ColIsDeleted))
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + ts.chFrom + ts.chWhere(s, true) + chSettings
}

// Key bounds of an integer key (the root range).
func (ts *tableSQL) pgBoundsSQL() string {
	k := pgIdent(ts.keyName())
	where := ""
	if ts.pgMonth != "" {
		where = " WHERE " + ts.pgMonth
	}
	return fmt.Sprintf("SELECT min(%s)::text, max(%s)::text FROM %s%s", k, k, ts.pgFrom, where)
}

func (ts *tableSQL) chBoundsSQL() string {
	k := chconn.QuoteIdent(ts.keyName())
	// No FINAL: the bounds of every version cover those of the latest.
	from := strings.TrimSuffix(ts.chFrom, " FINAL")
	where := ""
	if ts.chMonth != "" {
		where = " WHERE " + ts.chMonth
	}
	return fmt.Sprintf("SELECT count(), toString(min(%s)), toString(max(%s)) FROM %s%s", k, k, from, where)
}

// monthFilters restricts the partition column c to month (YYYY-MM, UTC).
// PostgreSQL sessions run with TimeZone=UTC, so a date literal means UTC
// midnight for date, timestamp and timestamptz alike.
func monthFilters(c typemap.Column, month string, p chconn.Profile) (pgCond, chCond string, err error) {
	start, end, err := monthBounds(month)
	if err != nil {
		return "", "", err
	}
	pgCond = fmt.Sprintf("%[1]s >= %[2]s AND %[1]s < %[3]s", pgIdent(c.Name), pgString(start.Format("2006-01-02")), pgString(end.Format("2006-01-02")))
	q := chconn.QuoteIdent(c.Name)
	switch {
	case c.Kind() == typemap.KindDate && p.Date32:
		// toDate would clamp a date before 1970 to 1970-01-01.
		chCond = fmt.Sprintf("%[1]s >= toDate32('%[2]s') AND %[1]s < toDate32('%[3]s')", q, start.Format("2006-01-02"), end.Format("2006-01-02"))
	case c.Kind() == typemap.KindDate: // Int32 days since 1970-01-01 (month starts are UTC midnights: exact)
		chCond = fmt.Sprintf("%[1]s >= %[2]d AND %[1]s < %[3]d", q, start.Unix()/86400, end.Unix()/86400)
	case p.DateTime64:
		chCond = fmt.Sprintf("%[1]s >= toDateTime64('%[2]s', 6, 'UTC') AND %[1]s < toDateTime64('%[3]s', 6, 'UTC')", q, start.Format("2006-01-02 15:04:05"), end.Format("2006-01-02 15:04:05"))
	default: // Int64 epoch µs
		chCond = fmt.Sprintf("%[1]s >= %[2]s AND %[1]s < %[3]s", q, strconv.FormatInt(start.UnixMicro(), 10), strconv.FormatInt(end.UnixMicro(), 10))
	}
	return pgCond, chCond, nil
}
