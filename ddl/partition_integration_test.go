//go:build integration

package ddl

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// pgMonthSQL is PostgreSQL's calendar month of date d as year*100 + month,
// with astronomical years (extract(year) says -1 for 1 BC, which is 0).
const pgMonthSQL = `(CASE WHEN extract(year FROM d) < 0 THEN extract(year FROM d) + 1 ELSE extract(year FROM d) END)::bigint * 100 + extract(month FROM d)::bigint`

// TestDaysMonthExprPostgres checks the legacy partition expression of a
// date stored as Int32 days against PostgreSQL's calendar: every day of
// 1890 … 2510 (the 1900/2000/2100 rules, 1970 and the 2100-03-01 fold
// boundary), every 9973rd day of PostgreSQL's whole range, and its ends.
// Then it creates a table partitioned by such a column on the server and
// checks that the partition ids are PostgreSQL's months.
func TestDaysMonthExprPostgres(t *testing.T) {
	testenv.RequirePostgres(t)
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	conn, err := native.Open(ctx, "clickhouse://default@"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	days := `SELECT i FROM generate_series(date '1890-01-01' - date '1970-01-01', date '2510-12-31' - date '1970-01-01') i
		UNION SELECT i FROM generate_series(date '4714-11-24 BC' - date '1970-01-01', date '5874897-12-31' - date '1970-01-01', 9973) i
		UNION SELECT date '4714-11-24 BC' - date '1970-01-01' UNION SELECT date '5874897-12-31' - date '1970-01-01'`
	rows, err := pg.Query(ctx, `SELECT i, `+pgMonthSQL+` FROM (`+days+`) s, LATERAL (SELECT date '1970-01-01' + i AS d) x ORDER BY i`)
	if err != nil {
		t.Fatal(err)
	}
	var xs []string
	want := map[string]string{}
	for rows.Next() {
		var i int32
		var m int64
		if err := rows.Scan(&i, &m); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, fmt.Sprint(i))
		want[fmt.Sprint(i)] = fmt.Sprint(m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Up to ~1M literals: send them in chunks.
	bad := 0
	for start := 0; start < len(xs); start += 20000 {
		chunk := xs[start:min(start+20000, len(xs))]
		got, err := conn.Query(ctx, "SELECT toString(x), toString("+typemap.DaysMonthExpr("x")+") FROM (SELECT arrayJoin(CAST(["+strings.Join(chunk, ",")+"] AS Array(Int32))) AS x)")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(chunk) {
			t.Fatalf("%d rows for %d days", len(got), len(chunk))
		}
		for _, r := range got {
			if want[r[0]] != r[1] {
				if bad++; bad < 10 {
					t.Errorf("day %s: ClickHouse month %s, PostgreSQL %s", r[0], r[1], want[r[0]])
				}
			}
		}
	}
	t.Logf("%d days compared, %d differ", len(xs), bad)

	// A real table: partition ids are the months.
	if conn.Profile().Date32 {
		t.Fatalf("this test needs a server without Date32, where dates are Int32 days (the stack's ClickHouse 18.16); got %s", conn.Profile())
	}
	db := fmt.Sprintf("sluice_ddl_part_%d", time.Now().UnixNano())
	if err := conn.Exec(ctx, "CREATE DATABASE "+chconn.QuoteIdent(db)); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chconn.QuoteIdent(db))
	people := Table{Name: "people", PrimaryKey: []string{"id"}, Columns: []col{{Name: "id", Type: "int8"}, {Name: "born", Type: "date"}}}
	opts := DefaultOptions()
	opts.Database = db
	opts.Partition = map[string]string{"people": "born"}
	stmts, err := CreateTableSQL(people, conn.Profile(), opts)
	if err != nil {
		t.Fatal(err)
	}
	dbConn, err := native.Open(ctx, "clickhouse://default@"+testenv.ClickHouseAddr()+"/"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer dbConn.Close()
	for _, s := range stmts {
		if err := dbConn.Exec(ctx, s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	sample := []string{"-2440588", "-719528", "-25567", "-1", "0", "19000", "47541", "65535", "2145042905"}
	var values []string
	wantIDs := map[string]bool{}
	for i, x := range sample {
		values = append(values, fmt.Sprintf("(%d, %s)", i, x))
		var m int64
		if err := pg.QueryRow(ctx, `SELECT `+pgMonthSQL+` FROM (SELECT date '1970-01-01' + $1::int AS d) s`, x).Scan(&m); err != nil {
			t.Fatal(err)
		}
		wantIDs[fmt.Sprint(m)] = true
	}
	// INSERT … VALUES through Exec hangs on 18.16; INSERT … SELECT does not.
	if err := dbConn.Exec(ctx, "INSERT INTO people (id, born) SELECT tupleElement(v, 1), tupleElement(v, 2) FROM (SELECT arrayJoin(CAST(["+strings.Join(values, ", ")+"] AS Array(Tuple(Int64, Int32)))) AS v)"); err != nil {
		t.Fatal(err)
	}
	parts, err := dbConn.Query(ctx, "SELECT DISTINCT partition_id FROM system.parts WHERE database = currentDatabase() AND table = 'people' AND active")
	if err != nil {
		t.Fatal(err)
	}
	var got, wantList []string
	for _, r := range parts {
		got = append(got, r[0])
	}
	for id := range wantIDs {
		wantList = append(wantList, id)
	}
	sort.Strings(got)
	sort.Strings(wantList)
	if strings.Join(got, " ") != strings.Join(wantList, " ") {
		t.Errorf("partition ids %v, want PostgreSQL's months %v", got, wantList)
	}
}
