package health

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-cdc/sluice/internal/secure"
)

func TestRedactDSN(t *testing.T) {
	cases := map[string]string{
		"postgres://sluice:s3cret@h:5432/db?sslmode=disable": "postgres://sluice:xxxxx@h:5432/db?sslmode=disable",
		"postgres://h/db?password=s3cret&user=u":             "postgres://h/db?password=xxxxx&user=u",
		"host=h user=u password=s3cret dbname=d":             "host=h user=u password=xxxxx dbname=d",
		"host=h password='s3 \\'cret' dbname=d":              "host=h password=xxxxx dbname=d",
		"clickhouse://default:pw@127.0.0.1:9000/x":           "clickhouse://default:xxxxx@127.0.0.1:9000/x",
		"http://127.0.0.1:8083":                              "http://127.0.0.1:8083",
	}
	for in, want := range cases {
		got := RedactDSN(in)
		if got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "s3") || strings.Contains(got, ":pw@") {
			t.Errorf("RedactDSN(%q) leaks the password: %q", in, got)
		}
	}
}

func TestConnectorTopics(t *testing.T) {
	cc := connectorConfig{"topic.prefix": "cdc.shop", "table.include.list": "public.orders, public.customers"}
	names, re := cc.topics()
	if re != nil || strings.Join(names, ",") != "cdc.shop.public.orders,cdc.shop.public.customers" {
		t.Errorf("plain list: %v %v", names, re)
	}
	cc["table.include.list"] = "public.order.*"
	names, re = cc.topics()
	if names != nil || re == nil || !re.MatchString("cdc.shop.public.order_items") || re.MatchString("cdc.shop.public.customers") {
		t.Errorf("regex list: %v %v", names, re)
	}
	delete(cc, "table.include.list")
	if _, re = cc.topics(); re == nil || !re.MatchString("cdc.shop.s.t") || re.MatchString("cdcXshop.s.t") {
		t.Errorf("no list: %v", re)
	}
	if cc.slot() != "debezium" || cc.publication() != "dbz_publication" {
		t.Errorf("Debezium defaults: %s %s", cc.slot(), cc.publication())
	}
}

func TestReportText(t *testing.T) {
	r := &Report{Endpoints: map[string]string{Postgres: "postgres://u:xxxxx@h/db"}}
	r.add(item(Postgres, "reachable", "", OK, "PostgreSQL 15", ""),
		item(Postgres, "slot", "s1", Fail, "replication slot \"s1\" does not exist", "restart the connector"),
		item(Kafka, "group", "", Skip, "no consumer group given", ""))
	r.finish()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"POSTGRES  postgres://u:xxxxx@h/db", "fail  slot s1", "fix: restart the connector", "fail: 1 ok, 0 warn, 1 fail, 1 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if r.Status != Fail || len(r.Failed()) != 1 {
		t.Errorf("status %s, failed %v", r.Status, r.Failed())
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Status string
		Items  []Item
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Status != "fail" || back.Items[1].Fix == "" {
		t.Errorf("json: %v %+v", err, back)
	}
}

func TestStatusFreshness(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 10, 0, time.UTC)
	src := at.Add(-2 * time.Second)
	ts := TableStatus{Table: "orders", Lag: 50, SourceTime: &src}
	ts.fromClickHouse([]string{"10", "4294967396", "1767323045000"}, at) // 03:04:05
	if ts.Version != 4294967396 || FormatLSN(ts.Version) != "1/64" {
		t.Errorf("version %d (%s)", ts.Version, FormatLSN(ts.Version))
	}
	if time.Duration(*ts.Behind) != 3*time.Second || time.Duration(*ts.Age) != 5*time.Second {
		t.Errorf("behind %s, age %s", time.Duration(*ts.Behind), time.Duration(*ts.Age))
	}
	r := &StatusReport{At: at, Tables: []TableStatus{ts}, Slot: &SlotStatus{Name: "s", LagBytes: 2048}}
	r.evaluate(Thresholds{MaxLag: 10, MaxAge: time.Second, MaxSlotLag: 1024})
	if len(r.Breaches) != 3 {
		t.Errorf("breaches: %v", r.Breaches)
	}
	r.Breaches = nil
	r.evaluate(Thresholds{MaxLag: 50, MaxAge: 3 * time.Second})
	if len(r.Breaches) != 0 {
		t.Errorf("at the thresholds: %v", r.Breaches)
	}
	empty := TableStatus{}
	empty.fromClickHouse([]string{"0", "0", "0"}, at)
	if empty.Time != nil || empty.Age != nil {
		t.Errorf("an empty table has no time: %+v", empty)
	}
}

func TestRates(t *testing.T) {
	at := time.Now()
	prev := &StatusReport{At: at, Tables: []TableStatus{{Topic: "t", Committed: 100, End: 200}}}
	cur := &StatusReport{At: at.Add(2 * time.Second), Tables: []TableStatus{{Topic: "t", Committed: 110, End: 240}}}
	cur.rates(prev)
	if c := cur.Tables[0]; *c.ConsumedPerSecond != 5 || *c.ProducedPerSecond != 20 {
		t.Errorf("rates %v %v", *c.ConsumedPerSecond, *c.ProducedPerSecond)
	}
}

// A failed item says whether its server could not be reached (network,
// authentication, TLS) or answered with a problem; only the former are
// Unreachable.
func TestUnreachableCause(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("postgres: connect: %w", refused), secure.CauseRefused},
		{fmt.Errorf("postgres: connect: %w", &pgconn.PgError{Code: "28P01", Message: "password authentication failed"}), secure.CauseAuth},
		{fmt.Errorf("kafka: %w", x509.UnknownAuthorityError{}), secure.CauseUnknownCA},
		{fmt.Errorf("kafka connect GET /: HTTP 401: %w", errConnectAuth), secure.CauseAuth},
		{&secure.ConnError{Service: "PostgreSQL", Server: "h:5432", Cause: secure.CauseTimeout, Err: context.DeadlineExceeded}, secure.CauseTimeout},
		{&secure.ConnError{Service: "ClickHouse", Server: "h:9000", Cause: "cannot connect", Err: &proto.Exception{Code: 81, Message: "Database x doesn't exist"}}, ""},
		// The server answered: findings, not outages.
		{fmt.Errorf("postgres: connect: %w", &pgconn.PgError{Code: "3D000", Message: `database "x" does not exist`}), ""},
		{fmt.Errorf("postgres: %w", &pgconn.PgError{Code: "42501", Message: "permission denied"}), ""},
		{errors.New("postgres: cannot parse DSN postgres://h/db"), ""},
		{errors.New("kafka connect GET /connectors: HTTP 500: boom"), ""},
	}
	r := &Report{}
	for _, c := range cases {
		it := withCause(item(Postgres, "reachable", "", Fail, c.err.Error(), ""), c.err)
		if it.Cause != c.want {
			t.Errorf("%v: cause %q, want %q", c.err, it.Cause, c.want)
		}
		r.add(it)
	}
	r.add(withCause(item(Kafka, "group", "g", Warn, "lag", ""), refused)) // not failed: never unreachable
	r.finish()
	if n := len(r.Unreachable()); n != 5 {
		t.Errorf("%d unreachable items, want 5: %+v", n, r.Unreachable())
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10 fail, 0 skipped; 5 failed because a server could not be reached", "fail  reachable  TLS: certificate signed by unknown authority: kafka: x509:", "warn  group g  lag"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
}
