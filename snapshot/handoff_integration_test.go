//go:build integration

package snapshot

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

func makeAccounts(t *testing.T, pg *pgx.Conn, schema string, n int) string {
	full := schema + ".accounts"
	pgExec(t, pg, "CREATE TABLE "+full+" (id bigint PRIMARY KEY, balance int NOT NULL)")
	pgExec(t, pg, fmt.Sprintf("INSERT INTO %s SELECT i, i FROM generate_series(1, %d) i", full, n))
	pgExec(t, pg, "ANALYZE "+full)
	return full
}

func currentLSN(t *testing.T, pg *pgx.Conn) uint64 {
	t.Helper()
	var s string
	if err := pg.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&s); err != nil {
		t.Fatal(err)
	}
	v, err := ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A transaction that holds an xid when the snapshot LSN is read delays the
// export until it ends; its rows are then in the snapshot. Its pid is
// named while waiting, and a bounded wait fails naming it.
func TestWaitsForRunningTransaction(t *testing.T) {
	pg := pgConnect(t)
	ch := chDatabase(t)
	schema := newSchema(t, pg)
	table := makeAccounts(t, pg, schema, 1000)
	ctx := context.Background()

	holder := pgConnect(t)
	var pid int
	if err := holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	open := func() pgx.Tx {
		tx, err := holder.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "UPDATE "+table+" SET balance = -1 WHERE id = 7"); err != nil {
			t.Fatal(err)
		}
		return tx
	}

	// Bounded: a transaction that never ends fails the run, naming its pid.
	tx := open()
	o := options(schema, testLog(t))
	o.WaitTimeout, o.WaitPoll = 500*time.Millisecond, 20*time.Millisecond
	_, err := Run(ctx, testenv.PostgresDSN(), ch, o)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", pid)) {
		t.Errorf("wait timeout: %v, want an error naming pid %d", err, pid)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// Waits, then sees the committed change.
	tx = open()
	exported := make(chan Point, 1)
	o.WaitTimeout = time.Minute
	o.AfterExport = func(p Point) { exported <- p }
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Run(ctx, testenv.PostgresDSN(), ch, o)
		done <- result{rep, err}
	}()
	time.Sleep(1500 * time.Millisecond)
	select {
	case p := <-exported:
		t.Fatalf("snapshot exported at %s while a transaction from before L was still open", p.LSN)
	default:
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.rep.WaitedSeconds < 1.4 {
		t.Errorf("waited %.2fs, want >= 1.5s", res.rep.WaitedSeconds)
	}
	if got := chOne(t, ch, "SELECT toString(balance) FROM accounts FINAL WHERE id = 7"); got != "-1" {
		t.Errorf("row written by the waited-for transaction: balance %s, want -1 (in the snapshot)", got)
	}
	t.Logf("waited %.2fs, L=%s", res.rep.WaitedSeconds, res.rep.LSN)
}

var updateRE = regexp.MustCompile(`^table [^ ]+\.accounts: UPDATE: id\[bigint\]:(\d+) balance\[integer\]:(-?\d+)$`)

// Changes committed while the snapshot runs have LSN > L, so replicate's
// events win over the snapshot rows. A logical slot (test_decoding) plays
// Debezium: it gives each change's own LSN; writing those changes as
// events with _version = their LSN makes FINAL equal PostgreSQL.
func TestHandoffChangesDuringSnapshot(t *testing.T) {
	pg := pgConnect(t)
	ch := chDatabase(t)
	schema := newSchema(t, pg)
	table := makeAccounts(t, pg, schema, 50000)
	ctx := context.Background()

	slot := uniqueName("snaptest")
	slotConn := pgConnect(t)
	if _, err := slotConn.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'test_decoding', true)", slot); err != nil {
		t.Fatalf("temporary logical slot: %v", err)
	}
	writer := pgConnect(t)
	// Logical decoding reads only flushed WAL: commits must wait for it.
	pgExec(t, writer, "SET synchronous_commit = on")
	var afterLSN uint64
	o := options(schema, testLog(t))
	o.ChunkRows, o.Workers = 5000, 3
	o.AfterExport = func(Point) {
		// Committed after the export, before any chunk is read.
		for i := 0; i < 5; i++ {
			pgExec(t, writer, fmt.Sprintf("UPDATE %s SET balance = balance + 1000 WHERE id %% 100 = %d", table, i))
		}
		afterLSN = currentLSN(t, writer)
	}
	rep := run(t, ctx, ch, o)

	// The snapshot rows of updated keys hold the old values at version L,
	// below the LSN read after the updates committed.
	if rep.Version >= afterLSN {
		t.Fatalf("snapshot version %d not below the LSN %d after the updates", rep.Version, afterLSN)
	}
	got := chOne(t, ch, "SELECT concat(toString(count()), '/', toString(countIf(balance = id)), '/', toString(max(_version))) FROM accounts FINAL WHERE id % 100 < 5")
	if want := fmt.Sprintf("2500/2500/%d", rep.Version); got != want {
		t.Errorf("updated rows in the snapshot: count/unchanged/version %s, want %s", got, want)
	}

	// Each change's own LSN is above L; applied as events, they win.
	rows, err := slotConn.Query(ctx, "SELECT lsn::text, data FROM pg_logical_slot_get_changes($1, NULL, NULL)", slot)
	if err != nil {
		t.Fatal(err)
	}
	var ids, balances []int64
	var versions []uint64
	for rows.Next() {
		var lsn, data string
		if err := rows.Scan(&lsn, &data); err != nil {
			t.Fatal(err)
		}
		m := updateRE.FindStringSubmatch(data)
		if m == nil || !strings.Contains(data, schema+".accounts") {
			continue
		}
		v, err := ParseLSN(lsn)
		if err != nil {
			t.Fatal(err)
		}
		if v <= rep.Version {
			t.Errorf("change %s at LSN %s is not above the snapshot LSN %s", data, lsn, rep.LSN)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		bal, _ := strconv.ParseInt(m[2], 10, 64)
		ids, balances, versions = append(ids, id), append(balances, bal), append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2500 {
		t.Fatalf("slot decoded %d updates of accounts, want 2500", len(ids))
	}
	insertEvents(t, ch, ids, balances, versions)
	compareTable(t, pg, ch, readTables(t, pg, schema)[0], o.DDL.Policies)
}

// sliceColumn is an insert column from a slice (test events).
type sliceColumn[T any] struct {
	v   []T
	lit func(T) string
}

func (c sliceColumn[T]) Len() int             { return len(c.v) }
func (c sliceColumn[T]) Values() any          { return c.v }
func (c sliceColumn[T]) Literal(i int) string { return c.lit(c.v[i]) }

// insertEvents writes UPDATE events the way replicate will: the row after
// the change, _version = the change's LSN.
func insertEvents(t *testing.T, ch chconn.Conn, ids, balances []int64, versions []uint64) {
	n := len(ids)
	bal32 := make([]int32, n)
	ops, srcs := make([]string, n), make([]string, n)
	ts, del := make([]uint64, n), make([]uint8, n)
	for i := range ids {
		bal32[i], ops[i], srcs[i] = int32(balances[i]), "UPDATE", "accounts"
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	str := chconn.QuoteString
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	data := []chconn.Column{
		sliceColumn[int64]{ids, i64},
		sliceColumn[int32]{bal32, func(v int32) string { return i64(int64(v)) }},
		sliceColumn[string]{ops, str},
		sliceColumn[string]{srcs, str},
		sliceColumn[uint64]{versions, u64},
		sliceColumn[uint8]{del, func(v uint8) string { return i64(int64(v)) }},
	}
	names := []string{"id", "balance", ddl.ColOperation, ddl.ColSourceTable, ddl.ColVersion, ddl.ColIsDeleted}
	if !ch.Profile().DateTime64 { // cdc_timestamp is UInt64 ms there; a DateTime64 default is fine elsewhere
		data = append(data, sliceColumn[uint64]{ts, u64})
		names = append(names, ddl.ColTimestamp)
	}
	if err := ch.Insert(context.Background(), "accounts", names, data); err != nil {
		t.Fatal(err)
	}
}
