//go:build integration

package replicate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/testenv"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func randName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// testDB creates a fresh ClickHouse database and returns a connection to
// it; the database is dropped at the end.
func testDB(t *testing.T) (chconn.Conn, string) {
	t.Helper()
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	admin, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	db := randName("repl_it_")
	if err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("SLUICE_KEEP_DB") == "" {
			_ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		}
		admin.Close()
	})
	conn, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/"+db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, db
}

type pgCatalog struct{ pg *pgx.Conn }

func (c pgCatalog) Tables(ctx context.Context, schema string, names []string) ([]ddl.Table, error) {
	return ddl.ReadCatalog(ctx, c.pg, schema, names)
}

func pgConn(t *testing.T) *pgx.Conn {
	t.Helper()
	testenv.RequirePostgres(t)
	pg, err := pgx.Connect(context.Background(), testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close(context.Background()) })
	return pg
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func baseConfig(t *testing.T, conn chconn.Conn, group string) Config {
	testenv.RequireKafka(t)
	return Config{
		Source: kafkasrc.Config{Brokers: []string{testenv.KafkaBroker()}, GroupID: group},
		CH:     conn, DDL: ddl.DefaultOptions(), RunID: randName("run-"), Logger: testLogger(t),
		RetryTimeout: 5 * time.Second, MaxDeadLetters: -1,
	}
}

// produce writes records (key, value; a nil value is a tombstone) to a topic.
func produce(t *testing.T, topic string, kv ...[2]string) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(testenv.KafkaBroker()), Topic: topic, AllowAutoTopicCreation: true,
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Balancer: &kafka.Hash{}}
	defer w.Close()
	msgs := make([]kafka.Message, len(kv))
	for i, p := range kv {
		msgs[i] = kafka.Message{Key: []byte(p[0])}
		if p[1] != "\x00" {
			msgs[i].Value = []byte(p[1])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for i := 0; i < 20; i++ { // the topic may still be getting its leader
		if err = w.WriteMessages(ctx, msgs...); err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("produce to %s: %v", topic, err)
}

// lag returns the group's lag on the topics (committed vs high watermark).
func lag(t *testing.T, group string, topics ...string) int64 {
	t.Helper()
	plan, err := kafkasrc.Plan(context.Background(), kafkasrc.Config{Brokers: []string{testenv.KafkaBroker()}, GroupID: group, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	return plan.Lag()
}

// --- comparing PostgreSQL and ClickHouse through the type contract ---

// pgRows renders every row of a PostgreSQL table as text through the
// typemap builders (AppendPgx → Literal), keyed by the primary key.
func pgRows(t *testing.T, pg *pgx.Conn, tbl ddl.Table, p chconn.Profile, pol typemap.Policies) map[string]string {
	t.Helper()
	var sel []string
	for _, c := range tbl.Columns {
		e := `"` + c.Name + `"`
		switch c.Kind() {
		case typemap.KindJSON, typemap.KindEnum, typemap.KindInet:
			if c.Array {
				e += "::text[]"
			} else {
				e += "::text"
			}
		case typemap.KindMoney:
			e += "::numeric"
		}
		sel = append(sel, e)
	}
	rows, err := pg.Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(sel, ", "), tbl.Schema, tbl.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	bs := builders(t, tbl, p, pol)
	out := map[string]string{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			bs[i].Reset()
			if err := bs[i].AppendPgx(v); err != nil {
				t.Fatalf("%s.%s: pgx value %T %v: %v", tbl.Name, tbl.Columns[i].Name, v, v, err)
			}
			row[i] = bs[i].Literal(0)
		}
		out[keyOf(tbl, row)] = strings.Join(row, " | ")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// chRows renders the live rows (FINAL, _is_deleted = 0) of a ClickHouse
// table the same way, from its stored text through the same builders.
// livePerPartition counts the keys alive the way background merges
// collapse rows, partition by partition (FINAL on 18.16 collapses across
// partitions, so it cannot tell): a delete marker written to another
// partition than its row leaves the row alive in its own.
func livePerPartition(t *testing.T, conn chconnConn, tbl ddl.Table) int {
	t.Helper()
	ctx := context.Background()
	pk, err := conn.Query(ctx, "SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND name = "+chconn.QuoteString(tbl.Name))
	if err != nil || len(pk) == 0 {
		t.Fatalf("%s: partition key: %v %v", tbl.Name, pk, err)
	}
	part := pk[0][0]
	if part == "" || part == "tuple()" {
		part = "1" // one partition
	}
	var keys []string
	for _, k := range tbl.PrimaryKey {
		keys = append(keys, chconn.QuoteIdent(k))
	}
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT toString(count()) FROM (SELECT 1 FROM %s GROUP BY %s, %s HAVING argMax(_is_deleted, _version) = 0)",
		chconn.QuoteIdent(tbl.Name), strings.Join(keys, ", "), part))
	if err != nil || len(rows) != 1 {
		t.Fatalf("%s: live keys per partition: %v %v", tbl.Name, rows, err)
	}
	n, err := strconv.Atoi(rows[0][0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func chRows(t *testing.T, conn chconn.Conn, tbl ddl.Table, pol typemap.Policies) map[string]string {
	t.Helper()
	bs := builders(t, tbl, conn.Profile(), pol)
	var sel []string
	cols := make([]column, len(tbl.Columns))
	for i, c := range tbl.Columns {
		cols[i] = column{col: c}
		sel = append(sel, selectExpr(cols[i])...)
	}
	rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s FINAL WHERE _is_deleted = 0", strings.Join(sel, ", "), chconn.QuoteIdent(tbl.Name)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		row := make([]string, len(tbl.Columns))
		for i := range tbl.Columns {
			tok, err := tokenFromClickHouse(cols[i], r[2*i] == "1", r[2*i+1])
			if err != nil {
				t.Fatalf("%s.%s: %v", tbl.Name, tbl.Columns[i].Name, err)
			}
			bs[i].Reset()
			if err := bs[i].AppendDebezium(tok, nil); err != nil {
				t.Fatalf("%s.%s: stored %q: %v", tbl.Name, tbl.Columns[i].Name, r[2*i+1], err)
			}
			row[i] = bs[i].Literal(0)
		}
		k := keyOf(tbl, row)
		if _, dup := out[k]; dup {
			t.Errorf("%s: key %s twice under FINAL", tbl.Name, k)
		}
		out[k] = strings.Join(row, " | ")
	}
	return out
}

func builders(t *testing.T, tbl ddl.Table, p chconn.Profile, pol typemap.Policies) []typemap.Builder {
	bs := make([]typemap.Builder, len(tbl.Columns))
	for i, c := range tbl.Columns {
		b, err := typemap.NewBuilder(c, p, pol)
		if err != nil {
			t.Fatal(err)
		}
		bs[i] = b
	}
	return bs
}

func keyOf(tbl ddl.Table, row []string) string {
	var k []string
	for _, pk := range tbl.PrimaryKey {
		for i, c := range tbl.Columns {
			if c.Name == pk {
				k = append(k, row[i])
			}
		}
	}
	return strings.Join(k, ",")
}

// diffRows describes the differences of two renderings (at most a few).
func diffRows(pg, ch map[string]string) []string {
	var out []string
	for k, v := range pg {
		if w, ok := ch[k]; !ok {
			out = append(out, "missing in ClickHouse: "+k)
		} else if v != w {
			out = append(out, fmt.Sprintf("differs %s:\n  pg: %s\n  ch: %s", k, v, w))
		}
	}
	for k := range ch {
		if _, ok := pg[k]; !ok {
			out = append(out, "extra in ClickHouse: "+k)
		}
	}
	sort.Strings(out)
	return out
}

type (
	pgxConn    = *pgx.Conn
	chconnConn = chconn.Conn
)
