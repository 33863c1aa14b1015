//go:build integration

package snapshot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/testenv"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func uniqueName(prefix string) string { return fmt.Sprintf("%s_%08x", prefix, rand.Uint32()) }

func pgConnect(t *testing.T) *pgx.Conn {
	t.Helper()
	testenv.RequirePostgres(t)
	pg, err := pgx.Connect(context.Background(), testenv.PostgresDSN())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	t.Cleanup(func() { pg.Close(context.Background()) })
	return pg
}

func pgExec(t *testing.T, pg *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := pg.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// newSchema creates a PostgreSQL schema of the test's own, dropped after.
func newSchema(t *testing.T, pg *pgx.Conn) string {
	s := uniqueName("snaptest")
	pgExec(t, pg, "CREATE SCHEMA "+s)
	t.Cleanup(func() { _, _ = pg.Exec(context.Background(), "DROP SCHEMA "+s+" CASCADE") })
	return s
}

var shopKeys = map[string]string{
	"customers": "customer_id", "vehicles": "vehicle_id", "orders": "order_id",
	"order_items": "order_item_id", "payments": "payment_id",
}

// copyShop copies the first n rows of every shop table into schema (no
// sequences shared: defaults are not copied).
func copyShop(t *testing.T, pg *pgx.Conn, schema string, n int) {
	for table, key := range shopKeys {
		pgExec(t, pg, fmt.Sprintf("CREATE TABLE %s.%s (LIKE public.%s INCLUDING CONSTRAINTS INCLUDING INDEXES)", schema, table, table))
		pgExec(t, pg, fmt.Sprintf("INSERT INTO %s.%s SELECT * FROM public.%s ORDER BY %s LIMIT %d", schema, table, table, key, n))
	}
}

func pgCount(t *testing.T, pg *pgx.Conn, table string) int64 {
	t.Helper()
	var n int64
	if err := pg.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func chQuery(t *testing.T, ch chconn.Conn, q string) [][]string {
	t.Helper()
	rows, err := ch.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rows
}

func chOne(t *testing.T, ch chconn.Conn, q string) string {
	t.Helper()
	rows := chQuery(t, ch, q)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: got %v, want one value", q, rows)
	}
	return rows[0][0]
}

// options are the defaults with the test's schema and a quiet log.
func options(schema string, log *slog.Logger) Options {
	o := DefaultOptions()
	o.Schema = schema
	o.Log = log
	o.DDL.Database = "" // unused without a cluster
	return o
}

// --- comparison through the type contract's normalization ---

// normExprs gives, for one column, a PostgreSQL and a ClickHouse
// expression that print the same text for the same value (the checksum
// rules of internal/typemap/README.md). NULL prints as <NULL> on both.
func normExprs(c typemap.Column, p chconn.Profile, pol typemap.Policies) (pgExpr, chExpr string) {
	pgID, chID := pgIdent(c.Name), chconn.QuoteIdent(c.Name)
	if c.Array {
		return fmt.Sprintf(`coalesce(array_to_string(%s::text[], '|', '\N'), '')`, pgID),
			fmt.Sprintf(`arrayStringConcat(arrayMap(e -> ifNull(toString(e), '\\N'), %s), '|')`, chID)
	}
	pgExpr, chExpr = pgID+"::text", "toString("+chID+")"
	switch c.Kind() {
	case typemap.KindBool:
		pgExpr, chExpr = pgID+"::int::text", "toString(toUInt8("+chID+"))"
	case typemap.KindDecimal, typemap.KindMoney:
		pow := "1" + strings.Repeat("0", c.Scale)
		pgExpr = fmt.Sprintf("(%s * %s)::numeric(40,0)::text", pgID, pow)
		chExpr = fmt.Sprintf("toString(toInt64(%s * %s))", chID, pow)
	case typemap.KindBpchar:
		// bpchar::text strips the padding the contract keeps.
		pgExpr = "CASE WHEN " + pgID + " IS NOT NULL THEN format('%s', " + pgID + ") END"
	case typemap.KindDate:
		// Days since 1970-01-01 on both sides: Int32 on legacy servers,
		// Date32 (1900 … 2299, the tests' dates fit) on modern ones.
		pgExpr = fmt.Sprintf("(%s - date '1970-01-01')::text", pgID)
		chExpr = "toString(toInt32(" + chID + "))"
	case typemap.KindTimestamp, typemap.KindTimestampTZ:
		pgExpr = fmt.Sprintf("(extract(epoch from %s) * 1000000)::bigint::text", pgID)
		if p.DateTime64 {
			chExpr = "toString(toUnixTimestamp64Micro(" + chID + "))"
		}
	}
	return "coalesce(" + pgExpr + ", '<NULL>')", "ifNull(" + chExpr + ", '<NULL>')"
}

// compareTable checks that ClickHouse FINAL holds exactly PostgreSQL's
// rows of t, every column equal after normalization.
func compareTable(t *testing.T, pg *pgx.Conn, ch chconn.Conn, tb ddl.Table, pol typemap.Policies) int {
	t.Helper()
	key := tb.PrimaryKey[0]
	var pgExprs, chExprs []string
	for _, c := range tb.Columns {
		pe, ce := normExprs(c, ch.Profile(), pol)
		pgExprs = append(pgExprs, pe)
		chExprs = append(chExprs, ce)
	}
	pgRows := map[string][]string{}
	rows, err := pg.Query(context.Background(), fmt.Sprintf("SELECT %s::text, %s FROM %s",
		pgIdent(key), strings.Join(pgExprs, ", "), pgTable(tb)))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		vals := make([]string, len(pgExprs)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		pgRows[vals[0]] = vals[1:]
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	chRows := chQuery(t, ch, fmt.Sprintf("SELECT toString(%s), %s FROM %s FINAL",
		chconn.QuoteIdent(key), strings.Join(chExprs, ", "), chconn.QuoteIdent(tb.Name)))
	if len(chRows) != len(pgRows) {
		t.Errorf("%s: ClickHouse FINAL has %d rows, PostgreSQL %d", tb.Name, len(chRows), len(pgRows))
	}
	bad := 0
	for _, r := range chRows {
		want, ok := pgRows[r[0]]
		if !ok {
			t.Errorf("%s: key %s only in ClickHouse", tb.Name, r[0])
			continue
		}
		for i, c := range tb.Columns {
			if r[i+1] != want[i] && bad < 20 {
				bad++
				t.Errorf("%s %s=%s column %s: ClickHouse %q, PostgreSQL %q", tb.Name, key, r[0], c.Name, r[i+1], want[i])
			}
		}
	}
	return len(chRows)
}

func readTables(t *testing.T, pg *pgx.Conn, schema string) []ddl.Table {
	t.Helper()
	tables, err := ddl.ReadCatalog(context.Background(), pg, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	return tables
}
