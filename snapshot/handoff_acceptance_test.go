//go:build integration

package snapshot_test

// The end-to-end acceptance test of the snapshot → replicate handoff
// (issue 5): a shop of at least 1,000,000 orders is bootstrapped into
// ClickHouse by `sluice snapshot --truncate` while scripts/shop/churn
// changes it, Debezium streams the changes (it does not snapshot the data
// itself: snapshot.mode no_data), then `sluice replicate` drains the topics
// and ClickHouse FINAL must equal PostgreSQL row for row in every table.
//
// Why the result must be exact (snapshot/doc.go has the proof of L):
//   - changes committed before the connector's replication slot existed are
//     only in the snapshot: the slot has to exist, and Debezium has to be
//     streaming from it, before the snapshot reads L. The test waits until
//     the slot is active and every table's topic holds streamed changes,
//     records the slot's restart_lsn and confirmed_flush_lsn, and fails if
//     either is above L;
//   - changes between the slot's start and L are in both the snapshot and
//     Kafka; their events carry LSN < L (or, for a transaction that was
//     still open at L and waited for, an event equal to the snapshot row),
//     so they lose to (or equal) the snapshot row under FINAL;
//   - changes after L are only in Kafka, with LSN > L: they win.
//
// Everything is the test's own: a PostgreSQL database, a Debezium connector
// (own name, slot, publication, topic prefix), a ClickHouse database and a
// consumer group; all are removed when the test ends (the approach of
// replicate/e2e_helpers_test.go, copied: those helpers are in another
// package).
//
// SLUICE_ACCEPT_SCALE sets the orders of the shop (default 1000000). The
// test is skipped under -short.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/e2etest"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

var accTables = []string{"customers", "vehicles", "orders", "order_items", "payments"}

var accKeys = map[string]string{
	"customers": "customer_id", "vehicles": "vehicle_id", "orders": "order_id",
	"order_items": "order_item_id", "payments": "payment_id",
}

// accChurnRound is the length of one scripts/shop/churn run; rounds repeat
// until the snapshot has finished, so changes run through the whole copy.
const accChurnRound = 20 * time.Second

// accWorld is the test's own source, sink, binary and clients.
type accWorld struct {
	t      *testing.T
	root   string
	bin    string
	src    string // PostgreSQL database, slot and publication name
	srcDSN string
	prefix string // topic prefix, ending in ".public."
	slot   string
	db     string // ClickHouse database
	chURL  string
	group  string
	pg     *pgx.Conn // to srcDSN
	ch     chconn.Conn
	kafka  *kafka.Client

	steps []accStep
}

type accStep struct {
	name string
	took time.Duration
}

func accUnique(prefix string) string { return fmt.Sprintf("%s_%08x", prefix, rand.Uint32()) }

// step runs one step of the test and records how long it took.
func (w *accWorld) step(name string, fn func()) {
	w.t.Helper()
	begin := time.Now()
	fn()
	took := time.Since(begin)
	w.steps = append(w.steps, accStep{name, took})
	w.t.Logf("step %q: %s", name, took.Round(time.Millisecond))
}

func (w *accWorld) topics() []string {
	out := make([]string, len(accTables))
	for i, tb := range accTables {
		out[i] = w.prefix + tb
	}
	return out
}

func TestHandoffAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test of a 1M-order shop: minutes; skipped with -short")
	}
	testenv.RequirePostgres(t)
	testenv.RequireKafka(t)
	testenv.RequireConnect(t)
	testenv.RequireClickHouse(t)
	scale := 1_000_000
	if s := os.Getenv("SLUICE_ACCEPT_SCALE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SLUICE_ACCEPT_SCALE=%q: want a positive number of orders", s)
		}
		scale = n
	}
	ctx := context.Background()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	w := &accWorld{t: t, root: root, src: accUnique("sluice_accept"), group: accUnique("sluice-accept")}
	w.db = w.src
	begin := time.Now()
	t.Cleanup(func() {
		var b strings.Builder
		for _, s := range w.steps {
			fmt.Fprintf(&b, "\n  %-44s %8.1fs", s.name, s.took.Seconds())
		}
		t.Logf("timings at scale %d (total %.1fs):%s", scale, time.Since(begin).Seconds(), b.String())
	})

	w.step("build sluice", w.build)
	w.step(fmt.Sprintf("create and load the source (--scale %d)", scale), func() { w.newSource(scale) })
	w.newSink()
	w.step("register the connector (no_data), slot active", w.registerConnector)

	// Churn from now until the snapshot has finished.
	churn := w.startChurn()
	var slotBefore accSlot
	w.step("churn streams into every topic", func() {
		w.waitStreaming(3 * time.Minute)
		// Some changes land between the slot's start and L: they are in
		// both the snapshot and Kafka.
		time.Sleep(3 * time.Second)
		slotBefore = w.readSlot()
	})
	t.Logf("slot %s before the snapshot: restart_lsn %s, confirmed_flush_lsn %s, active %t",
		w.slot, slotBefore.restart, slotBefore.confirmed, slotBefore.active)

	var snap accSnapshotReport
	w.step("sluice snapshot --truncate (under churn)", func() { snap = w.snapshot() })
	L := snap.Version
	t.Logf("snapshot at LSN %s (_version %d), waited %.1fs, %d rows in %.1fs (%.0f rows/s)",
		snap.LSN, L, snap.WaitedSeconds, snap.Rows, snap.Seconds, snap.RowsPerSecond)
	for _, tr := range snap.Tables {
		t.Logf("  snapshot %-12s %9d rows %3d/%d chunks %6.1fs", tr.Table, tr.Rows, tr.ChunksDone, tr.Chunks, tr.Seconds)
	}
	// The slot must have existed (and Debezium streamed from it) before L:
	// otherwise changes between L and the slot's start are in neither.
	for _, p := range []struct{ name, lsn string }{{"restart_lsn", slotBefore.restart}, {"confirmed_flush_lsn", slotBefore.confirmed}} {
		v := accParseLSN(t, p.lsn)
		if v > L {
			t.Fatalf("the connector's slot %s has %s %s above the snapshot's LSN %s: changes between L and the slot's start are in neither the snapshot nor Kafka; the slot must exist before the snapshot",
				w.slot, p.name, p.lsn, snap.LSN)
		}
	}

	var rounds int
	w.step("churn ends (the round running when the snapshot finished)", func() {
		var err error
		if rounds, err = churn.stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("churn: %d rounds of %s", rounds, accChurnRound)

	var ends map[accTP]int64
	w.step("topics quiet (end offsets still for 10s)", func() { ends = w.waitQuiet(10*time.Second, 5*time.Minute) })
	t.Logf("topics hold %d messages", accSum(ends))

	var rep accReplicateReport
	w.step("sluice replicate until lag 0", func() { rep = w.drain(6) })
	var upd, del, ins int64
	for _, tr := range rep.Tables {
		t.Logf("  replicate %-12s inserted %7d updated %7d deleted %6d rows %7d", tr.Table, tr.Inserted, tr.Updated, tr.Deleted, tr.Rows)
		ins, upd, del = ins+tr.Inserted, upd+tr.Updated, del+tr.Deleted
	}
	if upd == 0 || del == 0 || ins == 0 {
		t.Errorf("replicate wrote %d inserts, %d updates, %d deletes: the churn should have produced all three", ins, upd, del)
	}
	// Nothing may have changed the source since the topics went quiet.
	if after := w.endOffsets(); !accSameOffsets(after, ends) {
		t.Fatalf("the topics moved after they were quiet (%d → %d messages): is something writing to %s?", accSum(ends), accSum(after), w.src)
	}

	w.step("sluice verify (5 tables)", w.verify)
	w.step("counts, key sets and versions", func() { w.checkKeysAndVersions(ctx, snap) })
}

// --- source, sink, connector ---

func (w *accWorld) build() {
	w.bin = filepath.Join(w.t.TempDir(), "sluice")
	cmd := exec.Command("go", "build", "-o", w.bin, ".")
	cmd.Dir = w.root
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("go build: %v\n%s", err, out)
	}
}

// newSource creates the test's PostgreSQL database and loads the shop.
func (w *accWorld) newSource(scale int) {
	t := w.t
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+w.src); err != nil {
		t.Fatalf("create database %s: %v", w.src, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testenv.PostgresDSN())
		if err == nil {
			_, err = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+w.src+" WITH (FORCE)")
			c.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop database %s: %v", w.src, err)
		}
	})
	u, err := url.Parse(testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + w.src
	w.srcDSN = u.String()
	w.script("scripts/shop/load", "--scale", strconv.Itoa(scale))
	if w.pg, err = pgx.Connect(ctx, w.srcDSN); err != nil {
		t.Fatalf("connect to %s: %v", w.src, err)
	}
	t.Cleanup(func() { w.pg.Close(context.Background()) })
}

// newSink creates the ClickHouse database and the Kafka client; the
// database and the consumer group are removed at the end.
func (w *accWorld) newSink() {
	t := w.t
	ctx := context.Background()
	tr := &kafka.Transport{ClientID: "sluice-accept-test"}
	t.Cleanup(tr.CloseIdleConnections)
	w.kafka = &kafka.Client{Addr: kafka.TCP(testenv.KafkaBroker()), Timeout: 10 * time.Second, Transport: tr}
	t.Cleanup(func() {
		res, err := w.kafka.DeleteGroups(context.Background(), &kafka.DeleteGroupsRequest{GroupIDs: []string{w.group}})
		if err == nil {
			err = res.Errors[w.group]
		}
		if err != nil && !errors.Is(err, kafka.GroupIdNotFound) {
			t.Logf("delete group %s: %v", w.group, err)
		}
	})
	admin, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatalf("connect to ClickHouse: %v", err)
	}
	if err := admin.Exec(ctx, "CREATE DATABASE "+w.db); err != nil {
		t.Fatalf("create database %s: %v", w.db, err)
	}
	admin.Close()
	t.Cleanup(func() {
		if err := e2etest.DropDatabase(w.db); err != nil {
			t.Errorf("drop database %s: %v", w.db, err)
		}
	})
	w.chURL = "clickhouse://" + testenv.ClickHouseAddr() + "/" + w.db
	if w.ch, err = native.Open(ctx, w.chURL); err != nil {
		t.Fatalf("connect to ClickHouse database %s: %v", w.db, err)
	}
	t.Cleanup(func() { w.ch.Close() })
	t.Logf("source database %s, ClickHouse database %s, group %s", w.src, w.db, w.group)
}

// registerConnector registers the shared unwrap connector's config with
// names of the test's own and snapshot.mode no_data (Debezium 3.x: schema
// only, then streaming from the slot it creates), then waits until the
// slot exists and is active (Debezium started streaming from it).
func (w *accWorld) registerConnector() {
	t := w.t
	raw, err := os.ReadFile(filepath.Join(w.root, "scripts", "connectors", "ecommerce-unwrap.json"))
	if err != nil {
		t.Fatal(err)
	}
	var conn struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(raw, &conn); err != nil {
		t.Fatal(err)
	}
	prefix := strings.ReplaceAll(w.src, "_", "-")
	conn.Name = prefix
	conn.Config["database.dbname"] = w.src
	conn.Config["topic.prefix"] = prefix
	conn.Config["slot.name"] = w.src
	conn.Config["publication.name"] = w.src
	conn.Config["snapshot.mode"] = "no_data"
	w.slot, w.prefix = w.src, prefix+".public."
	file := filepath.Join(t.TempDir(), w.src+".json")
	b, _ := json.MarshalIndent(conn, "", "  ")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.script("scripts/connectors/register", "--delete", file) })
	w.script("scripts/connectors/register", file)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		s := w.readSlot()
		if s.exists && s.active {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connector's slot %s is not active 2 minutes after registering (exists %t)", w.slot, s.exists)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type accSlot struct {
	exists, active     bool
	restart, confirmed string
}

func (w *accWorld) readSlot() accSlot {
	w.t.Helper()
	var s accSlot
	var restart, confirmed *string
	err := w.pg.QueryRow(context.Background(),
		"SELECT active, restart_lsn::text, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
		w.slot).Scan(&s.active, &restart, &confirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		return s
	}
	if err != nil {
		w.t.Fatalf("read slot %s: %v", w.slot, err)
	}
	s.exists = true
	if restart != nil {
		s.restart = *restart
	}
	if confirmed != nil {
		s.confirmed = *confirmed
	}
	return s
}

// waitStreaming waits until every table's topic holds changes streamed by
// the connector: from then on, Debezium's streaming position is behind any
// LSN read later.
func (w *accWorld) waitStreaming(max time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(max)
	for {
		ends, err := w.endOffsetsOf(w.topics())
		if err == nil {
			perTopic := map[string]int64{}
			for k, v := range ends {
				perTopic[k.topic] += v
			}
			all := true
			for _, tp := range w.topics() {
				if perTopic[tp] == 0 {
					all = false
				}
			}
			if all {
				w.t.Logf("streaming: %d messages in the 5 topics", accSum(ends))
				return
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the connector did not stream changes of every table within %s (%v)", max, err)
		}
		time.Sleep(time.Second)
	}
}

// script runs one of the repository's scripts against the test's source.
func (w *accWorld) script(path string, args ...string) {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(w.root, path), args...)
	cmd.Dir = w.root
	cmd.Env = append(os.Environ(), "SLUICE_PG_DSN="+w.srcDSN)
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("%s %v: %v\n%s", path, args, err, accTail(string(out), 30))
	}
}

// --- churn ---

type accChurn struct {
	mu      sync.Mutex
	cur     *exec.Cmd
	quit    chan struct{}
	done    chan struct{}
	rounds  int
	err     error
	lastOut string
}

// startChurn runs scripts/shop/churn rounds back to back until stop.
func (w *accWorld) startChurn() *accChurn {
	c := &accChurn{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.quit:
				return
			default:
			}
			cmd := exec.Command(filepath.Join(w.root, "scripts/shop/churn"),
				"--duration", strconv.Itoa(int(accChurnRound.Seconds())), "--progress", "0")
			cmd.Dir = w.root
			cmd.Env = append(os.Environ(), "SLUICE_PG_DSN="+w.srcDSN)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // pgbench is its child
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			c.mu.Lock()
			err := cmd.Start()
			if err == nil {
				c.cur = cmd
			}
			c.mu.Unlock()
			if err == nil {
				err = cmd.Wait()
			}
			c.mu.Lock()
			c.cur = nil
			c.rounds++
			c.lastOut = out.String()
			if err != nil && c.err == nil {
				c.err = fmt.Errorf("churn round %d: %v\n%s", c.rounds, err, accTail(out.String(), 20))
			}
			failed := c.err != nil
			c.mu.Unlock()
			if failed {
				return
			}
		}
	}()
	w.t.Cleanup(func() {
		select {
		case <-c.done:
			return
		default:
		}
		c.mu.Lock()
		select {
		case <-c.quit:
		default:
			close(c.quit)
		}
		if c.cur != nil && c.cur.Process != nil {
			_ = syscall.Kill(-c.cur.Process.Pid, syscall.SIGKILL) // the round's own process group
		}
		c.mu.Unlock()
		<-c.done
	})
	return c
}

// stop lets the running round finish and returns the number of rounds.
func (c *accChurn) stop() (int, error) {
	c.mu.Lock()
	select {
	case <-c.quit:
	default:
		close(c.quit)
	}
	c.mu.Unlock()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rounds, c.err
}

// --- sluice commands ---

type accProc struct {
	code   int
	stdout string
	stderr string
	took   time.Duration
}

func (w *accWorld) sluice(timeout time.Duration, args ...string) accProc {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "SLUICE_LOG_LEVEL=info")
	begin := time.Now()
	err := cmd.Run()
	p := accProc{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(begin)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		w.t.Fatalf("sluice %s did not finish within %s; stderr:\n%s", args[0], timeout, accTail(p.stderr, 40))
	case errors.As(err, &ee):
		p.code = ee.ExitCode()
	default:
		w.t.Fatalf("sluice %s: %v", args[0], err)
	}
	return p
}

type accSnapshotReport struct {
	Status        string  `json:"status"`
	LSN           string  `json:"snapshot_lsn"`
	Version       uint64  `json:"version"`
	WaitedSeconds float64 `json:"waited_seconds"`
	Tables        []struct {
		Table      string  `json:"table"`
		Rows       int64   `json:"rows"`
		Chunks     int     `json:"chunks"`
		ChunksDone int     `json:"chunks_done"`
		Complete   bool    `json:"complete"`
		Seconds    float64 `json:"seconds"`
	} `json:"tables"`
	Rows          int64   `json:"rows"`
	Seconds       float64 `json:"seconds"`
	RowsPerSecond float64 `json:"rows_per_second"`
	Error         string  `json:"error"`
}

func (w *accWorld) snapshot() accSnapshotReport {
	t := w.t
	p := w.sluice(30*time.Minute, "snapshot",
		"--pg-dsn", w.srcDSN, "--clickhouse-url", w.chURL,
		"--tables", strings.Join(accTables, ","), "--truncate",
		"--output", "json", "--progress", "never")
	var r accSnapshotReport
	if err := json.Unmarshal([]byte(p.stdout), &r); err != nil || p.code != 0 || r.Status != "ok" {
		t.Fatalf("sluice snapshot: exit %d, status %q, error %q (%v); stderr:\n%s", p.code, r.Status, r.Error, err, accTail(p.stderr, 30))
	}
	if len(r.Tables) != len(accTables) || r.Version == 0 {
		t.Fatalf("snapshot report: %d tables, version %d; want %d tables and a version", len(r.Tables), r.Version, len(accTables))
	}
	for _, tr := range r.Tables {
		if !tr.Complete {
			t.Fatalf("snapshot of %s incomplete: %d/%d chunks", tr.Table, tr.ChunksDone, tr.Chunks)
		}
	}
	return r
}

type accReplicateReport struct {
	Status      string `json:"status"`
	Error       string `json:"error"`
	Messages    int64  `json:"messages"`
	RowsWritten int64  `json:"rows_written"`
	LagLeft     int64  `json:"lag_left"`
	DeadLetters int64  `json:"dead_letters"`
	Tables      []struct {
		Table    string `json:"table"`
		Inserted int64  `json:"inserted"`
		Updated  int64  `json:"updated"`
		Deleted  int64  `json:"deleted"`
		Rows     int64  `json:"rows"`
	} `json:"tables"`
}

// drain runs replicate until a run exits 0 with lag 0 (a run that lost
// its generation may stop early); the per-table counts add up over runs.
func (w *accWorld) drain(maxRuns int) accReplicateReport {
	t := w.t
	var total accReplicateReport
	byTable := map[string]int{}
	for run := 1; run <= maxRuns; run++ {
		p := w.sluice(20*time.Minute, "replicate",
			"--kafka-brokers", testenv.KafkaBroker(),
			"--group", w.group,
			"--topics", strings.Join(w.topics(), ","),
			"--clickhouse-url", w.chURL,
			"--pg-dsn", w.srcDSN,
			"--output", "json")
		var r accReplicateReport
		_ = json.Unmarshal([]byte(p.stdout), &r)
		t.Logf("replicate run #%d: exit %d, status %s, %d messages, %d rows, lag left %d, dead letters %d, %.1fs",
			run, p.code, r.Status, r.Messages, r.RowsWritten, r.LagLeft, r.DeadLetters, p.took.Seconds())
		if r.DeadLetters > 0 || p.code == 3 {
			t.Fatalf("replicate produced dead letters; stderr:\n%s", accTail(p.stderr, 20))
		}
		if p.code != 0 && p.code != 1 {
			t.Fatalf("replicate exited %d (%s: %s); stderr:\n%s", p.code, r.Status, r.Error, accTail(p.stderr, 30))
		}
		total.Messages += r.Messages
		total.RowsWritten += r.RowsWritten
		for _, tr := range r.Tables {
			i, ok := byTable[tr.Table]
			if !ok {
				i = len(total.Tables)
				byTable[tr.Table] = i
				total.Tables = append(total.Tables, tr)
				continue
			}
			x := &total.Tables[i]
			x.Inserted, x.Updated, x.Deleted, x.Rows = x.Inserted+tr.Inserted, x.Updated+tr.Updated, x.Deleted+tr.Deleted, x.Rows+tr.Rows
		}
		if p.code == 0 && r.LagLeft == 0 && (r.Status == "drained" || r.Status == "idle") {
			total.Status = r.Status
			return total
		}
	}
	t.Fatalf("no replicate run drained the topics in %d runs", maxRuns)
	return total
}

type accVerifyReport struct {
	Verdict   string `json:"verdict"`
	SourceLSN string `json:"source_lsn"`
	Tables    []struct {
		Table     string        `json:"table"`
		Status    string        `json:"status"`
		PGRows    int64         `json:"postgres_rows"`
		CHRows    int64         `json:"clickhouse_rows"`
		Queries   int           `json:"segment_queries"`
		Duration  time.Duration `json:"duration_ns"`
		Diffs     []accDiff     `json:"diffs"`
		Truncated bool          `json:"truncated"`
		Error     string        `json:"error"`
	} `json:"tables"`
}

type accDiff struct {
	Key     []string `json:"key"`
	Kind    string   `json:"kind"`
	Columns []string `json:"columns"`
}

// verify runs sluice verify over the five tables: exit 0 and "equal", or
// the test fails with the report. (It once had to tolerate +0.0 floats,
// which verify rendered as ” on the ClickHouse side; the vehicles'
// mileage_km 0 keeps that fixed.)
func (w *accWorld) verify() {
	t := w.t
	args := []string{"verify", "--pg-dsn", w.srcDSN, "--clickhouse-url", w.chURL, "--max-diffs", "100"}
	for _, tb := range accTables {
		args = append(args, "--table", tb)
	}
	p := w.sluice(30*time.Minute, append(args, "--output", "json")...)
	var r accVerifyReport
	if err := json.Unmarshal([]byte(p.stdout), &r); err != nil {
		t.Fatalf("sluice verify: exit %d, no JSON report (%v); stderr:\n%s", p.code, err, accTail(p.stderr, 30))
	}
	for _, tr := range r.Tables {
		t.Logf("  verify %-12s %-7s postgres %9d clickhouse %9d (%d segment queries, %.1fs, %d diffs)",
			tr.Table, tr.Status, tr.PGRows, tr.CHRows, tr.Queries, tr.Duration.Seconds(), len(tr.Diffs))
	}
	if p.code != 0 || r.Verdict != "equal" || len(r.Tables) != len(accTables) {
		t.Fatalf("sluice verify: exit %d, verdict %q over %d tables; want exit 0, equal, %d tables. Report:\n%s",
			p.code, r.Verdict, len(r.Tables), len(accTables), accTail(p.stdout, 80))
	}
}

// --- own checks ---

// checkKeysAndVersions compares counts and key sets of PostgreSQL and
// ClickHouse FINAL, and reads where the current rows came from: _version =
// L is the snapshot, > L replicate; no current row may be older than L (the
// snapshot wrote every row it saw at L, and --truncate emptied the table).
func (w *accWorld) checkKeysAndVersions(ctx context.Context, snap accSnapshotReport) {
	t := w.t
	L := snap.Version
	snapRows := map[string]int64{}
	for _, tr := range snap.Tables {
		snapRows[tr.Table] = tr.Rows
	}
	var atL, afterL int64
	for _, tb := range accTables {
		key := accKeys[tb]
		pgKeys := w.pgKeys(ctx, tb, key)
		chKeys := w.chKeys(ctx, tb, key)
		if d := accKeyDiff(pgKeys, chKeys); d != "" {
			t.Errorf("%s: key sets differ (PostgreSQL %d rows, ClickHouse FINAL %d rows): %s", tb, len(pgKeys), len(chKeys), d)
		}
		q := fmt.Sprintf(`SELECT toString(countIf(_is_deleted = 0 AND _version = %[1]d)), toString(countIf(_is_deleted = 0 AND _version > %[1]d)),
			toString(countIf(_is_deleted = 0 AND _version < %[1]d)), toString(countIf(_is_deleted = 1 AND _version > %[1]d)),
			toString(countIf(_is_deleted = 1 AND _version < %[1]d))
			FROM %[2]s.%[3]s FINAL SETTINGS optimize_move_to_prewhere = 0`,
			L, chconn.QuoteIdent(w.db), chconn.QuoteIdent(tb))
		rows, err := w.ch.Query(ctx, q)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%s: versions: %v", tb, err)
		}
		n := make([]int64, len(rows[0]))
		for i, s := range rows[0] {
			n[i], _ = strconv.ParseInt(s, 10, 64)
		}
		t.Logf("  %-12s postgres %9d | snapshot wrote %9d | FINAL: %9d at L, %7d after L (replicate), %d before L; deletes after L %d, before L %d",
			tb, len(pgKeys), snapRows[tb], n[0], n[1], n[2], n[3], n[4])
		if n[2] != 0 {
			t.Errorf("%s: %d current rows have a _version below the snapshot's L=%d", tb, n[2], L)
		}
		// Churn touches every table; a small table may be rewritten entirely.
		if n[1] == 0 || (n[0] == 0 && snapRows[tb] >= 10000) {
			t.Errorf("%s: %d current rows from the snapshot (_version = L), %d from replicate (> L): want both", tb, n[0], n[1])
		}
		atL, afterL = atL+n[0], afterL+n[1]
	}
	t.Logf("FINAL over the 5 tables: %d rows from the snapshot (_version = L = %d), %d from replicate", atL, L, afterL)
	if atL == 0 || afterL == 0 {
		t.Errorf("FINAL holds %d rows from the snapshot and %d from replicate: want both", atL, afterL)
	}
}

func (w *accWorld) pgKeys(ctx context.Context, table, key string) []int64 {
	w.t.Helper()
	rows, err := w.pg.Query(ctx, fmt.Sprintf("SELECT %s FROM public.%s ORDER BY 1",
		pgx.Identifier{key}.Sanitize(), pgx.Identifier{table}.Sanitize()))
	if err != nil {
		w.t.Fatalf("%s: keys: %v", table, err)
	}
	var out []int64
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// chKeys reads the current keys (FINAL, not deleted; the filter must not
// move to PREWHERE, before FINAL), duplicates included.
func (w *accWorld) chKeys(ctx context.Context, table, key string) []int64 {
	w.t.Helper()
	k := chconn.QuoteIdent(key)
	rows, err := w.ch.Query(ctx, fmt.Sprintf("SELECT toString(%s) FROM %s.%s FINAL WHERE _is_deleted = 0 ORDER BY %s SETTINGS optimize_move_to_prewhere = 0",
		k, chconn.QuoteIdent(w.db), chconn.QuoteIdent(table), k))
	if err != nil {
		w.t.Fatalf("%s: keys: %v", table, err)
	}
	out := make([]int64, len(rows))
	for i, r := range rows {
		if out[i], err = strconv.ParseInt(r[0], 10, 64); err != nil {
			w.t.Fatal(err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// accKeyDiff names the first differences of two sorted key lists ("" if
// equal, duplicates count).
func accKeyDiff(pg, ch []int64) string {
	var diffs []string
	add := func(s string) {
		if len(diffs) < 10 {
			diffs = append(diffs, s)
		}
	}
	missing, extra, dup := 0, 0, 0
	for i := 1; i < len(ch); i++ {
		if ch[i] == ch[i-1] {
			dup++
			add(fmt.Sprintf("%d twice in FINAL", ch[i]))
		}
	}
	i, j := 0, 0
	for i < len(pg) || j < len(ch) {
		switch {
		case j >= len(ch) || (i < len(pg) && pg[i] < ch[j]):
			missing++
			add(fmt.Sprintf("%d missing in ClickHouse", pg[i]))
			i++
		case i >= len(pg) || ch[j] < pg[i]:
			if j == 0 || ch[j] != ch[j-1] {
				extra++
				add(fmt.Sprintf("%d only in ClickHouse", ch[j]))
			}
			j++
		default:
			i++
			j++
		}
	}
	if missing+extra+dup == 0 {
		return ""
	}
	return fmt.Sprintf("%d missing, %d extra, %d duplicated: %s", missing, extra, dup, strings.Join(diffs, "; "))
}

// --- Kafka ---

type accTP struct {
	topic     string
	partition int
}

func (w *accWorld) endOffsets() map[accTP]int64 {
	w.t.Helper()
	m, err := w.endOffsetsOf(w.topics())
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *accWorld) endOffsetsOf(topics []string) (map[accTP]int64, error) {
	ctx := context.Background()
	md, err := w.kafka.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	req := map[string][]kafka.OffsetRequest{}
	for _, tp := range md.Topics {
		if tp.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", tp.Name, tp.Error)
		}
		for _, p := range tp.Partitions {
			req[tp.Name] = append(req[tp.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	res, err := w.kafka.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, err
	}
	out := map[accTP]int64{}
	for topic, list := range res.Topics {
		for _, po := range list {
			if po.Error != nil {
				return nil, fmt.Errorf("%s/%d: %w", topic, po.Partition, po.Error)
			}
			out[accTP{topic, po.Partition}] = po.LastOffset
		}
	}
	return out, nil
}

func accSum(m map[accTP]int64) int64 {
	var n int64
	for _, v := range m {
		if v > 0 {
			n += v
		}
	}
	return n
}

func accSameOffsets(a, b map[accTP]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// waitQuiet waits until the topics' end offsets have not moved for stable.
func (w *accWorld) waitQuiet(stable, max time.Duration) map[accTP]int64 {
	w.t.Helper()
	deadline := time.Now().Add(max)
	last := w.endOffsets()
	since := time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		cur := w.endOffsets()
		if !accSameOffsets(cur, last) {
			last, since = cur, time.Now()
			continue
		}
		if time.Since(since) >= stable {
			return last
		}
	}
	w.t.Fatalf("the topics never stayed quiet for %s within %s", stable, max)
	return nil
}

// --- small helpers ---

func accParseLSN(t *testing.T, s string) uint64 {
	t.Helper()
	hi, lo, ok := strings.Cut(s, "/")
	a, err1 := strconv.ParseUint(hi, 16, 32)
	b, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("LSN %q: want HI/LO in hex", s)
	}
	return a<<32 | b
}

func accTail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
