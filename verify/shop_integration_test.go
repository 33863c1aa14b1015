//go:build integration

package verify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

var shopTableNames = []string{"customers", "vehicles", "orders", "order_items", "payments"}

// shopCopy copies the shop's tables (their first shopRows rows, as they
// are now) into a test schema, with its own copies of the enum types, so
// concurrent changes to the shop, even a reset that drops its types, do
// not move under the test.
func shopCopy(t *testing.T, pg *pgx.Conn) string {
	var b strings.Builder
	b.WriteString(`DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT t.typname, string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder) AS labels
           FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'public' GROUP BY t.typname LOOP
    EXECUTE format('CREATE TYPE %I AS ENUM (%s)', r.typname, r.labels);
  END LOOP; END $$;
`)
	for _, n := range shopTableNames {
		fmt.Fprintf(&b, "CREATE TABLE %[1]s (LIKE public.%[1]s INCLUDING DEFAULTS INCLUDING INDEXES); INSERT INTO %[1]s SELECT * FROM public.%[1]s ORDER BY 1 LIMIT %[2]d;\n", n, shopRows)
	}
	b.WriteString(`DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT table_name, column_name, udt_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND data_type = 'USER-DEFINED' LOOP
    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP DEFAULT, ALTER COLUMN %I TYPE %I USING %I::text::%I',
                   r.table_name, r.column_name, r.column_name, r.udt_name, r.column_name, r.udt_name);
  END LOOP; END $$`)
	return pgSchema(t, pg, b.String())
}

// shopRows bounds the copy: the shop's size depends on how it was loaded.
const shopRows = 10000

func pgInt(t *testing.T, pg *pgx.Conn, q string) int64 {
	t.Helper()
	var n int64
	if err := pg.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func pgExec(t *testing.T, pg *pgx.Conn, q string) {
	t.Helper()
	if _, err := pg.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestShop replicates a copy of the shop into ClickHouse 18.16 (through the
// type contract's builders, like the snapshot), then changes, deletes and
// adds single rows in ClickHouse and, separately, in PostgreSQL.
func TestShop(t *testing.T) {
	pg := connectPG(t)
	ch := connectCH(t)
	schema := shopCopy(t, pg)
	tables := readCatalog(t, pg, schema)
	db := chDatabase(t, ch, tables)
	// The default policies: birth dates before 1970 are exact (Int32 days)
	// on 18.16.
	pol := typemap.DefaultPolicies()
	start := time.Now()
	for _, tb := range tables {
		load(t, pg, ch, db, tb, pol, 100)
	}
	t.Logf("loaded in %s", time.Since(start))
	orders, payments := tableNamed(t, tables, "orders"), tableNamed(t, tables, "payments")
	o := func(q string) int64 { return pgInt(t, pg, fmt.Sprintf(q, schema+".orders")) }
	p := func(q string) int64 { return pgInt(t, pg, fmt.Sprintf(q, schema+".payments")) }
	// Keys are taken by rank, not by arithmetic on the smallest key: the
	// shared shop has holes where churn deleted rows.
	nthOrder := func(n int) int64 {
		return o(fmt.Sprintf("SELECT order_id FROM %%s ORDER BY order_id OFFSET %d LIMIT 1", n))
	}
	nthPay := func(n int) int64 {
		return p(fmt.Sprintf("SELECT payment_id FROM %%s ORDER BY payment_id OFFSET %d LIMIT 1", n))
	}
	maxOrder := o("SELECT max(order_id) FROM %s")

	// FINAL and _is_deleted = 0 must be in use: an older version of a row,
	// and a row deleted at the source and marked deleted in ClickHouse.
	chCopyRow(t, ch, db, orders, fmt.Sprintf("order_id = %d", nthOrder(5)), map[string]string{"notes": "'stale'"}, 50, false)
	gone := nthOrder(6)
	pgExec(t, pg, fmt.Sprintf("DELETE FROM %s.orders WHERE order_id = %d", schema, gone))
	chCopyRow(t, ch, db, orders, fmt.Sprintf("order_id = %d", gone), nil, 150, true)

	rep := runVerify(t, pg, ch, db, tables, Options{Policies: pol})
	if rep.Verdict != Equal || len(rep.Tables) != 5 {
		t.Fatalf("after replication: verdict %s over %d tables, want equal over 5", rep.Verdict, len(rep.Tables))
	}
	for _, r := range rep.Tables {
		if r.PGRows == 0 || r.PGRows != r.CHRows {
			t.Errorf("%s: rows %d / %d", r.Table, r.PGRows, r.CHRows)
		}
	}

	// In ClickHouse: change, delete, add one order each.
	changed, deleted, added := nthOrder(10), nthOrder(20), maxOrder+1000
	chCopyRow(t, ch, db, orders, fmt.Sprintf("order_id = %d", changed), map[string]string{"notes": "concat(ifNull(notes, ''), ' (edited)')"}, 300, false)
	chCopyRow(t, ch, db, orders, fmt.Sprintf("order_id = %d", deleted), nil, 300, true)
	chCopyRow(t, ch, db, orders, fmt.Sprintf("order_id = %d", changed), map[string]string{"order_id": fmt.Sprint(added)}, 300, false)
	// In PostgreSQL: change, delete, add one payment each.
	minPay, maxPay := nthPay(0), p("SELECT max(payment_id) FROM %s")
	pChanged, pDeleted, pAdded := nthPay(30), nthPay(40), maxPay+1
	pgExec(t, pg, fmt.Sprintf("UPDATE %s.payments SET amount = amount + 0.01 WHERE payment_id = %d", schema, pChanged))
	pgExec(t, pg, fmt.Sprintf("DELETE FROM %s.payments WHERE payment_id = %d", schema, pDeleted))
	pgExec(t, pg, fmt.Sprintf("INSERT INTO %[1]s.payments SELECT %[2]d, order_id, gen_random_uuid(), method, status, amount, currency, paid_at, card_last4, created_at, updated_at FROM %[1]s.payments WHERE payment_id = %[3]d", schema, pAdded, minPay))

	want := fmt.Sprintf("orders %d values_differ notes\norders %d missing_in_clickhouse\norders %d extra_in_clickhouse\n"+
		"payments %d values_differ amount\npayments %d extra_in_clickhouse\npayments %d missing_in_clickhouse\n",
		changed, deleted, added, pChanged, pDeleted, pAdded)
	sortedWant := sortLines(want)

	t.Run("default", func(t *testing.T) {
		rep := runVerify(t, pg, ch, db, tables, Options{Policies: pol})
		checkDiffs(t, rep, sortedWant)
	})
	t.Run("deep recursion", func(t *testing.T) {
		rep := runVerify(t, pg, ch, db, tables, Options{Policies: pol, Segments: 4, SubSegments: 4, LeafRows: 20})
		checkDiffs(t, rep, sortedWant)
		for _, r := range rep.Tables {
			if r.Table == "orders" && r.Queries < 4 {
				t.Errorf("orders took %d segment queries: the recursion was not exercised", r.Queries)
			}
		}
	})
	t.Run("max-diffs", func(t *testing.T) {
		rep := runVerify(t, pg, ch, db, []ddl.Table{orders, payments}, Options{Policies: pol, MaxDiffs: 1})
		for _, r := range rep.Tables {
			if r.Status != Differs || len(r.Diffs) != 1 || !r.Truncated {
				t.Errorf("%s: %s, %d diffs, truncated %t; want 1 diff, truncated", r.Table, r.Status, len(r.Diffs), r.Truncated)
			}
		}
	})
	t.Run("as-of", func(t *testing.T) {
		// The ClickHouse changes carry version 300: after an as-of LSN of
		// 250 they are in flight. The PostgreSQL changes are not (their
		// ClickHouse rows are at version 100, or absent).
		asOf := uint64(250)
		rep := runVerify(t, pg, ch, db, []ddl.Table{orders, payments}, Options{Policies: pol, AsOf: &asOf})
		got := diffSummary(rep)
		wantPG := sortLines(fmt.Sprintf("payments %d values_differ amount\npayments %d extra_in_clickhouse\npayments %d missing_in_clickhouse\n", pChanged, pDeleted, pAdded))
		if sortLines(got) != wantPG {
			t.Errorf("diffs:\n%s\nwant:\n%s", got, wantPG)
		}
		for _, r := range rep.Tables {
			if r.Table == "orders" && (len(r.InFlight) != 3 || r.Status != Equal) {
				t.Errorf("orders: %s with %d in flight, want equal with 3 in flight", r.Status, len(r.InFlight))
			}
		}
	})
	t.Run("per-month", func(t *testing.T) {
		rep := runVerify(t, pg, ch, db, []ddl.Table{orders, payments}, Options{Policies: pol, PerMonth: true})
		if checkDiffs(t, rep, sortedWant); len(rep.Tables) < 2 {
			t.Errorf("%d table-months", len(rep.Tables))
		}
		for _, r := range rep.Tables {
			if r.Month == "" {
				t.Errorf("%s: no month", r.Table)
			}
		}
	})
	t.Run("lag-wait", func(t *testing.T) {
		// The PostgreSQL change to pChanged "replicates" while verify waits:
		// it settles and is not a difference; the others stay.
		waiting := make(chan struct{}, 1)
		log := slog.New(signalHandler{msg: "waiting for replication lag", ch: waiting})
		go func() {
			<-waiting
			amount := pgInt(t, pg, fmt.Sprintf("SELECT (amount * 100)::bigint FROM %s.payments WHERE payment_id = %d", schema, pChanged))
			chCopyRow(t, ch, db, payments, fmt.Sprintf("payment_id = %d", pChanged),
				map[string]string{"amount": fmt.Sprintf("toDecimal64(%d, 2) / 100", amount)}, 400, false)
			waiting <- struct{}{}
		}()
		rep := runVerify(t, pg, ch, db, []ddl.Table{payments}, Options{Policies: pol, LagWait: 3 * time.Second, Log: log})
		<-waiting
		got := diffSummary(rep)
		want := sortLines(fmt.Sprintf("payments %d extra_in_clickhouse\npayments %d missing_in_clickhouse\n", pDeleted, pAdded))
		if sortLines(got) != want || len(rep.Tables[0].InFlight) != 1 {
			t.Errorf("diffs:\n%s\nin flight %v\nwant:\n%s and %d in flight", got, rep.Tables[0].InFlight, want, pChanged)
		}
	})
}

// signalHandler signals once when a log message containing msg is written.
type signalHandler struct {
	msg string
	ch  chan struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.msg) {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := 1; i < len(lines); i++ {
		for j := i; j > 0 && lines[j] < lines[j-1]; j-- {
			lines[j], lines[j-1] = lines[j-1], lines[j]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func checkDiffs(t *testing.T, rep *Report, want string) {
	t.Helper()
	if rep.Verdict != Differs {
		t.Errorf("verdict %s, want differs", rep.Verdict)
	}
	got := diffSummary(rep)
	// Per-month reports name table@month: compare by table.
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		name, rest, _ := strings.Cut(l, " ")
		name, _, _ = strings.Cut(name, "@")
		lines = append(lines, name+" "+rest)
	}
	if g := sortLines(strings.Join(lines, "\n")); g != want {
		t.Errorf("diffs:\n%s\nwant:\n%s", g, want)
	}
}
