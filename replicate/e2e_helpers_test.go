//go:build integration

package replicate_test

// Helpers of the end-to-end tests that drive the real sluice binary against
// the local stack (scripts/stack): PostgreSQL's shop, the Debezium topics in
// Kafka, ClickHouse 18.16.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/e2etest"
	"github.com/sluice-cdc/sluice/internal/testenv"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

var shopTables = []string{"customers", "vehicles", "orders", "order_items", "payments"}

var shopKeys = map[string]string{
	"customers": "customer_id", "vehicles": "vehicle_id", "orders": "order_id",
	"order_items": "order_item_id", "payments": "payment_id",
}

// shape is one Debezium connector's topics.
type shape struct {
	name   string // "unwrap" or "envelope"
	prefix string // topic prefix before the table name
}

// connectorFile is the shared connector config of each shape, the template
// of the tests' own connectors.
var connectorFile = map[string]string{"unwrap": "ecommerce-unwrap.json", "envelope": "ecommerce-envelope.json"}

func (s shape) topics() []string {
	out := make([]string, len(shopTables))
	for i, t := range shopTables {
		out[i] = s.prefix + t
	}
	return out
}

func (s shape) table(topic string) string { return strings.TrimPrefix(topic, s.prefix) }

// e2e is one test's world: the binary, its own ClickHouse database and
// consumer group, clients for checks.
type e2e struct {
	t      *testing.T
	bin    string
	shape  shape
	db     string // ClickHouse database of this test
	chURL  string
	group  string
	ch     chconn.Conn // connected to db
	pg     *pgx.Conn
	kafka  *kafka.Client
	tables []ddl.Table // the shop's source tables, sorted by name
	srcDSN string      // the test's own source database
	// filledFromRun and superseded add up the runs to completion's
	// filled_from_run and superseded.
	filledFromRun, superseded int64
}

func uniqueName(prefix string) string { return fmt.Sprintf("%s_%08x", prefix, rand.Uint32()) }

// newE2E checks the services (failing, never skipping, when one is down),
// creates a source of the test's own (see newSource), builds the binary,
// creates a ClickHouse database and names a group of the test's own; all
// are dropped when the test ends.
func newE2E(t *testing.T, shapeName string, churn time.Duration) *e2e {
	t.Helper()
	testenv.RequirePostgres(t)
	testenv.RequireKafka(t)
	testenv.RequireConnect(t)
	testenv.RequireClickHouse(t)
	e := &e2e{t: t, db: uniqueName("sluice_e2e"), group: uniqueName("sluice-e2e")}
	ctx := context.Background()

	tr := &kafka.Transport{ClientID: "sluice-e2e-test"}
	t.Cleanup(tr.CloseIdleConnections)
	e.kafka = &kafka.Client{Addr: kafka.TCP(testenv.KafkaBroker()), Timeout: 10 * time.Second, Transport: tr}
	t.Cleanup(func() {
		res, err := e.kafka.DeleteGroups(context.Background(), &kafka.DeleteGroupsRequest{GroupIDs: []string{e.group}})
		if err == nil {
			err = res.Errors[e.group]
		}
		if err != nil && !errors.Is(err, kafka.GroupIdNotFound) {
			t.Logf("delete group %s: %v", e.group, err)
		}
	})

	e.newSource(shapeName, churn)
	var err error
	if e.tables, err = ddl.ReadCatalog(ctx, e.pg, "public", shopTables); err != nil {
		t.Fatalf("read the shop catalog: %v", err)
	}
	sort.Slice(e.tables, func(i, j int) bool { return e.tables[i].Name < e.tables[j].Name })

	admin, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatalf("connect to ClickHouse: %v", err)
	}
	if err := admin.Exec(ctx, "CREATE DATABASE "+e.db); err != nil {
		t.Fatalf("create database %s: %v", e.db, err)
	}
	admin.Close()
	t.Cleanup(func() {
		// A fresh connection: the test may have stopped and resumed the server.
		if err := e2etest.DropDatabase(e.db); err != nil {
			t.Errorf("drop database %s: %v", e.db, err)
		}
	})
	e.chURL = "clickhouse://" + testenv.ClickHouseAddr() + "/" + e.db
	if e.ch, err = native.Open(ctx, e.chURL); err != nil {
		t.Fatalf("connect to ClickHouse database %s: %v", e.db, err)
	}
	t.Cleanup(func() { e.ch.Close() })

	e.bin = buildSluice(t)
	t.Logf("ClickHouse database %s, group %s, topics %s*", e.db, e.group, e.shape.prefix)
	return e
}

// newSource gives the test a source of its own, so that nobody else's
// churn, reload or reset of the shared shop changes what the test compares:
// a PostgreSQL database loaded with scripts/shop/load --scale 2000, its own
// Debezium connector (the shared connector's config with its own name,
// slot, publication and topic prefix), then scripts/shop/churn for churn to
// build a backlog of changes on top of the snapshot. Everything is deleted
// when the test ends (connector, its Connect offsets, slot, publication,
// topics, database).
func (e *e2e) newSource(shapeName string, churn time.Duration) {
	t := e.t
	ctx := context.Background()
	root := repoRoot(t)
	name := uniqueName("sluice_e2e_src")
	begin := time.Now()

	admin, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	e.srcDSN = dsnWithDatabase(t, testenv.PostgresDSN(), name)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testenv.PostgresDSN())
		if err == nil {
			_, err = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	e.script(root, "scripts/shop/load", "--scale", "2000")

	// The connector: the shared config with names of our own.
	raw, err := os.ReadFile(filepath.Join(root, "scripts", "connectors", connectorFile[shapeName]))
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
	prefix := strings.ReplaceAll(name, "_", "-")
	conn.Name = prefix
	conn.Config["database.dbname"] = name
	conn.Config["topic.prefix"] = prefix
	conn.Config["slot.name"] = name
	conn.Config["publication.name"] = name
	file := filepath.Join(t.TempDir(), name+".json")
	b, _ := json.MarshalIndent(conn, "", "  ")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	e.shape = shape{name: shapeName, prefix: prefix + ".public."}
	t.Cleanup(func() { e.script(root, "scripts/connectors/register", "--delete", file) })
	e.script(root, "scripts/connectors/register", file)

	if e.pg, err = pgx.Connect(ctx, e.srcDSN); err != nil {
		t.Fatalf("connect to %s: %v", name, err)
	}
	t.Cleanup(func() { e.pg.Close(context.Background()) })

	// Wait for the snapshot: every table's topic exists and holds at least
	// as many messages as the table has rows.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var rows int64
		for _, tb := range shopTables {
			var n int64
			if err := e.pg.QueryRow(ctx, "SELECT count(*) FROM "+tb).Scan(&n); err != nil {
				t.Fatal(err)
			}
			rows += n
		}
		ends, err := e.endOffsetsOf(e.shape.topics())
		if err == nil && sum(ends) >= rows {
			t.Logf("source %s: snapshot of %d rows in Kafka (%d messages) after %s", name, rows, sum(ends), time.Since(begin).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the snapshot of %s did not reach Kafka within 3 minutes (%v)", name, err)
		}
		time.Sleep(time.Second)
	}
	if churn > 0 {
		e.script(root, "scripts/shop/churn", "--duration", strconv.Itoa(int(churn.Seconds())))
	}
}

// script runs one of the repository's scripts against the test's source.
func (e *e2e) script(root, path string, args ...string) {
	e.t.Helper()
	begin := time.Now()
	cmd := exec.Command(filepath.Join(root, path), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SLUICE_PG_DSN="+e.srcDSN)
	out, err := cmd.CombinedOutput()
	if why, aborted := churnAborted(err, string(out)); aborted && strings.HasSuffix(path, "churn") {
		e.t.Logf("%s %v: pgbench aborted some clients; the changes committed before stand:\n%s", path, args, why)
	} else if err != nil {
		e.t.Fatalf("%s %v: %v\n%s", path, args, err, tail(string(out), 30))
	}
	e.t.Logf("%s %s: %s", path, strings.Join(args, " "), time.Since(begin).Round(time.Millisecond))
}

// churnAsync runs scripts/shop/churn in the background; wait for it with
// the returned function.
func (e *e2e) churnAsync(args ...string) func() {
	root := repoRoot(e.t)
	cmd := exec.Command(filepath.Join(root, "scripts/shop/churn"), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SLUICE_PG_DSN="+e.srcDSN)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return func() {
		err := <-done
		if why, aborted := churnAborted(err, out.String()); aborted {
			e.t.Logf("churn %v: pgbench aborted some clients; the changes committed before stand:\n%s", args, why)
		} else if err != nil {
			e.t.Errorf("churn %v: %v\n%s", args, err, tail(out.String(), 20))
		}
	}
}

func dsnWithDatabase(t *testing.T, dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("PostgreSQL DSN %q: %v", dsn, err)
	}
	u.Path = "/" + db
	return u.String()
}

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildSluice builds the command from the repository root into the test's
// temporary directory (the build cache makes the second build a link).
func buildSluice(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "sluice")
	begin := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(begin).Round(time.Millisecond))
	return bin
}

// windowArgs makes every batch a write and a commit of its own when the
// command has a flush-window flag (rows of several batches written and
// committed together): the crash tests need many commits per run.
func (e *e2e) windowArgs() []string {
	out, _ := exec.Command(e.bin, "replicate", "--help").CombinedOutput()
	if strings.Contains(string(out), "--flush-rows") {
		return []string{"--flush-rows", "300"}
	}
	return nil
}

// args are the command line of one run on the test's topics, group and
// database; extra flags are appended.
func (e *e2e) args(extra ...string) []string {
	a := []string{"replicate",
		"--kafka-brokers", testenv.KafkaBroker(),
		"--group", e.group,
		"--topics", strings.Join(e.shape.topics(), ","),
		"--clickhouse-url", e.chURL,
		"--pg-dsn", e.srcDSN,
		// ClickHouse 18.16's Date starts in 1970; the shop has older birth dates.
		"--out-of-range", "null",
		"--output", "json",
	}
	return append(a, extra...)
}

// runReport is the part of the --output json report the tests read.
type runReport struct {
	Status      string `json:"status"`
	Error       string `json:"error"`
	Joined      bool   `json:"joined"`
	Messages    int64  `json:"messages"`
	Bytes       int64  `json:"bytes"`
	RowsWritten int64  `json:"rows_written"`
	LagLeft     int64  `json:"lag_left"`
	DeadLetters int64  `json:"dead_letters"`
	Duration    float64
	Partitions  []struct {
		Topic     string `json:"topic"`
		Partition int    `json:"partition"`
		Assigned  bool   `json:"assigned"`
		Committed int64  `json:"committed_offset"`
		Target    int64  `json:"target_offset"`
		LagLeft   int64  `json:"lag_left"`
	} `json:"partitions"`
	Tables []struct {
		Deleted              int64 `json:"deleted"`
		FilledFromClickHouse int64 `json:"filled_from_clickhouse"`
		FilledFromRun        int64 `json:"filled_from_run"`
		Superseded           int64 `json:"superseded"`
	} `json:"tables"`
}

// fills sums the report's fills from ClickHouse and from rows the run
// wrote in an earlier window (recent.go).
func (r runReport) fills() (fromCH, fromRun int64) {
	for _, t := range r.Tables {
		fromCH += t.FilledFromClickHouse
		fromRun += t.FilledFromRun
	}
	return fromCH, fromRun
}

// proc is one running sluice process.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	start  time.Time
	done   chan struct{}
	code   int
	took   time.Duration
}

// start launches sluice without waiting for it.
func (e *e2e) start(args ...string) *proc {
	e.t.Helper()
	p := &proc{cmd: exec.Command(e.bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.Env = append(os.Environ(), "SLUICE_LOG_LEVEL=info")
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		e.t.Fatalf("start sluice: %v", err)
	}
	go func() {
		err := p.cmd.Wait()
		p.took = time.Since(p.start)
		p.code = 0
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				p.code = ee.ExitCode() // -1 when killed by a signal
			} else {
				p.code = -2
			}
		}
		close(p.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to end, killing it after timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		t.Fatalf("sluice did not finish within %s; stderr:\n%s", timeout, tail(p.stderr.String(), 40))
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// report parses the JSON report; ok is false when there is none (killed).
func (p *proc) report() (r runReport, ok bool) {
	if err := json.Unmarshal(p.stdout.Bytes(), &r); err != nil {
		return r, false
	}
	return r, true
}

// churnAborted tells whether a churn run failed only because pgbench
// aborted some of its clients (exit 2, "Run was aborted"): the workload is
// there to make changes, and those committed before the abort are what the
// test replicates and compares. It returns the clients' error lines, so
// the cause shows in the log (rare and seen only in CI so far).
func churnAborted(err error, out string) (string, bool) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "Run was aborted") {
		return "", false
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "aborted") || strings.Contains(l, "ERROR") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return strings.Join(lines, "\n"), true
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// run runs sluice to its end and returns exit code and report.
func (e *e2e) run(timeout time.Duration, extra ...string) (int, runReport, *proc) {
	e.t.Helper()
	p := e.start(e.args(extra...)...)
	p.wait(e.t, timeout)
	r, _ := p.report()
	return p.code, r, p
}

// runUntilDrained repeats runs until one exits 0 with lag 0 (a run that lost
// its generation or found the group still rebalancing may stop early).
func (e *e2e) runUntilDrained(maxRuns int, extra ...string) (runs int, last runReport) {
	e.t.Helper()
	for runs = 1; runs <= maxRuns; runs++ {
		code, r, p := e.run(5*time.Minute, extra...)
		fromCH, fromRun := r.fills()
		e.filledFromRun += fromRun
		for _, t := range r.Tables {
			e.superseded += t.Superseded
		}
		e.t.Logf("run to completion #%d: exit %d, status %s, %d messages, %d rows, lag left %d, dead letters %d, fills from ClickHouse %d, from the run %d, %.1fs",
			runs, code, r.Status, r.Messages, r.RowsWritten, r.LagLeft, r.DeadLetters, fromCH, fromRun, p.took.Seconds())
		if r.DeadLetters > 0 || code == 3 {
			e.t.Fatalf("run produced dead letters; stderr:\n%s", tail(p.stderr.String(), 20))
		}
		if code == 0 && r.LagLeft == 0 && (r.Status == "drained" || r.Status == "idle") {
			return runs, r
		}
		if code != 0 && code != 1 {
			e.t.Fatalf("run exited %d (%s: %s); stderr:\n%s", code, r.Status, r.Error, tail(p.stderr.String(), 30))
		}
	}
	e.t.Fatalf("no run drained the topics in %d runs", maxRuns)
	return runs, last
}

// --- Kafka positions ---

type tp struct {
	topic     string
	partition int
}

func (x tp) String() string { return fmt.Sprintf("%s/%d", x.topic, x.partition) }

// partitions lists the partitions of the test's topics.
func (e *e2e) partitions() map[string][]int {
	e.t.Helper()
	md, err := e.kafka.Metadata(context.Background(), &kafka.MetadataRequest{Topics: e.shape.topics()})
	if err != nil {
		e.t.Fatalf("kafka metadata: %v", err)
	}
	out := map[string][]int{}
	for _, t := range md.Topics {
		if t.Error != nil {
			e.t.Fatalf("topic %s: %v", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			out[t.Name] = append(out[t.Name], p.ID)
		}
		sort.Ints(out[t.Name])
	}
	return out
}

// endOffsets are the high watermarks of the test's topics.
func (e *e2e) endOffsets() (map[tp]int64, error) { return e.endOffsetsOf(e.shape.topics()) }

func (e *e2e) endOffsetsOf(topics []string) (map[tp]int64, error) {
	md, err := e.kafka.Metadata(context.Background(), &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	req := map[string][]kafka.OffsetRequest{}
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			req[t.Name] = append(req[t.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	res, err := e.kafka.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, err
	}
	out := map[tp]int64{}
	for topic, list := range res.Topics {
		for _, po := range list {
			if po.Error != nil {
				return nil, fmt.Errorf("%s/%d: %w", topic, po.Partition, po.Error)
			}
			out[tp{topic, po.Partition}] = po.LastOffset
		}
	}
	return out, nil
}

// committed reads the group's committed offsets (-1: none).
func (e *e2e) committed(parts map[string][]int) (map[tp]int64, error) {
	res, err := e.kafka.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: e.group, Topics: parts})
	if err != nil {
		return nil, err
	}
	if res.Error != nil && !errors.Is(res.Error, kafka.GroupIdNotFound) {
		return nil, res.Error
	}
	out := map[tp]int64{}
	for topic, list := range res.Topics {
		for _, p := range list {
			if p.Error != nil {
				return nil, fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error)
			}
			out[tp{topic, p.Partition}] = p.CommittedOffset
		}
	}
	return out, nil
}

func (e *e2e) mustCommitted(parts map[string][]int) map[tp]int64 {
	e.t.Helper()
	c, err := e.committed(parts)
	if err != nil {
		e.t.Fatalf("offset fetch: %v", err)
	}
	return c
}

func sum(m map[tp]int64) int64 {
	var n int64
	for _, v := range m {
		if v > 0 {
			n += v
		}
	}
	return n
}

func sameOffsets(a, b map[tp]int64) bool {
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

// waitQuiet waits until the topics' end offsets have not moved for stable,
// and returns them. Others may run scripts/shop/churn on the shared shop:
// the comparison with PostgreSQL is only meaningful at a quiet point.
func (e *e2e) waitQuiet(stable, max time.Duration) map[tp]int64 {
	e.t.Helper()
	deadline := time.Now().Add(max)
	last, err := e.endOffsets()
	if err != nil {
		e.t.Fatal(err)
	}
	since := time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		cur, err := e.endOffsets()
		if err != nil {
			e.t.Fatal(err)
		}
		if !sameOffsets(cur, last) {
			last, since = cur, time.Now()
			continue
		}
		if time.Since(since) >= stable {
			return last
		}
	}
	e.t.Fatalf("the topics never stayed quiet for %s within %s (is somebody running scripts/shop/churn?)", stable, max)
	return nil
}

// --- durability: committed offsets never pass what ClickHouse holds ---

// change is the last change of one key below the committed offset.
type change struct {
	lsn     uint64
	deleted bool
	offset  int64
}

// decodeChange reads key and LSN out of a message of either shape. ok is
// false for tombstones.
func decodeChange(sh shape, key, value []byte) (k string, c change, ok bool) {
	if value == nil {
		return "", c, false
	}
	var kv map[string]json.RawMessage
	if err := json.Unmarshal(key, &kv); err != nil {
		return "", c, false
	}
	if p, has := kv["payload"]; has && sh.name == "unwrap" {
		kv = nil
		_ = json.Unmarshal(p, &kv)
	}
	for _, v := range kv { // one key column in the shop
		k = string(v)
	}
	var val map[string]json.RawMessage
	if err := json.Unmarshal(value, &val); err != nil {
		return "", c, false
	}
	switch sh.name {
	case "unwrap":
		var p struct {
			Lsn     uint64 `json:"__lsn"`
			Deleted string `json:"__deleted"`
		}
		_ = json.Unmarshal(val["payload"], &p)
		c.lsn, c.deleted = p.Lsn, p.Deleted == "true"
	default:
		var env struct {
			Op     string `json:"op"`
			Source struct {
				Lsn uint64 `json:"lsn"`
			} `json:"source"`
		}
		_ = json.Unmarshal(value, &env)
		c.lsn, c.deleted = env.Source.Lsn, env.Op == "d"
	}
	return k, c, true
}

// lastChanges reads a partition from its start up to (not including) upto
// and returns the last change of every key.
func (e *e2e) lastChanges(topic string, partition int, upto int64, into map[string]change) error {
	next := int64(0)
	for next < upto {
		res, err := e.kafka.Fetch(context.Background(), &kafka.FetchRequest{Topic: topic, Partition: partition,
			Offset: next, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 500 * time.Millisecond})
		if err != nil {
			return err
		}
		if res.Error != nil {
			return res.Error
		}
		got := 0
		for next < upto {
			r, err := res.Records.ReadRecord()
			if err != nil {
				break
			}
			if r.Offset < next {
				continue
			}
			var key, value []byte
			if r.Key != nil {
				key, _ = io.ReadAll(r.Key)
			}
			if r.Value != nil {
				value, _ = io.ReadAll(r.Value)
			}
			next = r.Offset + 1
			got++
			if k, c, ok := decodeChange(e.shape, key, value); ok {
				c.offset = r.Offset
				into[k] = c
			}
		}
		if got == 0 {
			break
		}
	}
	return nil
}

// checkDurable asserts that every change below the group's committed
// offsets is in ClickHouse: for each key, the last change before the
// committed offset is stored with at least its LSN as _version (a delete
// may also be absent when ClickHouse never had the row). It returns the
// number of keys checked.
func (e *e2e) checkDurable(committed map[tp]int64) int {
	e.t.Helper()
	ctx := context.Background()
	checked := 0
	byTable := map[string]map[string]change{}
	for pos, off := range committed {
		if off <= 0 {
			continue
		}
		table := e.shape.table(pos.topic)
		if byTable[table] == nil {
			byTable[table] = map[string]change{}
		}
		if err := e.lastChanges(pos.topic, pos.partition, off, byTable[table]); err != nil {
			e.t.Fatalf("read %s up to %d: %v", pos, off, err)
		}
	}
	for table, changes := range byTable {
		key := shopKeys[table]
		rows, err := e.ch.Query(ctx, fmt.Sprintf("SELECT toString(%s), toString(max(_version)) FROM %s GROUP BY %s",
			chconn.QuoteIdent(key), chconn.QuoteIdent(table), chconn.QuoteIdent(key)))
		if err != nil {
			e.t.Fatalf("%s: read versions: %v", table, err)
		}
		have := make(map[string]uint64, len(rows))
		for _, r := range rows {
			v, _ := strconv.ParseUint(r[1], 10, 64)
			have[r[0]] = v
		}
		bad := 0
		for k, c := range changes {
			checked++
			v, ok := have[k]
			if (!ok && c.deleted) || (ok && v >= c.lsn) {
				continue
			}
			if bad++; bad <= 10 {
				e.t.Errorf("%s key %s: committed change at offset %d (lsn %d, delete %t) is not in ClickHouse (have %t, _version %d)",
					table, k, c.offset, c.lsn, c.deleted, ok, v)
			}
		}
		if bad > 0 {
			e.t.Fatalf("%s: %d committed changes missing from ClickHouse: offsets were committed past the durable write", table, bad)
		}
	}
	return checked
}

// --- PostgreSQL ↔ ClickHouse comparison ---

func pgIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// normExprs gives, for one column, a PostgreSQL and a ClickHouse
// expression printing the same text for the same value (the checksum rules
// of internal/typemap/README.md, as snapshot's tests use them), NULL as
// <NULL> on both. Dates are Int32 day counts on legacy servers; on modern
// ones, dates outside Date32 are NULL under the null out-of-range policy
// the tests run with.
func normExprs(c typemap.Column, p chconn.Profile) (pgExpr, chExpr string) {
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
		pgExpr = "CASE WHEN " + pgID + " IS NOT NULL THEN format('%s', " + pgID + ") END"
	case typemap.KindDate:
		if !p.Date32 {
			// Legacy servers store a date as Int32 days since 1970-01-01
			// (exact for every PostgreSQL date, no out-of-range NULLs).
			pgExpr = fmt.Sprintf("(%s - date '1970-01-01')::text", pgID)
			break
		}
		pgExpr = fmt.Sprintf("CASE WHEN %[1]s BETWEEN '1900-01-01' AND '2299-12-31' THEN to_char(%[1]s, 'YYYY-MM-DD') END", pgID)
	case typemap.KindTimestamp, typemap.KindTimestampTZ:
		pgExpr = fmt.Sprintf("(extract(epoch from %s) * 1000000)::bigint::text", pgID)
		if p.DateTime64 {
			chExpr = "toString(toUnixTimestamp64Micro(" + chID + "))"
		}
	}
	return "coalesce(" + pgExpr + ", '<NULL>')", "ifNull(" + chExpr + ", '<NULL>')"
}

// pgSnapshot is every shop table rendered row by row from one PostgreSQL
// snapshot: table → key → normalized columns.
type pgSnapshot map[string]map[string][]string

func (e *e2e) readPG() pgSnapshot {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.pg.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	out := pgSnapshot{}
	for _, tb := range e.tables {
		var exprs []string
		for _, c := range tb.Columns {
			pe, _ := normExprs(c, e.ch.Profile())
			exprs = append(exprs, pe)
		}
		rows, err := tx.Query(ctx, fmt.Sprintf("SELECT %s::text, %s FROM public.%s",
			pgIdent(tb.PrimaryKey[0]), strings.Join(exprs, ", "), pgIdent(tb.Name)))
		if err != nil {
			e.t.Fatalf("%s: %v", tb.Name, err)
		}
		m := map[string][]string{}
		for rows.Next() {
			vals := make([]string, len(exprs)+1)
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				e.t.Fatal(err)
			}
			m[vals[0]] = vals[1:]
		}
		if err := rows.Err(); err != nil {
			e.t.Fatal(err)
		}
		out[tb.Name] = m
	}
	return out
}

// compareCH asserts that ClickHouse's current rows (FINAL, not deleted)
// equal the PostgreSQL snapshot row for row, every column normalized.
// It returns the rows compared per table.
func (e *e2e) compareCH(want pgSnapshot) map[string]int {
	e.t.Helper()
	counts := map[string]int{}
	for _, tb := range e.tables {
		key := tb.PrimaryKey[0]
		var exprs []string
		for _, c := range tb.Columns {
			_, ce := normExprs(c, e.ch.Profile())
			exprs = append(exprs, ce)
		}
		q := fmt.Sprintf("SELECT toString(%s), %s FROM %s FINAL WHERE _is_deleted = 0",
			chconn.QuoteIdent(key), strings.Join(exprs, ", "), chconn.QuoteIdent(tb.Name))
		rows, err := e.ch.Query(context.Background(), q)
		if err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
		pgRows := want[tb.Name]
		seen := map[string]bool{}
		bad := 0
		for _, r := range rows {
			if seen[r[0]] {
				bad++
				e.t.Errorf("%s: key %s twice in FINAL", tb.Name, r[0])
			}
			seen[r[0]] = true
			w, ok := pgRows[r[0]]
			if !ok {
				if bad++; bad <= 10 {
					e.t.Errorf("%s: key %s in ClickHouse, not in PostgreSQL", tb.Name, r[0])
				}
				continue
			}
			for i, c := range tb.Columns {
				if r[i+1] != w[i] {
					if bad++; bad <= 10 {
						e.t.Errorf("%s %s=%s column %s: ClickHouse %q, PostgreSQL %q", tb.Name, key, r[0], c.Name, r[i+1], w[i])
					}
				}
			}
		}
		for k := range pgRows {
			if !seen[k] {
				if bad++; bad <= 10 {
					e.t.Errorf("%s: key %s in PostgreSQL, missing from ClickHouse", tb.Name, k)
				}
			}
		}
		if bad > 0 {
			e.t.Fatalf("%s: %d differences (ClickHouse %d rows, PostgreSQL %d)", tb.Name, bad, len(rows), len(pgRows))
		}
		e.checkPerPartition(tb.Name, key, pgRows)
		counts[tb.Name] = len(rows)
	}
	return counts
}

// checkPerPartition reads the live keys the way background merges collapse
// rows, partition by partition (FINAL on 18.16 collapses across partitions,
// so it cannot tell): a delete marker written to another partition than
// its row (the epoch fallback of a DEFAULT delete's created_at) would
// leave the row alive in its own.
func (e *e2e) checkPerPartition(table, key string, pgRows map[string][]string) {
	e.t.Helper()
	ctx := context.Background()
	pk, err := e.ch.Query(ctx, "SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND name = "+chconn.QuoteString(table))
	if err != nil || len(pk) == 0 {
		e.t.Fatalf("%s: partition key: %v %v", table, pk, err)
	}
	if p := pk[0][0]; p == "" || p == "tuple()" {
		return // one partition: FINAL said it all
	}
	q := fmt.Sprintf("SELECT toString(%[1]s), toString(%[2]s) FROM %[3]s GROUP BY %[1]s, %[2]s HAVING argMax(_is_deleted, _version) = 0",
		chconn.QuoteIdent(key), pk[0][0], chconn.QuoteIdent(table))
	rows, err := e.ch.Query(ctx, q)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	bad := 0
	for _, r := range rows {
		if _, ok := pgRows[r[0]]; !ok {
			if bad++; bad <= 10 {
				e.t.Errorf("%s: key %s alive in partition %s, deleted in PostgreSQL (its delete marker is in another partition)", table, r[0], r[1])
			}
		}
	}
	if len(rows) != len(pgRows) || bad > 0 {
		e.t.Fatalf("%s: per partition %d live keys (%d not in PostgreSQL), PostgreSQL %d", table, len(rows), bad, len(pgRows))
	}
}

// drainAndCompare brings the group to lag 0 at a quiet point of the source
// and compares every table. The source is shared (others may churn): wait
// until the topics' end offsets stay still, drain, read PostgreSQL in one
// snapshot, and accept the comparison only if the end offsets are still the
// same a few seconds after that read (Debezium publishes a commit within
// well under a second here); otherwise start over.
func (e *e2e) drainAndCompare(extra ...string) map[string]int {
	e.t.Helper()
	for attempt := 1; attempt <= 5; attempt++ {
		quiet := e.waitQuiet(8*time.Second, 3*time.Minute)
		e.runUntilDrained(6, extra...)
		snap := e.readPG()
		time.Sleep(3 * time.Second)
		after, err := e.endOffsets()
		if err != nil {
			e.t.Fatal(err)
		}
		if !sameOffsets(quiet, after) {
			e.t.Logf("attempt %d: the source changed during the comparison (%d → %d offsets); again", attempt, sum(quiet), sum(after))
			continue
		}
		committed := e.mustCommitted(e.partitions())
		if !sameOffsets(normalize(committed), quiet) {
			e.t.Fatalf("drained, but committed offsets %v differ from the end offsets %v", committed, quiet)
		}
		counts := e.compareCH(snap)
		e.t.Logf("ClickHouse FINAL equals PostgreSQL at %d offsets: %v", sum(quiet), counts)
		return counts
	}
	e.t.Fatal("the source never stayed quiet through a comparison in 5 attempts")
	return nil
}
