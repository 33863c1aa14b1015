//go:build integration

package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// chDatabase opens ClickHouse 18.16 on a database of the test's own.
func chDatabase(t *testing.T) chconn.Conn {
	t.Helper()
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	admin, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatalf("ClickHouse: %v", err)
	}
	db := uniqueName("snaptest")
	if err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	conn, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/"+db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		_ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		admin.Close()
	})
	return conn
}

func run(t *testing.T, ctx context.Context, ch chconn.Conn, o Options) *Report {
	t.Helper()
	rep, err := Run(ctx, testenv.PostgresDSN(), ch, o)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return rep
}

// Every column of the shop arrives equal to PostgreSQL's value, through
// the contract's normalization, under the default policies: birth dates
// before 1970 are exact on 18.16 too (Int32 days), so nothing is adjusted.
func TestShopTypesNative(t *testing.T) {
	testShopTypes(t, chDatabase(t))
}

func testShopTypes(t *testing.T, ch chconn.Conn) {
	pg := pgConnect(t)
	schema := newSchema(t, pg)
	copyShop(t, pg, schema, 300)
	o := options(schema, testLog(t))
	o.ChunkRows = 100
	rep := run(t, context.Background(), ch, o)
	for _, tb := range readTables(t, pg, schema) {
		n := compareTable(t, pg, ch, tb, o.DDL.Policies)
		t.Logf("%s: %d rows equal", tb.Name, n)
	}
	t.Logf("report: %d rows, L=%s", rep.Rows, rep.LSN)
	for _, tb := range rep.Tables {
		if tb.Adjusted != 0 {
			t.Errorf("%s: %d values adjusted by the out-of-range policy", tb.Table, tb.Adjusted)
		}
		if !tb.Complete || !tb.Created {
			t.Errorf("%s: complete=%t created=%t", tb.Table, tb.Complete, tb.Created)
		}
	}
	// Metadata of snapshot rows.
	got := chQuery(t, ch, "SELECT cdc_operation, cdc_source_db, cdc_source_table, toString(_version), toString(_is_deleted), count() FROM orders GROUP BY cdc_operation, cdc_source_db, cdc_source_table, _version, _is_deleted")
	want := []string{"SNAPSHOT", "ecommerce", "orders", strconv.FormatUint(rep.Version, 10), "0", "300"}
	if len(got) != 1 || strings.Join(got[0], ",") != strings.Join(want, ",") {
		t.Errorf("metadata %v, want %v", got, want)
	}
}

// makeTable creates schema.name with n rows: an integer key with gaps
// (keyed=true) or a text key (ctid chunks).
func makeTable(t *testing.T, pg *pgx.Conn, schema, name string, n int, keyed bool) string {
	full := schema + "." + name
	if keyed {
		pgExec(t, pg, "CREATE TABLE "+full+" (id bigint PRIMARY KEY, balance int NOT NULL, note text)")
		// Keys 1, 4, 7, ... plus a far outlier: equal-width ranges are uneven.
		pgExec(t, pg, fmt.Sprintf("INSERT INTO %s SELECT i*3+1, i, 'n'||i FROM generate_series(0, %d) i", full, n-2))
		pgExec(t, pg, "INSERT INTO "+full+" VALUES (1000000000, 0, 'outlier')")
	} else {
		pgExec(t, pg, "CREATE TABLE "+full+" (code text PRIMARY KEY, balance int NOT NULL)")
		pgExec(t, pg, fmt.Sprintf("INSERT INTO %s SELECT md5(i::text), i FROM generate_series(1, %d) i", full, n))
	}
	pgExec(t, pg, "ANALYZE "+full)
	return full
}

// Chunked parallel reads cover every row exactly once, for key-range and
// ctid-range chunks.
func TestChunksCoverEveryRowOnce(t *testing.T) {
	pg := pgConnect(t)
	ch := chDatabase(t)
	schema := newSchema(t, pg)
	makeTable(t, pg, schema, "keyed", 20000, true)
	makeTable(t, pg, schema, "unkeyed", 20000, false)
	o := options(schema, testLog(t))
	o.ChunkRows, o.BatchRows, o.Workers = 1500, 700, 3
	rep := run(t, context.Background(), ch, o)
	for _, tr := range rep.Tables {
		if tr.Chunks < 10 || tr.ChunksDone != tr.Chunks {
			t.Errorf("%s: %d/%d chunks, want >= 10 all done", tr.Table, tr.ChunksDone, tr.Chunks)
		}
		t.Logf("%s: %d rows in %d chunks", tr.Table, tr.Rows, tr.Chunks)
	}
	checkBalance(t, pg, schema, 1500)
	for table, key := range map[string]string{"keyed": "id", "unkeyed": "code"} {
		// Without FINAL: no row was written twice.
		got := chOne(t, ch, fmt.Sprintf("SELECT concat(toString(count()), '/', toString(uniqExact(%s))) FROM %s", key, table))
		if got != "20000/20000" {
			t.Errorf("%s: count/distinct keys = %s, want 20000/20000", table, got)
		}
		// The key sets are equal: same count, same order-independent hash.
		pgHash := ""
		q := fmt.Sprintf("SELECT count(*)::text || '/' || sum(('x' || substr(md5(%s::text), 1, 8))::bit(32)::int::bigint)::text FROM %s.%s", key, schema, table)
		if err := pg.QueryRow(context.Background(), q).Scan(&pgHash); err != nil {
			t.Fatal(err)
		}
		chHash := chOne(t, ch, fmt.Sprintf("SELECT concat(toString(count()), '/', toString(sum(toInt32(reinterpretAsUInt32(reverse(unhex(substring(hex(MD5(toString(%s))), 1, 8)))))))) FROM %s", key, table))
		if chHash != pgHash {
			t.Errorf("%s: key set hash ClickHouse %s, PostgreSQL %s", table, chHash, pgHash)
		}
	}
}

// --where backfills only the selected rows; --truncate removes rows the
// source does not have; the two together are refused.
func TestWhereAndTruncate(t *testing.T) {
	pg := pgConnect(t)
	ch := chDatabase(t)
	schema := newSchema(t, pg)
	makeTable(t, pg, schema, "keyed", 3000, true)
	o := options(schema, testLog(t))
	o.Where = "id % 2 = 0"
	o.ChunkRows = 500
	run(t, context.Background(), ch, o)
	want := strconv.FormatInt(pgCount(t, pg, schema+".keyed WHERE id % 2 = 0"), 10)
	if got := chOne(t, ch, "SELECT toString(count()) FROM keyed FINAL"); got != want {
		t.Errorf("--where: %s rows, want %s", got, want)
	}
	if got := chOne(t, ch, "SELECT toString(count()) FROM keyed WHERE id % 2 = 1"); got != "0" {
		t.Errorf("--where: %s odd keys written", got)
	}

	o.Where, o.Truncate = "id % 2 = 0", true
	if _, err := Run(context.Background(), testenv.PostgresDSN(), ch, o); err == nil || !strings.Contains(err.Error(), "--where and --truncate") {
		t.Errorf("--where with --truncate: %v, want refused", err)
	}

	// A row PostgreSQL no longer has (deleted while nothing replicated).
	pgExec(t, pg, "DELETE FROM "+schema+".keyed WHERE id = 4")
	o.Where = ""
	run(t, context.Background(), ch, o)
	if got := chOne(t, ch, "SELECT toString(count()) FROM keyed WHERE id = 4"); got != "0" {
		t.Errorf("--truncate: deleted row still there (%s copies)", got)
	}
	compareTable(t, pg, ch, readTables(t, pg, schema)[0], o.DDL.Policies)
	if got, want := chOne(t, ch, "SELECT toString(count()) FROM keyed"), strconv.FormatInt(pgCount(t, pg, schema+".keyed"), 10); got != want {
		t.Errorf("--truncate: %s rows without FINAL, want %s", got, want)
	}
}

// A run cancelled mid-way leaves some rows; rerunning is safe: FINAL
// equals PostgreSQL and the rerun's rows carry the higher version.
func TestRerunAfterInterrupt(t *testing.T) {
	pg := pgConnect(t)
	ch := chDatabase(t)
	schema := newSchema(t, pg)
	makeTable(t, pg, schema, "keyed", 200000, true)
	o := options(schema, testLog(t))
	// Inserts of 4000 rows: the cancelled run has committed some.
	o.ChunkRows, o.BatchRows, o.InsertRows, o.Workers = 10000, 2000, 4000, 2
	o.Progress = &Progress{}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if ts := o.Progress.Tables(); len(ts) > 0 && ts[0].Rows >= 20000 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	rep, err := Run(ctx, testenv.PostgresDSN(), ch, o)
	cancel()
	if !errors.Is(err, context.Canceled) || rep.Status != StatusInterrupted {
		t.Fatalf("interrupted run: status %s, err %v; want interrupted, context canceled", rep.Status, err)
	}
	partial := chOne(t, ch, "SELECT toString(count()) FROM keyed")
	t.Logf("interrupted after %s rows (%d/%d chunks), L1=%d", partial, rep.Tables[0].ChunksDone, rep.Tables[0].Chunks, rep.Version)
	if n, _ := strconv.Atoi(partial); n == 0 || n >= 200000 {
		t.Fatalf("interrupted run wrote %s rows, want some but not all", partial)
	}
	// Between the runs, committed without waiting for the WAL to be written
	// (the stack runs synchronous_commit=off): L comes from the insert
	// position, so the rerun's is above the first run's all the same.
	pgExec(t, pg, "UPDATE "+schema+".keyed SET balance = balance + 1 WHERE id < 100")

	o.Progress = nil
	rep2 := run(t, context.Background(), ch, o)
	if rep2.Version <= rep.Version {
		t.Errorf("rerun version %d not above the first run's %d", rep2.Version, rep.Version)
	}
	compareTable(t, pg, ch, readTables(t, pg, schema)[0], o.DDL.Policies)
	if got := chOne(t, ch, "SELECT toString(uniqExact(_version)) FROM keyed FINAL"); got != "1" {
		t.Errorf("FINAL holds %s versions, want only the rerun's", got)
	}
}

// checkBalance plans both tables again and counts each chunk's rows: no
// chunk may hold more than twice the target, despite the key outlier.
func checkBalance(t *testing.T, pg *pgx.Conn, schema string, target int) {
	ctx := context.Background()
	tx, err := pg.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, tb := range readTables(t, pg, schema) {
		job := &tableJob{Table: tb}
		est, err := estimateRows(ctx, tx, tb)
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := planChunks(ctx, tx, job, est, target)
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int64
		for _, c := range chunks {
			var n int64
			q := "SELECT count(*) FROM " + pgTable(tb)
			if c.Cond != "" {
				q += " WHERE " + c.Cond
			}
			if err := tx.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			sizes = append(sizes, n)
			if n > int64(2*target) {
				t.Errorf("%s: %d rows, target %d", c, n, target)
			}
		}
		t.Logf("%s chunk sizes: %v", tb.Name, sizes)
	}
}
