package verify

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./verify -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

type col = typemap.Column

// sampleTables: an integer key with columns of every family, and a
// composite text key with hostile names.
func sampleTables() []ddl.Table {
	return []ddl.Table{
		{Schema: "shop", Name: "orders", PrimaryKey: []string{"order_id"}, Columns: []col{
			{Name: "order_id", Type: "int8"}, {Name: "status", Type: "order_status", EnumLabels: []string{"new", "done"}},
			{Name: "total", Type: "numeric", Precision: 12, Scale: 2}, {Name: "ratio", Type: "numeric", Nullable: true},
			{Name: "fee", Type: "money"}, {Name: "flag", Type: "bool"}, {Name: "score", Type: "float8", Nullable: true},
			{Name: "code", Type: "bpchar", Length: 3}, {Name: "doc", Type: "jsonb", Nullable: true}, {Name: "blob", Type: "bytea", Nullable: true},
			{Name: "day", Type: "date", Nullable: true}, {Name: "at", Type: "time"}, {Name: "dur", Type: "interval"},
			{Name: "created_at", Type: "timestamptz"}, {Name: "local_at", Type: "timestamp", Nullable: true},
			{Name: "ip", Type: "inet"}, {Name: "id", Type: "uuid"}, {Name: "tags", Type: "text", Array: true},
		}},
		{Schema: "we\"ird", Name: "k`v", PrimaryKey: []string{"a'b", "n"}, Columns: []col{
			{Name: "a'b", Type: "text"}, {Name: "n", Type: "int4"}, {Name: "v", Type: "text", Nullable: true},
		}},
	}
}

func TestSQLGolden(t *testing.T) {
	for _, p := range []chconn.Profile{chconn.Legacy(), chconn.Modern()} {
		name := "legacy"
		if p.DateTime64 {
			name = "modern"
		}
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			for _, tb := range sampleTables() {
				ts, err := newTableSQL(tb, "db", p, typemap.DefaultPolicies())
				if err != nil {
					t.Fatal(err)
				}
				root := segment{mod: 1}
				if ts.intKey {
					root = segment{lo: 1, hi: 1001}
				}
				_, pgB, chB := ts.split(root, 4)
				month := ""
				if ts.intKey {
					c, _ := tb.Column("created_at")
					ts.pgMonth, ts.chMonth, err = monthFilters(c, "2025-03", p)
					if err != nil {
						t.Fatal(err)
					}
					month = " (month 2025-03)"
				}
				child := segment{lo: 251, hi: 501}
				if !ts.intKey {
					child = segment{mod: 4, rem: 3}
				}
				pgDigests := [2]string{"postgres digests" + month, ts.pgDigestSQL(root, pgB)}
				if ts.orderedText() {
					pgDigests = [2]string{"postgres digest of segment " + child.String() + month, ts.pgSegmentDigestSQL(child)}
				}
				for _, q := range [][2]string{
					pgDigests,
					{"clickhouse digests" + month, ts.chDigestSQL(root, chB)},
					{"postgres leaf " + child.String(), ts.pgLeafSQL(child)},
					{"clickhouse leaf " + child.String(), ts.chLeafSQL(child)},
				} {
					b.WriteString("-- " + tb.Name + ": " + q[0] + "\n" + q[1] + ";\n\n")
				}
			}
			golden(t, "sql_"+name, b.String())
		})
	}
}

func TestReservedNames(t *testing.T) {
	tb := sampleTables()[1]
	tb.Columns = append(tb.Columns, col{Name: "sluice_hash_", Type: "text"})
	if _, err := newTableSQL(tb, "db", chconn.Legacy(), typemap.DefaultPolicies()); err == nil {
		t.Error("a column named like verify's aliases was accepted")
	}
}

func TestSplit(t *testing.T) {
	ts, err := newTableSQL(sampleTables()[0], "db", chconn.Legacy(), typemap.DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	children, _, _ := ts.split(segment{lo: 10, hi: 20}, 4)
	var got []string
	for _, c := range children {
		got = append(got, c.String())
	}
	if s := strings.Join(got, " "); s != "[10, 13) [13, 16) [16, 19) [19, 20)" {
		t.Errorf("range split: %s", s)
	}
	if children, _, _ = ts.split(segment{lo: 5, hi: 7}, 32); len(children) != 2 {
		t.Errorf("narrow range: %d children, want 2", len(children))
	}
	if ts.canSplit(segment{lo: 5, hi: 6}) {
		t.Error("a one-key range cannot split")
	}
	kv, _ := newTableSQL(sampleTables()[1], "db", chconn.Legacy(), typemap.DefaultPolicies())
	if kv.intKey {
		t.Fatal("composite key taken for an integer key")
	}
	children, _, _ = kv.split(segment{mod: 4, rem: 3}, 4)
	if c := children[2]; c.mod != 16 || c.rem != 11 {
		t.Errorf("hash split child 2: %v, want keyhash %% 16 = 11", c)
	}
}

func TestPGSumAndDigest(t *testing.T) {
	// Two signed hashes whose unsigned sum wraps.
	s, err := pgSum("-2")
	if err != nil || s != 1<<64-2 {
		t.Errorf("pgSum(-2) = %d, %v", s, err)
	}
	if s, _ := pgSum("36893488147419103233"); s != 1 { // 2*2^64 + 1
		t.Errorf("pgSum(2^65+1) = %d", s)
	}
	a := digest{count: 1, sum: 1<<64 - 1, xor: 5}.add(digest{count: 2, sum: 2, xor: 3})
	if a != (digest{count: 3, sum: 1, xor: 6}) {
		t.Errorf("add: %+v", a)
	}
}

func TestLSN(t *testing.T) {
	n, err := ParseLSN("16/B374D848")
	if err != nil || n != 0x16B374D848 || FormatLSN(n) != "16/B374D848" {
		t.Errorf("ParseLSN = %x, %v, %s", n, err, FormatLSN(n))
	}
	if n, _ := ParseLSN("1234"); n != 1234 {
		t.Errorf("decimal LSN = %d", n)
	}
	for _, bad := range []string{"", "x/1", "1/", "-1"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}

func TestMonths(t *testing.T) {
	got := strings.Join(monthRange([]string{"2025-02", "2024-11", "2025-01", "2024-12"}), " ")
	if got != "2024-11 2024-12 2025-01 2025-02" {
		t.Errorf("monthRange = %s", got)
	}
	if _, _, err := monthBounds("2025-13"); err == nil {
		t.Error("month 13 accepted")
	}
}

// TestDateMonths: a date partition column is filtered and bucketed by
// month as ddl stores it: Int32 days on legacy servers (before 1970 too),
// Date32 on modern ones (toDate would clamp 1950 to 1970).
func TestDateMonths(t *testing.T) {
	c := col{Name: "born", Type: "date"}
	for _, tc := range []struct {
		p      chconn.Profile
		filter string
		month  string
	}{
		{chconn.Legacy(), "`born` >= -7246 AND `born` < -7215", typemap.DaysMonthExpr("min(`born`)")},
		{chconn.Modern(), "`born` >= toDate32('1950-03-01') AND `born` < toDate32('1950-04-01')", "toYYYYMM(min(`born`))"},
	} {
		pgCond, chCond, err := monthFilters(c, "1950-03", tc.p)
		if err != nil || chCond != tc.filter || pgCond != `"born" >= '1950-03-01' AND "born" < '1950-04-01'` {
			t.Errorf("%s: %s / %s, %v; want ClickHouse %s", tc.p.Version, pgCond, chCond, err, tc.filter)
		}
		ts := &tableSQL{chFrom: "t"}
		if got := chMonthRangeSQL(c, ts, tc.p); !strings.Contains(got, "toString("+tc.month+")") {
			t.Errorf("%s: %s, want %s", tc.p.Version, got, tc.month)
		}
	}
}

func TestStatus(t *testing.T) {
	if v := verdict([]TableResult{{Status: Equal}, {Status: Error}, {Status: Differs}}); v != Differs {
		t.Errorf("differs must win: %s", v)
	}
	if v := verdict([]TableResult{{Status: Equal}, {Status: Error}}); v != Error {
		t.Errorf("error: %s", v)
	}
	if v := verdict(nil); v != Equal {
		t.Errorf("no tables: %s", v)
	}
}

func TestCHRuns(t *testing.T) {
	ts, err := newTableSQL(sampleTables()[0], "db", chconn.Legacy(), typemap.DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	if !ts.orderedText() {
		t.Fatal("orders (integer key, text columns) should checksum text per segment")
	}
	root := segment{lo: 1, hi: 10_000_001}
	children, _, _ := ts.split(root, 256)
	runs := ts.chRuns(root, children)
	if len(runs) < 5 || len(runs) > 8 {
		t.Errorf("%d runs for 10M keys", len(runs))
	}
	next := root.lo
	for _, r := range runs {
		if r.lo != next || r.hi-r.lo > chTextKeys {
			t.Fatalf("run %s after %d (max %d keys)", r, next, chTextKeys)
		}
		next = r.hi
	}
	if next != root.hi {
		t.Errorf("runs end at %d, want %d", next, root.hi)
	}
	small := segment{lo: 1, hi: 1001}
	if runs := ts.chRuns(small, nil); len(runs) != 1 || runs[0] != small {
		t.Errorf("a small segment is split: %v", runs)
	}
}
