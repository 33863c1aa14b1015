//go:build integration

package replicate_test

// Issue 4, the REPLICA IDENTITY FULL alternative to the TOAST fill: a
// source table of our own whose large column is stored out of line, under
// REPLICA IDENTITY FULL, captured by connectors of our own in both shapes.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

const (
	toastTable       = "docs"
	toastPlaceholder = "__debezium_unavailable_value"
)

// toastReport is the part of the run report this test reads.
type toastReport struct {
	Status      string             `json:"status"`
	Messages    int64              `json:"messages"`
	LagLeft     int64              `json:"lag_left"`
	DeadLetters int64              `json:"dead_letters"`
	Tables      []toastTableReport `json:"tables"`
}

type toastTableReport struct {
	Table                string `json:"table"`
	Inserted             int64  `json:"inserted"`
	Updated              int64  `json:"updated"`
	Deleted              int64  `json:"deleted"`
	FilledFromClickHouse int64  `json:"filled_from_clickhouse"`
	FilledInBatch        int64  `json:"filled_in_batch"`
	DeletesWithoutRow    int64  `json:"deletes_without_row"`
}

// toastChange is what Debezium sent for one change of the docs table: the
// op and the body column of the row image (after, or before for a delete).
type toastChange struct {
	op     string
	id     int64
	body   *string // nil: JSON null or absent
	before *string // envelope only: before.body
}

// TestToastReplicaIdentityFull replicates inserts, updates that leave the
// TOASTed column untouched, updates that change it, deletes and
// re-inserts of a REPLICA IDENTITY FULL table, from both shapes, each step
// a bounded run, and compares ClickHouse FINAL with PostgreSQL row for row
// after each. It asserts what Debezium sends for the unchanged TOAST
// column under FULL (the full value, not the placeholder) and that the
// updates needed no ClickHouse lookup (filled_from_clickhouse stays 0).
func TestToastReplicaIdentityFull(t *testing.T) {
	begin := time.Now()
	src := newToastSource(t)
	shapes := src.shapes(t)
	pg := src.pg
	ctx := context.Background()

	// 1. inserts.
	bodies := map[int64]string{}
	for id := int64(1); id <= 30; id++ {
		bodies[id] = randomText(t, 12<<10)
		mustExec(t, pg, "INSERT INTO docs (id, title, n, body) VALUES ($1, $2, $3, $4)", id, fmt.Sprintf("doc %d", id), id, bodies[id])
	}
	src.requireToasted(t, 30)
	src.step(t, shapes, "inserts", 30, func(x *toastShape, r toastReport) {})

	// 2. updates that leave the TOASTed body untouched (one transaction
	// each), and updates that change it.
	for id := int64(1); id <= 20; id++ {
		mustExec(t, pg, "UPDATE docs SET title = title || ' (edited)', n = n + 1000 WHERE id = $1", id)
	}
	for id := int64(21); id <= 25; id++ {
		bodies[id] = randomText(t, 12<<10)
		mustExec(t, pg, "UPDATE docs SET body = $2 WHERE id = $1", id, bodies[id])
	}
	src.step(t, shapes, "updates", 25, func(x *toastShape, r toastReport) {
		tr := x.table(t, r)
		if tr.Updated != 25 || tr.FilledFromClickHouse != 0 || tr.FilledInBatch != 0 {
			t.Errorf("%s updates: updated %d, filled %d from ClickHouse, %d in batch; want 25, 0, 0 (under FULL no update should need the stored row)",
				x.e.shape.name, tr.Updated, tr.FilledFromClickHouse, tr.FilledInBatch)
		}
		changes := x.read(t)
		unchanged := 0
		for _, c := range changes {
			if c.op != "u" {
				continue
			}
			want := bodies[c.id]
			if c.body == nil || *c.body != want {
				t.Errorf("%s: update of id %d carries body %s, want the full %d-byte value", x.e.shape.name, c.id, describe(c.body), len(want))
			}
			if x.e.shape.name == "envelope" && c.id <= 20 && (c.before == nil || *c.before != want) {
				t.Errorf("envelope: update of id %d carries before.body %s, want the full value", c.id, describe(c.before))
			}
			if c.id <= 20 {
				unchanged++
			}
		}
		if unchanged != 20 {
			t.Errorf("%s: %d updates with the body untouched in Kafka, want 20", x.e.shape.name, unchanged)
		}
		t.Logf("%s: all 20 updates with the TOASTed body untouched carry the full value (no %s)", x.e.shape.name, toastPlaceholder)
	})

	// 3. deletes: the before image of a FULL table is the whole row.
	mustExec(t, pg, "DELETE FROM docs WHERE id <= 5 OR id > 25")
	src.step(t, shapes, "deletes", 10, func(x *toastShape, r toastReport) {
		tr := x.table(t, r)
		if tr.Deleted != 10 || tr.DeletesWithoutRow != 0 {
			t.Errorf("%s deletes: deleted %d, without row %d; want 10, 0", x.e.shape.name, tr.Deleted, tr.DeletesWithoutRow)
		}
		// Deletes are looked up whatever the replica identity (needsFill),
		// though the image under FULL is complete: record what happened.
		t.Logf("%s deletes: filled %d from ClickHouse, %d in batch", x.e.shape.name, tr.FilledFromClickHouse, tr.FilledInBatch)
		deletes := 0
		for _, c := range x.read(t) {
			if c.op != "d" {
				continue
			}
			deletes++
			img := c.body
			if x.e.shape.name == "envelope" {
				img = c.before
			}
			if img == nil || *img != bodies[c.id] {
				t.Errorf("%s: delete of id %d carries body %s, want the full value", x.e.shape.name, c.id, describe(img))
			}
		}
		if deletes != 10 {
			t.Errorf("%s: %d deletes in Kafka, want 10", x.e.shape.name, deletes)
		}
	})

	// 4. re-inserts of deleted keys, then an update of one of them that
	// leaves its new body untouched.
	for id := int64(1); id <= 5; id++ {
		bodies[id] = randomText(t, 12<<10)
		mustExec(t, pg, "INSERT INTO docs (id, title, n, body) VALUES ($1, $2, $3, $4)", id, fmt.Sprintf("doc %d again", id), -id, bodies[id])
	}
	mustExec(t, pg, "UPDATE docs SET n = 0 WHERE id = 1")
	src.step(t, shapes, "re-inserts", 6, func(x *toastShape, r toastReport) {
		tr := x.table(t, r)
		if tr.Inserted != 5 || tr.Updated != 1 || tr.FilledFromClickHouse != 0 {
			t.Errorf("%s re-inserts: inserted %d, updated %d, filled %d from ClickHouse; want 5, 1, 0", x.e.shape.name, tr.Inserted, tr.Updated, tr.FilledFromClickHouse)
		}
	})
	// 5. control: back to REPLICA IDENTITY DEFAULT, the same kind of update
	// carries the placeholder and is filled from ClickHouse, which shows
	// that the updates above did leave a TOASTed value unchanged.
	mustExec(t, pg, "ALTER TABLE docs REPLICA IDENTITY DEFAULT")
	mustExec(t, pg, "UPDATE docs SET n = n + 1 WHERE id = 10")
	src.step(t, shapes, "control under DEFAULT", 1, func(x *toastShape, r toastReport) {
		tr := x.table(t, r)
		if tr.Updated != 1 || tr.FilledFromClickHouse != 1 {
			t.Errorf("%s control: updated %d, filled %d from ClickHouse; want 1, 1", x.e.shape.name, tr.Updated, tr.FilledFromClickHouse)
		}
		// One key's changes are in one partition, in order.
		var last toastChange
		for _, c := range x.read(t) {
			if c.id == 10 {
				last = c
			}
		}
		if last.op != "u" || last.id != 10 || last.body == nil || *last.body != toastPlaceholder {
			t.Errorf("%s control: last change %s of id %d carries body %s, want an update of id 10 with the placeholder",
				x.e.shape.name, last.op, last.id, describe(last.body))
		}
	})
	var n int
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM docs").Scan(&n); err != nil || n != 25 {
		t.Fatalf("PostgreSQL holds %d rows (%v), want 25", n, err)
	}
	t.Logf("done in %s", time.Since(begin).Round(time.Millisecond))
}

// toastSource is the test's own PostgreSQL database with the docs table
// and the two connectors capturing it.
type toastSource struct {
	name  string
	dsn   string
	pg    *pgx.Conn
	kafka *kafka.Client
	table ddl.Table
	bin   string
	// offsets are the message counts already replicated, per topic.
	seen map[string]int64
}

// toastShape is one connector's topic replicated into a ClickHouse
// database of its own by the sluice binary.
type toastShape struct {
	e     *e2e
	topic string
}

func newToastSource(t *testing.T) *toastSource {
	t.Helper()
	testenv.RequirePostgres(t)
	testenv.RequireKafka(t)
	testenv.RequireConnect(t)
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	s := &toastSource{name: uniqueName("sluice_toast"), seen: map[string]int64{}}
	admin, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+s.name); err != nil {
		t.Fatalf("create database %s: %v", s.name, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testenv.PostgresDSN())
		if err == nil {
			_, err = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+s.name+" WITH (FORCE)")
			c.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop database %s: %v", s.name, err)
		}
	})
	s.dsn = dsnWithDatabase(t, testenv.PostgresDSN(), s.name)
	if s.pg, err = pgx.Connect(ctx, s.dsn); err != nil {
		t.Fatalf("connect to %s: %v", s.name, err)
	}
	t.Cleanup(func() { s.pg.Close(context.Background()) })
	// STORAGE EXTERNAL: out of line without compression, so a 12 KB value
	// is TOASTed whatever its content.
	mustExec(t, s.pg, `CREATE TABLE docs (id bigint PRIMARY KEY, title text NOT NULL, n integer NOT NULL, body text NOT NULL)`)
	mustExec(t, s.pg, `ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL`)
	mustExec(t, s.pg, `ALTER TABLE docs REPLICA IDENTITY FULL`)
	tables, err := ddl.ReadCatalog(ctx, s.pg, "public", []string{toastTable})
	if err != nil || len(tables) != 1 {
		t.Fatalf("read the catalog of docs: %v (%d tables)", err, len(tables))
	}
	s.table = tables[0]

	tr := &kafka.Transport{ClientID: "sluice-toast-test"}
	t.Cleanup(tr.CloseIdleConnections)
	s.kafka = &kafka.Client{Addr: kafka.TCP(testenv.KafkaBroker()), Timeout: 10 * time.Second, Transport: tr}
	s.bin = buildSluice(t)
	return s
}

// shapes registers one connector per shape (the shared configs with names
// of our own, table docs only) and gives each a ClickHouse database and
// consumer group; everything is deleted when the test ends.
func (s *toastSource) shapes(t *testing.T) []*toastShape {
	t.Helper()
	root := repoRoot(t)
	var files []string
	var out []*toastShape
	for i, name := range []string{"unwrap", "envelope"} {
		prefix := strings.ReplaceAll(s.name, "_", "-") + "-" + name[:1]
		files = append(files, s.connectorFile(t, root, name, prefix, fmt.Sprintf("%s_%d", s.name, i)))
		out = append(out, s.newShape(t, name, prefix))
	}
	reg := &e2e{t: t, srcDSN: s.dsn}
	t.Cleanup(func() { reg.script(root, "scripts/connectors/register", append([]string{"--delete"}, files...)...) })
	reg.script(root, "scripts/connectors/register", files...)
	return out
}

func (s *toastSource) connectorFile(t *testing.T, root, shapeName, prefix, slot string) string {
	t.Helper()
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
	conn.Name = prefix
	conn.Config["database.dbname"] = s.name
	conn.Config["topic.prefix"] = prefix
	conn.Config["slot.name"] = slot
	conn.Config["publication.name"] = slot
	conn.Config["table.include.list"] = "public." + toastTable
	file := filepath.Join(t.TempDir(), prefix+".json")
	b, _ := json.MarshalIndent(conn, "", "  ")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func (s *toastSource) newShape(t *testing.T, shapeName, prefix string) *toastShape {
	t.Helper()
	ctx := context.Background()
	e := &e2e{t: t, bin: s.bin, pg: s.pg, kafka: s.kafka, srcDSN: s.dsn, tables: []ddl.Table{s.table},
		shape: shape{name: shapeName, prefix: prefix + ".public."},
		db:    uniqueName("sluice_toast"), group: uniqueName("sluice-toast")}
	admin, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatalf("connect to ClickHouse: %v", err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, "CREATE DATABASE "+e.db); err != nil {
		t.Fatalf("create database %s: %v", e.db, err)
	}
	t.Cleanup(func() {
		c, err := native.Open(context.Background(), "clickhouse://"+testenv.ClickHouseAddr()+"/default")
		if err == nil {
			err = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+e.db)
			c.Close()
		}
		if err != nil {
			t.Errorf("drop database %s: %v", e.db, err)
		}
	})
	e.chURL = "clickhouse://" + testenv.ClickHouseAddr() + "/" + e.db
	if e.ch, err = native.Open(ctx, e.chURL); err != nil {
		t.Fatalf("connect to ClickHouse database %s: %v", e.db, err)
	}
	t.Cleanup(func() { e.ch.Close() })
	t.Cleanup(func() {
		res, err := s.kafka.DeleteGroups(context.Background(), &kafka.DeleteGroupsRequest{GroupIDs: []string{e.group}})
		if err == nil {
			err = res.Errors[e.group]
		}
		if err != nil && !strings.Contains(err.Error(), "Group Id Not Found") {
			t.Logf("delete group %s: %v", e.group, err)
		}
	})
	return &toastShape{e: e, topic: e.shape.prefix + toastTable}
}

// requireToasted asserts that the table's TOAST relation holds the bodies
// of at least rows rows (each is several chunks).
func (s *toastSource) requireToasted(t *testing.T, rows int) {
	t.Helper()
	var rel string
	if err := s.pg.QueryRow(context.Background(), "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'docs'").Scan(&rel); err != nil {
		t.Fatal(err)
	}
	var values int
	if err := s.pg.QueryRow(context.Background(), "SELECT count(DISTINCT chunk_id) FROM "+rel).Scan(&values); err != nil {
		t.Fatal(err)
	}
	if values < rows {
		t.Fatalf("%s holds %d out-of-line values, want at least %d: the body is not TOASTed", rel, values, rows)
	}
}

// step waits until both topics hold the step's messages, replicates each
// shape in one bounded run (both at once), runs check on its report and
// compares ClickHouse FINAL with PostgreSQL.
func (s *toastSource) step(t *testing.T, shapes []*toastShape, name string, messages int64, check func(*toastShape, toastReport)) {
	t.Helper()
	begin := time.Now()
	for _, x := range shapes {
		s.waitMessages(t, x, messages)
	}
	reports := make([]toastReport, len(shapes))
	procs := make([]*proc, len(shapes))
	var wg sync.WaitGroup
	for i, x := range shapes {
		procs[i] = x.e.start(x.args()...)
		wg.Add(1)
		go func() { defer wg.Done(); <-procs[i].done }()
	}
	wg.Wait()
	for i, x := range shapes {
		p := procs[i]
		if err := json.Unmarshal(p.stdout.Bytes(), &reports[i]); err != nil {
			t.Fatalf("%s %s: no report (exit %d): %v\n%s", name, x.e.shape.name, p.code, err, tail(p.stderr.String(), 30))
		}
		r := reports[i]
		if p.code != 0 || r.Status != "drained" || r.LagLeft != 0 || r.DeadLetters != 0 {
			t.Fatalf("%s %s: exit %d, status %s, lag left %d, dead letters %d; stderr:\n%s",
				name, x.e.shape.name, p.code, r.Status, r.LagLeft, r.DeadLetters, tail(p.stderr.String(), 30))
		}
		check(x, r)
		got := x.e.compareCH(x.e.readPG())
		t.Logf("%s %s: %d messages in %.1fs, ClickHouse FINAL equals PostgreSQL (%d rows)",
			name, x.e.shape.name, r.Messages, p.took.Seconds(), got[toastTable])
	}
	t.Logf("step %s: %s", name, time.Since(begin).Round(time.Millisecond))
}

func (x *toastShape) args() []string {
	return []string{"replicate",
		"--kafka-brokers", testenv.KafkaBroker(),
		"--group", x.e.group,
		"--topics", x.topic,
		"--clickhouse-url", x.e.chURL,
		"--pg-dsn", x.e.srcDSN,
		"--output", "json",
	}
}

func (x *toastShape) table(t *testing.T, r toastReport) toastTableReport {
	t.Helper()
	for _, tr := range r.Tables {
		if tr.Table == toastTable {
			return tr
		}
	}
	t.Fatalf("%s: no table %s in the report", x.e.shape.name, toastTable)
	return toastTableReport{}
}

// waitMessages waits until the shape's topic holds want more data
// messages (tombstones excluded) than the previous step replicated.
func (s *toastSource) waitMessages(t *testing.T, x *toastShape, want int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n := int64(len(x.readAll(t, false)))
		if n-s.seen[x.topic] >= want {
			if n-s.seen[x.topic] > want {
				t.Fatalf("%s: %d new messages, want %d", x.topic, n-s.seen[x.topic], want)
			}
			s.seen[x.topic] = n
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d new messages after a minute, want %d", x.topic, n-s.seen[x.topic], want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// read returns every change in the topic, in offset order per partition.
func (x *toastShape) read(t *testing.T) []toastChange {
	t.Helper()
	var out []toastChange
	for _, v := range x.readAll(t, true) {
		out = append(out, x.decode(t, v))
	}
	return out
}

// readAll returns the values of every non-tombstone message of the topic
// (none while the topic does not exist yet, unless must).
func (x *toastShape) readAll(t *testing.T, must bool) [][]byte {
	t.Helper()
	ends, err := x.e.endOffsetsOf([]string{x.topic})
	if err != nil {
		if must {
			t.Fatalf("end offsets of %s: %v", x.topic, err)
		}
		return nil
	}
	var out [][]byte
	for pos, end := range ends {
		for next := int64(0); next < end; {
			res, err := x.e.kafka.Fetch(context.Background(), &kafka.FetchRequest{Topic: pos.topic, Partition: pos.partition,
				Offset: next, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 500 * time.Millisecond})
			if err == nil {
				err = res.Error
			}
			if err != nil {
				t.Fatalf("fetch %s from %d: %v", pos, next, err)
			}
			got := 0
			for next < end {
				r, err := res.Records.ReadRecord()
				if err != nil {
					break
				}
				if r.Offset < next {
					continue
				}
				next, got = r.Offset+1, got+1
				if r.Value != nil {
					if v, _ := io.ReadAll(r.Value); v != nil {
						out = append(out, v)
					}
				}
			}
			if got == 0 {
				break
			}
		}
	}
	return out
}

// decode reads op, id and body (and the envelope's before.body) out of a
// message of either shape.
func (x *toastShape) decode(t *testing.T, v []byte) toastChange {
	t.Helper()
	type row struct {
		ID      int64   `json:"id"`
		Body    *string `json:"body"`
		Op      string  `json:"__op"`
		Deleted string  `json:"__deleted"`
	}
	var c toastChange
	if x.e.shape.name == "unwrap" {
		var m struct {
			Payload row `json:"payload"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			t.Fatalf("%s: %v", x.topic, err)
		}
		c = toastChange{op: m.Payload.Op, id: m.Payload.ID, body: m.Payload.Body}
		return c
	}
	var m struct {
		Op     string `json:"op"`
		Before *row   `json:"before"`
		After  *row   `json:"after"`
	}
	if err := json.Unmarshal(v, &m); err != nil {
		t.Fatalf("%s: %v", x.topic, err)
	}
	c.op = m.Op
	if m.After != nil {
		c.id, c.body = m.After.ID, m.After.Body
	}
	if m.Before != nil {
		c.id, c.before = m.Before.ID, m.Before.Body
	}
	return c
}

func describe(s *string) string {
	switch {
	case s == nil:
		return "null"
	case *s == toastPlaceholder:
		return "the placeholder " + toastPlaceholder
	default:
		return fmt.Sprintf("a %d-byte value", len(*s))
	}
}

func mustExec(t *testing.T, pg *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := pg.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// randomText is n bytes of hex from random bytes.
func randomText(t *testing.T, n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
