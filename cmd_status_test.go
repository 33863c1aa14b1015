package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/health"
	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// status uses check's cause rule: 4 when a server could not be reached
// wins over 3 for a breach or for an error of a server that answered (a
// missing topic, slot or table); 0 when nothing is wrong.
func TestStatusError(t *testing.T) {
	breach := []string{"orders: Kafka lag 9 messages > 1"}
	missing := []string{"kafka: topics do not exist: [cdc.x]"}
	down := []health.Outage{{Cause: "connection refused", Error: "clickhouse: dial tcp 127.0.0.1:1: connect: connection refused"}}
	tableDown := []health.Outage{{Table: "orders", Cause: "timed out", Error: "kafka: fetch t/0: i/o deadline"}}
	noTable := []health.TableStatus{{Table: "orders", Errors: []string{"clickhouse table orders: Table x.orders doesn't exist"}}}
	for _, c := range []struct {
		name string
		rep  health.StatusReport
		want int
		says string
	}{
		{"quiet", health.StatusReport{Tables: []health.TableStatus{{Table: "orders"}}}, exitcode.OK, ""},
		{"breach", health.StatusReport{Breaches: breach}, exitcode.Findings, "Kafka lag 9"},
		{"missing topic", health.StatusReport{Errors: missing}, exitcode.Findings, "topics do not exist"},
		{"missing table", health.StatusReport{Tables: noTable}, exitcode.Findings, "orders: clickhouse table orders"},
		{"unreachable", health.StatusReport{Errors: []string{down[0].Error}, Unreachable: down}, exitcode.Unavailable, "1 error(s) because a server could not be reached: clickhouse: dial"},
		{"unreachable wins over a breach", health.StatusReport{Breaches: breach, Errors: []string{down[0].Error}, Unreachable: down}, exitcode.Unavailable, "connection refused"},
		{"a table's server", health.StatusReport{Errors: missing, Unreachable: tableDown}, exitcode.Unavailable, "orders: timed out: kafka: fetch t/0"},
	} {
		err := statusError(&c.rep)
		if got := exitcode.Of(err); got != c.want {
			t.Errorf("%s: exit %d (%v), want %d", c.name, got, err, c.want)
			continue
		}
		if c.says != "" && (err == nil || !strings.Contains(err.Error(), c.says)) {
			t.Errorf("%s: error %v does not say %q", c.name, err, c.says)
		}
	}
}

// Every server on a closed port: status exits 4, lists each error's cause
// in the report and prints no password.
func TestStatusUnreachable(t *testing.T) {
	for _, env := range []string{"SLUICE_CONNECT_URL", "SLUICE_CONNECTOR", "SLUICE_SLOT", "SLUICE_PUBLICATION", "SLUICE_TOPICS",
		"SLUICE_TOPIC_PATTERN", "SLUICE_GROUP"} {
		t.Setenv(env, "")
	}
	for _, env := range []string{"SLUICE_MAX_LAG", "SLUICE_MAX_AGE", "SLUICE_MAX_SLOT_LAG"} {
		t.Setenv(env, "0")
	}
	args := []string{"status", "--timeout", "2s", "--group", "g", "--topics", "cdc.x.public.t", "--slot", "s",
		"--pg-dsn", "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable",
		"--kafka-brokers", "127.0.0.1:1",
		"--clickhouse-url", "clickhouse://default:s3cret@127.0.0.1:1/x"}
	code, out, stderr := runCLI(append(args, "--output", "json")...)
	if code != exitcode.Unavailable {
		t.Errorf("exit %d, want %d\n%s%s", code, exitcode.Unavailable, out, stderr)
	}
	var rep struct {
		Errors      []string
		Unreachable []health.Outage
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	// Kafka and PostgreSQL; ClickHouse is not asked when no topic was found.
	if len(rep.Unreachable) != 2 || len(rep.Errors) != 2 {
		t.Errorf("want 2 errors, both unreachable: %+v", rep)
	}
	for _, o := range rep.Unreachable {
		if o.Cause != "connection refused" {
			t.Errorf("cause %q, want connection refused: %+v", o.Cause, o)
		}
	}
	code, text, stderr2 := runCLI(append(args, "--output", "text")...)
	if code != exitcode.Unavailable || !strings.Contains(text, "2 error(s) because a server could not be reached") {
		t.Errorf("text: exit %d\n%s%s", code, text, stderr2)
	}
	if strings.Contains(out+stderr+text+stderr2, "s3cret") {
		t.Errorf("a password is printed:\n%s%s%s%s", out, stderr, text, stderr2)
	}
}
