package replicate

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// table is one ClickHouse target table: its source columns in ClickHouse
// order, their builders, and the block being built.
type table struct {
	name    string
	cols    []column
	byName  map[string]int
	part    int // index of the partition column in cols, -1 when none or unknown
	fromPG  bool
	profile chconn.Profile
	pol     typemap.Policies
	block   *block // being built
	// spare is an empty block with builders, reused after a write.
	spare *block
	// layout changes when a column's builder type is refined.
	layout int
	// latest is, per canonical key, the last row of the pending block
	// (rows of earlier batches of the flush window not yet written).
	latest map[string]rowRef
	// markerCols are the columns a delete marker must carry besides the
	// message's own values: those the partition and sorting keys read (a
	// marker in another partition, or sorted apart, never replaces the
	// row). markerAll: a key reads something sluice cannot tell (a table
	// made by hand), so markers carry the whole row.
	markerCols []int
	markerAll  bool
	// written holds the keys of the window being written (flushAsync),
	// rows of the block writing: fills of those keys copy the row from it,
	// since ClickHouse has it only after that write.
	written map[string]rowRef
	writing *block
	// recent remembers what deletes need of rows written in earlier
	// windows (recent.go); nil until the run sees a delete of the table.
	recent *recentRows
	// collapses: the table is a ReplacingMergeTree versioned by _version,
	// so of a key's rows in one window only the last change is written
	// (see build): the merges would drop the others.
	collapses bool
	// plan maps the row members of the last record seen to columns.
	plan *rowPlan
}

// rowRef is a key's latest state held in a block: a row of the pending
// block (latest) or of the block being written (written). The block is
// the map's, not the entry's: 8 bytes an entry instead of 24 keep ~10 MB
// less live in a run at the default window (GC cycles, see recent.go).
type rowRef struct {
	row     int32
	deleted bool
}

// compact drops the pending block's superseded rows and renumbers the
// keys' references to its rows (each key's row is its last: never dropped).
func (t *table) compact(scratch *[]int32) {
	renumber := t.block.compact(*scratch)
	if renumber == nil {
		return
	}
	*scratch = renumber
	for k, ref := range t.latest {
		ref.row = renumber[ref.row]
		t.latest[k] = ref
	}
}

// stored returns the row of the src block as a fill source: every column
// a copy.
func (ref rowRef) stored(src rowSource, ncols int) *storedRow {
	vals := make([]val, ncols)
	for i := range vals {
		vals[i] = val{state: valRow, src: src, row: ref.row}
	}
	return &storedRow{vals: vals, deleted: ref.deleted}
}

// sourceBlock is the block src names now (nil if there is none).
func (t *table) sourceBlock(src rowSource) *block {
	switch src {
	case srcPending:
		return t.block
	case srcWriting:
		return t.writing
	case srcRecentCur, srcRecentOld:
		if t.recent == nil {
			return nil
		}
		g := t.recent.cur
		if src == srcRecentOld {
			g = t.recent.old
		}
		if g == nil {
			return nil
		}
		return g.blk
	}
	return nil
}

// column is one source column of a table.
type column struct {
	col    typemap.Column
	chType string
	b      typemap.Builder
	// keyB renders key values as SQL literals (lookups, in-run identity).
	keyB typemap.Builder
}

// loadTable reads the table's columns from ClickHouse and pairs them with
// the source catalog when one is known. A nil table means it does not exist.
func loadTable(ctx context.Context, conn chconn.Conn, name string, src *ddl.Table, opts ddl.Options) (*table, error) {
	existing, err := ddl.ExistingColumns(ctx, conn, name)
	if err != nil || existing == nil {
		return nil, err
	}
	t := &table{name: name, byName: map[string]int{}, part: -1, fromPG: src != nil, profile: conn.Profile(), pol: opts.Policies, latest: map[string]rowRef{}, written: map[string]rowRef{}}
	for _, e := range existing {
		if isMetadataColumn(e.Name) {
			continue
		}
		c, ok := typemap.Column{}, false
		if src != nil {
			c, ok = src.Column(e.Name)
		}
		if !ok {
			c = columnFromClickHouse(e.Name, e.Type)
		}
		b, err := typemap.NewBuilder(c, t.profile, opts.Policies)
		if err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", name, e.Name, err)
		}
		kb, _ := typemap.NewBuilder(c, t.profile, opts.Policies)
		t.byName[e.Name] = len(t.cols)
		t.cols = append(t.cols, column{col: c, chType: e.Type, b: b, keyB: kb})
	}
	keys := readEngineKeys(ctx, conn, name)
	if pc := partitionColumn(keys, src, opts, t.byName); pc != "" {
		if i, ok := t.byName[pc]; ok {
			t.part = i
		}
	}
	t.markerCols, t.markerAll = markerColumns(keys, t.byName)
	// Without the marker columns sluice cannot tell whether a later row
	// replaces an earlier one.
	t.collapses = !t.markerAll && keys != nil && versionColumn(keys.engine, keys.engineFull) == ddl.ColVersion
	t.block = newBlock(t)
	return t, nil
}

// engineKeys is a table's row of system.tables: its partition and sorting
// keys and its engine, read once per table load.
type engineKeys struct {
	partitionKey, sortingKey, engine, engineFull string
}

// readEngineKeys reads name's engine keys; nil when they cannot be read.
func readEngineKeys(ctx context.Context, conn chconn.Conn, name string) *engineKeys {
	rows, err := conn.Query(ctx, "SELECT partition_key, sorting_key, engine, engine_full FROM system.tables WHERE database = currentDatabase() AND name = "+chconn.QuoteString(name))
	if err != nil || len(rows) == 0 || len(rows[0]) < 4 {
		return nil
	}
	return &engineKeys{partitionKey: rows[0][0], sortingKey: rows[0][1], engine: rows[0][2], engineFull: rows[0][3]}
}

// versionColumn is the version argument of a ReplacingMergeTree's engine
// clause ("" if none): the first argument that is not a string literal
// (Replicated engines start with the path and replica name). A table
// whose version column is _version keeps one row per key, so only a
// window's last change of a key is written (table.collapses); any other
// engine (a MergeTree kept as a change log) gets every row.
func versionColumn(engine, full string) string {
	if !strings.HasSuffix(engine, "ReplacingMergeTree") {
		return ""
	}
	rest, ok := strings.CutPrefix(full, engine+"(")
	if !ok {
		return ""
	}
	args, _, ok := strings.Cut(rest, ")")
	if !ok {
		return ""
	}
	for _, a := range strings.Split(args, ",") {
		a = strings.TrimSpace(a)
		if a == "" || a[0] == '\'' {
			continue
		}
		return strings.Trim(a, "`\"")
	}
	return ""
}

// markerColumns returns the columns the table's partition and sorting
// keys read; all is true when a key reads no column it can name (or the
// keys could not be read): markers then carry the whole row.
func markerColumns(keys *engineKeys, byName map[string]int) (cols []int, all bool) {
	if keys == nil {
		return nil, true
	}
	seen := map[int]bool{}
	for _, expr := range []string{keys.partitionKey, keys.sortingKey} {
		if e := strings.TrimSpace(expr); e == "" || e == "tuple()" {
			continue
		}
		names := keyExprColumns(expr, byName)
		if len(names) == 0 {
			return nil, true
		}
		for _, n := range names {
			if i := byName[n]; !seen[i] {
				seen[i] = true
				cols = append(cols, i)
			}
		}
	}
	return cols, false
}

// partitionColumn names the monthly partition column: from the ddl rules
// when the source is known, else from system.tables.partition_key.
func partitionColumn(keys *engineKeys, src *ddl.Table, opts ddl.Options, cols map[string]int) string {
	if src != nil {
		if pc, _, err := ddl.PartitionColumn(*src, opts); err == nil {
			return pc
		}
	}
	if keys == nil {
		return ""
	}
	return partitionKeyColumn(keys.partitionKey, cols)
}

// partitionKeyColumn finds the table column a partition key reads: every
// form of typemap.MonthExpr (toYYYYMM(c), toYYYYMM(toDateTime(intDiv(c,
// 1000000), 'UTC')), DaysMonthExpr(c)) names exactly one column; the first
// identifier of the key that is a column of the table is taken.
func partitionKeyColumn(key string, cols map[string]int) string {
	if !strings.Contains(key, "toYYYYMM(") {
		return ""
	}
	if names := keyExprColumns(key, cols); len(names) > 0 {
		return names[0]
	}
	return ""
}

// keyExprColumns lists the table columns a key expression reads, in order:
// identifiers that are columns and not function names; string literals
// ('UTC') and numbers are skipped.
func keyExprColumns(key string, cols map[string]int) []string {
	var out []string
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
	}
	for i := 0; i < len(key); {
		switch c := key[i]; {
		case c == '`' || c == '"':
			j := strings.IndexByte(key[i+1:], c)
			if j < 0 {
				return nil
			}
			id := strings.ReplaceAll(key[i+1:i+1+j], `\`+string(c), string(c))
			if _, ok := cols[id]; ok {
				out = append(out, id)
			}
			i += j + 2
		case c == '\'':
			j := strings.IndexByte(key[i+1:], '\'')
			if j < 0 {
				return nil
			}
			i += j + 2 // a string literal ('UTC')
		case isIdent(c, true):
			j := i + 1
			for j < len(key) && isIdent(key[j], false) {
				j++
			}
			if _, ok := cols[key[i:j]]; ok && (j >= len(key) || key[j] != '(') {
				out = append(out, key[i:j])
			}
			i = j
		case c >= '0' && c <= '9':
			for i < len(key) && isIdent(key[i], false) {
				i++
			}
		default:
			i++
		}
	}
	return out
}

func isMetadataColumn(name string) bool {
	switch name {
	case ddl.ColOperation, ddl.ColTimestamp, ddl.ColSourceDB, ddl.ColSourceTable, ddl.ColEventTime, ddl.ColVersion, ddl.ColIsDeleted:
		return true
	}
	return false
}

// columnFromClickHouse maps a ClickHouse column type back to the source
// type the contract would have given it, for tables replicated without
// --pg-dsn. Int64 is ambiguous on servers without DateTime64 (bigint,
// timestamp µs, time, interval), Int32 on servers without Date32 (integer,
// date as days): they map to bigint and integer, and refineColumn corrects
// them from the Debezium field schema when messages carry one.
func columnFromClickHouse(name, chType string) typemap.Column {
	c := typemap.Column{Name: name}
	t := chType
	if s, ok := unwrapType(t, "Array"); ok {
		c.Array, t = true, s
	}
	if s, ok := unwrapType(t, "LowCardinality"); ok {
		t = s
		c.EnumLabels = []string{""} // enum-like: LowCardinality(String)
	}
	if s, ok := unwrapType(t, "Nullable"); ok {
		c.Nullable, t = !c.Array, s
	}
	switch {
	case t == "Int16":
		c.Type = "int2"
	case t == "Int32":
		c.Type = "int4"
	case t == "Int64":
		c.Type = "int8"
	case t == "UInt8" || t == "Bool":
		c.Type = "bool"
	case t == "Float32":
		c.Type = "float4"
	case t == "Float64":
		c.Type = "float8"
	case t == "UUID":
		c.Type = "uuid"
	case t == "Date" || t == "Date32":
		c.Type = "date"
	case strings.HasPrefix(t, "DateTime64"):
		c.Type = "timestamptz"
	case strings.HasPrefix(t, "Decimal("):
		c.Type = "numeric"
		ps := strings.Split(strings.TrimSuffix(strings.TrimPrefix(t, "Decimal("), ")"), ",")
		if len(ps) == 2 {
			c.Precision, _ = strconv.Atoi(strings.TrimSpace(ps[0]))
			c.Scale, _ = strconv.Atoi(strings.TrimSpace(ps[1]))
		}
	default:
		c.Type = "text"
	}
	return c
}

func unwrapType(t, wrapper string) (string, bool) {
	if strings.HasPrefix(t, wrapper+"(") && strings.HasSuffix(t, ")") {
		return t[len(wrapper)+1 : len(t)-1], true
	}
	return t, false
}

// refineColumn corrects an Int64 or Int32 column guessed from ClickHouse
// with the semantic name of a Debezium field schema (legacy servers store
// timestamps, times and intervals as Int64, dates as Int32 days).
func (t *table) refineColumn(i int, fs *typemap.FieldSchema, pol typemap.Policies) error {
	c := &t.cols[i]
	if t.fromPG || fs == nil || c.col.Type != "int8" && c.col.Type != "int4" {
		return nil
	}
	typ := ""
	switch fs.Name {
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date":
		// Legacy servers store dates as Int32 days since 1970-01-01.
		if c.col.Type == "int4" {
			typ = "date"
		}
	case "io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp",
		"io.debezium.time.ZonedTimestamp", "org.apache.kafka.connect.data.Timestamp":
		typ = "timestamptz"
	case "io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "org.apache.kafka.connect.data.Time":
		typ = "time"
	case "io.debezium.time.MicroDuration", "io.debezium.time.Interval":
		typ = "interval"
	default:
		return nil
	}
	if c.col.Type == "int4" && typ != "date" {
		return nil
	}
	if t.block.rows > 0 {
		return nil // keep the block consistent; the next block uses the refined type
	}
	c.col.Type = typ
	b, err := typemap.NewBuilder(c.col, t.profile, pol)
	if err != nil {
		return err
	}
	kb, _ := typemap.NewBuilder(c.col, t.profile, pol)
	c.b, c.keyB = b, kb
	t.layout++
	t.block, t.spare = newBlock(t), nil
	return nil
}
