//go:build integration

package health

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// fixture is a pipeline of the test's own: a PostgreSQL database loaded
// with the shop, a Debezium connector with its own slot, publication and
// topics, a ClickHouse database with the shop's tables and a consumer
// group. Breaking any of them breaks nobody else's tests.
type fixture struct {
	t         *testing.T
	name      string // database, slot and publication
	connector string // also the topic prefix
	dsn       string
	pg        *pgx.Conn
	chURL     string
	ch        chconn.Conn
	group     string
	kafka     *kafka.Client
	root      string
}

var shopTables = []string{"customers", "order_items", "orders", "payments", "vehicles"}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testenv.RequirePostgres(t)
	testenv.RequireKafka(t)
	testenv.RequireConnect(t)
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	root, _ := filepath.Abs("..")
	f := &fixture{t: t, name: fmt.Sprintf("chk_%08x", rand.Uint32()), root: root}
	f.connector = strings.ReplaceAll(f.name, "_", "-")
	f.group = f.connector + "-group"
	f.kafka = &kafka.Client{Addr: kafka.TCP(testenv.KafkaBroker()), Timeout: 10 * time.Second}

	admin, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+f.name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(testenv.PostgresDSN())
	u.Path = "/" + f.name
	f.dsn = u.String()
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testenv.PostgresDSN())
		if err == nil {
			_, err = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+f.name+" WITH (FORCE)")
			c.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop database %s: %v", f.name, err)
		}
	})
	f.script("scripts/shop/load", "--scale", "2000")
	f.registerConnector()
	if f.pg, err = pgx.Connect(ctx, f.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.pg.Close(context.Background()) })
	f.waitSnapshot()
	f.createClickHouse()
	return f
}

// registerConnector registers the shared envelope connector's config under
// names of the test's own; cleanup deletes it with its offsets, slot,
// publication and topics.
func (f *fixture) registerConnector() {
	raw, err := os.ReadFile(filepath.Join(f.root, "scripts", "connectors", "ecommerce-envelope.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	var conn struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(raw, &conn); err != nil {
		f.t.Fatal(err)
	}
	conn.Name = f.connector
	conn.Config["database.dbname"] = f.name
	conn.Config["topic.prefix"] = f.connector
	conn.Config["slot.name"] = f.name
	conn.Config["publication.name"] = f.name
	file := filepath.Join(f.t.TempDir(), f.name+".json")
	b, _ := json.MarshalIndent(conn, "", "  ")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { f.script("scripts/connectors/register", "--delete", file) })
	f.script("scripts/connectors/register", file)
}

func (f *fixture) script(path string, args ...string) {
	f.t.Helper()
	begin := time.Now()
	cmd := exec.Command(filepath.Join(f.root, path), args...)
	cmd.Dir = f.root
	cmd.Env = append(os.Environ(), "SLUICE_PG_DSN="+f.dsn)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("%s %v: %v\n%s", path, args, err, out)
	}
	f.t.Logf("%s %s: %s", path, strings.Join(args, " "), time.Since(begin).Round(time.Millisecond))
}

func (f *fixture) topics() []string {
	out := make([]string, len(shopTables))
	for i, t := range shopTables {
		out[i] = f.connector + ".public." + t
	}
	return out
}

// waitSnapshot waits until every table's topic holds at least its rows.
func (f *fixture) waitSnapshot() {
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var rows int64
		for _, tb := range shopTables {
			var n int64
			if err := f.pg.QueryRow(ctx, "SELECT count(*) FROM "+tb).Scan(&n); err != nil {
				f.t.Fatal(err)
			}
			rows += n
		}
		ends, err := f.endOffsets()
		if err == nil && sum(ends) >= rows {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("snapshot of %s not in Kafka within 3 minutes: %v", f.name, err)
		}
		time.Sleep(time.Second)
	}
}

// createClickHouse creates the test's database with the shop's tables as
// sluice ddl apply would.
func (f *fixture) createClickHouse() {
	ctx := context.Background()
	server, err := native.Open(ctx, "clickhouse://"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		f.t.Fatal(err)
	}
	defer server.Close()
	if err := server.Exec(ctx, "CREATE DATABASE "+f.name); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		c, err := native.Open(context.Background(), "clickhouse://"+testenv.ClickHouseAddr()+"/default")
		if err == nil {
			err = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+f.name)
			c.Close()
		}
		if err != nil {
			f.t.Errorf("drop ClickHouse database %s: %v", f.name, err)
		}
	})
	f.chURL = "clickhouse://" + testenv.ClickHouseAddr() + "/" + f.name
	if f.ch, err = native.Open(ctx, f.chURL); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { f.ch.Close() })
	tables, err := ddl.ReadCatalog(ctx, f.pg, "public", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	opts := ddl.DefaultOptions()
	opts.Database = f.name
	if _, err := ddl.Apply(ctx, f.ch, tables, opts, ddl.Allow{}, slog.New(slog.DiscardHandler)); err != nil {
		f.t.Fatal(err)
	}
}

// config is the check configuration a user would give: the connector
// names the slot, publication and topics.
func (f *fixture) config() Config {
	return Config{
		PostgresDSN: f.dsn, Brokers: []string{testenv.KafkaBroker()}, Group: f.group,
		ConnectURL: testenv.ConnectURL(), Connector: f.connector, ClickHouseURL: f.chURL,
		DDL: ddl.DefaultOptions(), MaxRetainedWAL: 1 << 30, Timeout: 10 * time.Second,
	}
}

type tp struct {
	topic     string
	partition int
}

// endOffsets asks Kafka for the high watermarks of the test's topics.
func (f *fixture) endOffsets() (map[tp]int64, error) {
	ctx := context.Background()
	md, err := f.kafka.Metadata(ctx, &kafka.MetadataRequest{Topics: f.topics()})
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
	res, err := f.kafka.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, err
	}
	out := map[tp]int64{}
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, p.Error
			}
			out[tp{topic, p.Partition}] = p.LastOffset
		}
	}
	return out, nil
}

// committed asks Kafka for the group's committed offsets.
func (f *fixture) committed(ends map[tp]int64) map[tp]int64 {
	parts := map[string][]int{}
	for k := range ends {
		parts[k.topic] = append(parts[k.topic], k.partition)
	}
	res, err := f.kafka.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: f.group, Topics: parts})
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[tp]int64{}
	for topic, ps := range res.Topics {
		for _, p := range ps {
			out[tp{topic, p.Partition}] = p.CommittedOffset
		}
	}
	return out
}

// commit commits offsets for the group, as a drained replicate would.
func (f *fixture) commit(offsets map[tp]int64) {
	topics := map[string][]kafka.OffsetCommit{}
	for k, off := range offsets {
		topics[k.topic] = append(topics[k.topic], kafka.OffsetCommit{Partition: k.partition, Offset: off})
	}
	res, err := f.kafka.OffsetCommit(context.Background(), &kafka.OffsetCommitRequest{
		GroupID: f.group, GenerationID: -1, Topics: topics})
	if err != nil {
		f.t.Fatal(err)
	}
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				f.t.Fatalf("commit %s/%d: %v", topic, p.Partition, p.Error)
			}
		}
	}
}

// connectPut sends PUT path to Kafka Connect (pause, resume).
func (f *fixture) connectPut(path string) {
	req, _ := http.NewRequest(http.MethodPut, testenv.ConnectURL()+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		f.t.Fatalf("PUT %s: HTTP %d", path, resp.StatusCode)
	}
}

// waitConnector waits until the connector reports state.
func (f *fixture) waitConnector(state string) {
	cl := newConnectClient(testenv.ConnectURL(), Config{Timeout: 10 * time.Second})
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := cl.status(context.Background(), f.connector)
		if err == nil && st.Connector.State == state {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("connector %s not %s within a minute: %+v %v", f.connector, state, st, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func sum(m map[tp]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// fails returns the failed items.
func fails(r *Report) []Item { return r.Failed() }

func logReport(t *testing.T, r *Report) {
	var b strings.Builder
	_ = r.WriteText(&b)
	t.Log("\n" + b.String())
}
