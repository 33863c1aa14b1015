package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/health"
	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// Every server on a closed port: check still reports every item, exits 4
// (a server could not be reached), and never prints a password.
func TestCheckUnreachableFailsWithoutSecrets(t *testing.T) {
	for _, env := range []string{"SLUICE_CONNECT_URL", "SLUICE_CONNECTOR", "SLUICE_SLOT", "SLUICE_PUBLICATION", "SLUICE_TOPICS", "SLUICE_TOPIC_PATTERN", "SLUICE_GROUP"} {
		t.Setenv(env, "")
	}
	args := []string{"check", "--timeout", "2s",
		"--pg-dsn", "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable",
		"--kafka-brokers", "127.0.0.1:1",
		"--clickhouse-url", "clickhouse://default:s3cret@127.0.0.1:1/x",
		"--connect-url", "http://admin:s3cret@127.0.0.1:1",
		"--topics", "cdc.x.public.t", "--group", "g", "--slot", "s", "--publication", "p"}
	for _, output := range []string{"text", "json"} {
		code, out, stderr := runCLI(append(args, "--output", output)...)
		if code != exitcode.Unavailable {
			t.Errorf("%s: exit %d, want %d\n%s%s", output, code, exitcode.Unavailable, out, stderr)
		}
		if strings.Contains(out+stderr, "s3cret") {
			t.Errorf("%s: a password is printed:\n%s%s", output, out, stderr)
		}
		if output == "json" {
			var rep struct {
				Status string
				Counts map[string]int
				Items  []struct{ Status, Cause string }
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Status != "fail" || rep.Counts["fail"] != 4 {
				t.Errorf("json report: %v %+v\n%s", err, rep, out)
			}
			for _, it := range rep.Items {
				if it.Status == "fail" && it.Cause != "connection refused" {
					t.Errorf("failed item with cause %q, want connection refused\n%s", it.Cause, out)
				}
			}
		} else if !strings.Contains(out, "fail: 0 ok, 0 warn, 4 fail, 0 skipped; 4 failed because a server could not be reached") ||
			!strings.Contains(out, "postgres://u:xxxxx@127.0.0.1:1/db") {
			t.Errorf("text report:\n%s", out)
		}
	}
}

// 4 when a server could not be reached wins over 3 for other failed
// items; 0 with warnings only.
func TestCheckError(t *testing.T) {
	slot := health.Item{Component: "postgres", Check: "slot", Target: "s", Level: health.Fail}
	down := health.Item{Component: "clickhouse", Check: "reachable", Level: health.Fail, Cause: "authentication failed"}
	warn := health.Item{Component: "postgres", Check: "retained_wal", Level: health.Warn}
	for _, c := range []struct {
		items []health.Item
		want  int
	}{
		{[]health.Item{warn}, exitcode.OK},
		{[]health.Item{warn, slot}, exitcode.Findings},
		{[]health.Item{slot, down}, exitcode.Unavailable},
	} {
		err := checkError(&health.Report{Items: c.items})
		if got := exitcode.Of(err); got != c.want {
			t.Errorf("%+v: exit %d (%v), want %d", c.items, got, err, c.want)
		}
		if c.want == exitcode.Unavailable && !strings.Contains(err.Error(), "clickhouse reachable (authentication failed)") {
			t.Errorf("error does not name the server and cause: %v", err)
		}
	}
}

func TestCheckStatusUsage(t *testing.T) {
	t.Setenv("SLUICE_GROUP", "")
	for _, args := range [][]string{
		{"check", "--output", "xml"},
		{"check", "--topic-pattern", "("},
		{"check", "--max-retained-wal", "lots"},
		{"check", "extra"},
		{"status"}, // no --group
		{"status", "--group", "g", "--max-slot-lag", "-1"},
		{"status", "--group", "g", "--watch", "--interval", "0s"},
	} {
		if code, _, stderr := runCLI(args...); code != exitcode.Usage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitcode.Usage, stderr)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "1GiB": 1 << 30, "512 MiB": 512 << 20, "2GB": 2e9, "1.5KiB": 1536} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1XB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) accepted", bad)
		}
	}
}
