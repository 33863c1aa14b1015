package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// Every server on a closed port: check still reports every item, fails
// with Findings, and never prints a password.
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
		if code != exitcode.Findings {
			t.Errorf("%s: exit %d, want %d\n%s%s", output, code, exitcode.Findings, out, stderr)
		}
		if strings.Contains(out+stderr, "s3cret") {
			t.Errorf("%s: a password is printed:\n%s%s", output, out, stderr)
		}
		if output == "json" {
			var rep struct {
				Status string
				Counts map[string]int
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Status != "fail" || rep.Counts["fail"] != 4 {
				t.Errorf("json report: %v %+v\n%s", err, rep, out)
			}
		} else if !strings.Contains(out, "fail: 0 ok, 0 warn, 4 fail") || !strings.Contains(out, "postgres://u:xxxxx@127.0.0.1:1/db") {
			t.Errorf("text report:\n%s", out)
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
