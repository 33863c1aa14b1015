//go:build integration

package replicate

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

var shopTables = []string{"customers", "vehicles", "orders", "order_items", "payments"}

// TestShopBothShapes replicates Debezium's snapshot plus a churn run of the
// shop, from both connectors, with repeated bounded runs of 3000 messages,
// then compares every table (FINAL, deleted rows excluded) with PostgreSQL
// row for row through the type contract.
func TestShopBothShapes(t *testing.T) {
	pg := pgConn(t)
	churn := exec.Command("../scripts/shop/churn", "--duration", "5")
	if out, err := churn.CombinedOutput(); err != nil {
		t.Fatalf("churn: %v\n%s", err, out)
	}
	for _, prefix := range []string{"cdc.ecommerce", "cdc.envelope"} {
		t.Run(prefix, func(t *testing.T) { replicateShop(t, pg, prefix) })
	}
}

func replicateShop(t *testing.T, pg pgxConn, prefix string) {
	conn, _ := testDB(t)
	group := randName("repl-it-")
	pol := typemap.DefaultPolicies() // birth dates before 1970 are exact Int32 days on 18.16
	var topics []string
	for _, tb := range shopTables {
		topics = append(topics, prefix+".public."+tb)
	}
	ctx := context.Background()
	total := &Report{DeadLettersByReason: map[string]int64{}}
	var tables []*TableReport
	drainAll := func() {
		for i := 0; i < 200; i++ {
			cfg := baseConfig(t, conn, group)
			cfg.Source.Topics = topics
			cfg.Catalog = pgCatalog{pg}
			cfg.DDL.Policies = pol
			cfg.MaxMessages = 3000
			rep, err := Run(ctx, cfg)
			if err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
			total.Messages += rep.Messages
			total.DeadLetters += rep.DeadLetters
			tables = append(tables, rep.Tables...)
			t.Logf("run %d: %s, %d messages, lag left %d, joined %t, %.2fs", i, rep.Status, rep.Messages, rep.LagLeft, rep.Joined, rep.Duration)
			if rep.Status == StatusIdle {
				return
			}
		}
		t.Fatal("still not drained after 200 runs")
	}
	var diffs []string
	for attempt := 0; attempt < 6; attempt++ {
		drainAll()
		diffs = compareShop(t, pg, conn, pol)
		if len(diffs) == 0 {
			break
		}
		t.Logf("attempt %d: %d differences (Debezium may still be shipping changes); draining again", attempt, len(diffs))
		time.Sleep(3 * time.Second)
	}
	if len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = diffs[:10]
		}
		t.Fatalf("ClickHouse differs from PostgreSQL:\n%s", strings.Join(diffs, "\n"))
	}
	var del, filledCH, filledBatch, upd int64
	for _, tr := range tables {
		del += tr.Deleted
		upd += tr.Updated
		filledCH += tr.FilledFromClickHouse
		filledBatch += tr.FilledInBatch
	}
	t.Logf("%s: %d messages, %d updates, %d deletes, %d rows filled from ClickHouse, %d in batch, %d dead letters",
		prefix, total.Messages, upd, del, filledCH, filledBatch, total.DeadLetters)
	if del == 0 || upd == 0 {
		t.Errorf("the churn should have produced updates and deletes: %d updates, %d deletes", upd, del)
	}
	if total.DeadLetters != 0 {
		t.Errorf("%d dead letters on the shop", total.DeadLetters)
	}
}

func compareShop(t *testing.T, pg pgxConn, conn chconnConn, pol typemap.Policies) []string {
	src, err := ddl.ReadCatalog(context.Background(), pg, "public", shopTables)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, tbl := range src {
		p := pgRows(t, pg, tbl, conn.Profile(), pol)
		c := chRows(t, conn, tbl, pol)
		t.Logf("%s: %d rows in PostgreSQL, %d live in ClickHouse", tbl.Name, len(p), len(c))
		for _, d := range diffRows(p, c) {
			all = append(all, tbl.Name+": "+d)
		}
		if n := livePerPartition(t, conn, tbl); n != len(p) {
			all = append(all, fmt.Sprintf("%s: %d keys live partition by partition, %d in PostgreSQL (a delete marker in another partition than its row?)", tbl.Name, n, len(p)))
		}
	}
	return all
}

// TestPoisonIdleSchema covers the dead-letter reasons with committed
// offsets, the idle run, a column added in PostgreSQL, and a refused type
// change, on synthetic Debezium messages in topics of this test.
func TestPoisonIdleSchema(t *testing.T) {
	pg := pgConn(t)
	conn, _ := testDB(t)
	ctx := context.Background()
	src := randName("repl_sc_")
	if _, err := pg.Exec(ctx, "CREATE TABLE public."+src+" (id bigint PRIMARY KEY, a integer NOT NULL, created_at timestamptz NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pg.Exec(context.Background(), "DROP TABLE IF EXISTS public."+src) })
	prefix := randName("sluit")
	topic, unknown := prefix+".public."+src, prefix+".public.nosuchtable"
	group := randName("repl-it-")
	run := func() (*Report, error) {
		cfg := baseConfig(t, conn, group)
		cfg.Source.Topics = []string{topic, unknown}
		cfg.Catalog = pgCatalog{pg}
		return Run(ctx, cfg)
	}
	row := func(id, a, lsn, extra string) string {
		return `{"id":` + id + `,"a":` + a + `,"created_at":"2025-03-01T10:15:30.123456Z"` + extra + `,"__op":"c","__lsn":` + lsn + `,"__source_ts_ms":1740824130123}`
	}
	produce(t, topic,
		[2]string{`{"id":1}`, row("1", "10", "100", "")},
		[2]string{`{"id":2}`, `{"id":2,`},                                                       // malformed JSON
		[2]string{`{"id":3}`, `{"before":null,"after":{"id":3},"source":{"lsn":101},"op":"x"}`}, // unknown op
		[2]string{`{"id":4}`, row("4", `"abc"`, "102", "")},                                     // unconvertible value
	)
	produce(t, unknown, [2]string{`{"id":1}`, row("1", "1", "103", "")}) // unknown table

	rep, err := run()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("poison run: %s, %d messages, dead letters %v", rep.Status, rep.Messages, rep.DeadLettersByReason)
	want := map[string]int64{"malformed_json": 1, "unknown_op": 1, ReasonConvert: 1, ReasonUnknownTable: 1}
	for k, v := range want {
		if rep.DeadLettersByReason[k] != v {
			t.Errorf("dead letters %s = %d, want %d (all: %v)", k, rep.DeadLettersByReason[k], v, rep.DeadLettersByReason)
		}
	}
	rows, err := conn.Query(ctx, "SELECT reason, topic, toString(`offset`), value FROM "+DeadLetterTable+" ORDER BY topic, `offset`")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("dead-letter table has %d rows, want 4: %v", len(rows), rows)
	}
	for _, r := range rows {
		t.Logf("dead letter: reason=%s topic=%s offset=%s value=%s", r[0], r[1], r[2], r[3])
	}
	if l := lag(t, group, topic, unknown); l != 0 {
		t.Errorf("lag after the poison run = %d, want 0 (offsets committed)", l)
	}

	// Idle: no lag, the group is not joined.
	start := time.Now()
	rep, err = run()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("idle run took %s (status %s, joined %t)", time.Since(start), rep.Status, rep.Joined)
	if rep.Status != StatusIdle || rep.Joined || len(rep.Generations) != 0 {
		t.Errorf("idle run: status %s, joined %t, generations %v", rep.Status, rep.Joined, rep.Generations)
	}

	// A column added in PostgreSQL reaches ClickHouse before the row.
	if _, err := pg.Exec(ctx, "ALTER TABLE public."+src+" ADD COLUMN b text"); err != nil {
		t.Fatal(err)
	}
	produce(t, topic, [2]string{`{"id":5}`, row("5", "50", "104", `,"b":"new"`)})
	if rep, err = run(); err != nil {
		t.Fatal(err)
	}
	got, err := conn.Query(ctx, "SELECT ifNull(b, 'NULL') FROM "+src+" FINAL WHERE id = 5")
	if err != nil || len(got) != 1 || got[0][0] != "new" {
		t.Fatalf("added column: got %v, %v", got, err)
	}
	t.Logf("column b added and written: %v", got)

	// An incompatible change stops the run before writing; offsets stay.
	if _, err := pg.Exec(ctx, "ALTER TABLE public."+src+" ALTER COLUMN a TYPE text"); err != nil {
		t.Fatal(err)
	}
	produce(t, topic, [2]string{`{"id":6}`, row("6", `"x"`, "105", `,"b":"z"`)})
	rep, err = run()
	var refused *ddl.RefusedError
	if err == nil || !errors.As(err, &refused) {
		t.Fatalf("type change: want a refused ddl change, got %v", err)
	}
	t.Logf("type change stopped the run: %v", err)
	if l := lag(t, group, topic, unknown); l != 1 {
		t.Errorf("lag after the refused change = %d, want 1 (nothing committed)", l)
	}
}

// TestDrainDoesNotWaitForFlushInterval: when every partition reaches its
// target, the open window is written and committed at once. Before, the
// source handed out empty batches until the window's commit, so a drain of
// a small backlog ended only when --flush-interval (30 s) had passed.
func TestDrainDoesNotWaitForFlushInterval(t *testing.T) {
	pg := pgConn(t)
	conn, _ := testDB(t)
	cfg := baseConfig(t, conn, randName("repl-it-"))
	cfg.Source.Topics = []string{"cdc.ecommerce.public.vehicles"}
	cfg.Catalog = pgCatalog{pg}
	cfg.DDL.Policies = typemap.DefaultPolicies()
	cfg.FlushInterval = 10 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), cfg.FlushInterval/4)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, cfg)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("after %s: %v", took, err)
	}
	t.Logf("drained %d messages in %s (flush interval %s)", rep.Messages, took, cfg.FlushInterval)
	if rep.Status != StatusDrained || rep.LagLeft != 0 || rep.Messages == 0 {
		t.Fatalf("status %s, %d messages, lag left %d", rep.Status, rep.Messages, rep.LagLeft)
	}
	if took >= cfg.FlushInterval/4 {
		t.Fatalf("the drain took %s: it waited for the flush interval (%s)", took, cfg.FlushInterval)
	}
}
