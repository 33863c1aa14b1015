package main

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/sluice-cdc/sluice/health"
	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/secure"
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

// check against an https Kafka Connect with basic authentication: the CA
// and the password come from files; a wrong password fails the connect
// item with its cause and exits 4. No password is printed either way.
func TestCheckConnectTLS(t *testing.T) {
	for _, env := range []string{"SLUICE_CONNECT_URL", "SLUICE_CONNECTOR", "SLUICE_SLOT", "SLUICE_PUBLICATION", "SLUICE_TOPICS",
		"SLUICE_TOPIC_PATTERN", "SLUICE_GROUP", "SLUICE_PG_DSN", "SLUICE_KAFKA_BROKERS", "SLUICE_CLICKHOUSE_URL",
		"SLUICE_CONNECT_PASSWORD", "SLUICE_CONNECT_USERNAME", "SLUICE_CONNECT_TLS_CA_FILE"} {
		t.Setenv(env, "")
	}
	const pw = "S3cr3t-connect"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != pw {
			http.Error(w, `{"error_code":401,"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		body := map[string]string{
			"/":                       `{"version":"4.1.1"}`,
			"/connectors":             `["shop"]`,
			"/connectors/shop/status": `{"name":"shop","connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"RUNNING"}]}`,
			"/connectors/shop/config": `{"connector.class":"io.debezium.connector.postgresql.PostgresConnector","topic.prefix":"cdc","table.include.list":"public.t","database.password":"dbS3cret"}`,
		}[r.URL.Path]
		if body == "" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte("wrong-S3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(file string) (int, string, string) {
		return runCLI("check", "--timeout", "2s", "--output", "json", "--pg-dsn", "", "--kafka-brokers", "", "--clickhouse-url", "",
			"--connect-url", srv.URL, "--connect-tls-ca-file", ca, "--connect-username", "admin", "--connect-password-file", file)
	}
	connectItems := func(out string) map[string]string {
		var rep struct {
			Items []struct{ Component, Check, Status, Cause string }
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("report: %v\n%s", err, out)
		}
		got := map[string]string{}
		for _, it := range rep.Items {
			if it.Component == "connect" {
				got[it.Check] = strings.TrimSpace(it.Status + " " + it.Cause)
			}
		}
		return got
	}

	code, out, stderr := run(pwFile)
	if got := connectItems(out); code != exitcode.OK || got["reachable"] != "ok" || got["connector"] != "ok" {
		t.Errorf("right password: exit %d, connect items %v\n%s%s", code, got, out, stderr)
	}
	code, out2, stderr2 := run(wrongFile)
	if got := connectItems(out2); code != exitcode.Unavailable || got["reachable"] != "fail authentication failed" {
		t.Errorf("wrong password: exit %d, connect items %v\n%s%s", code, got, out2, stderr2)
	}
	for _, secret := range []string{pw, "wrong-S3cr3t", "dbS3cret"} {
		if strings.Contains(out+stderr+out2+stderr2, secret) {
			t.Errorf("%s printed:\n%s%s%s%s", secret, out, stderr, out2, stderr2)
		}
	}
	// TLS flags with a plain http URL are a usage error.
	if code, _, stderr := runCLI("check", "--connect-url", "http://127.0.0.1:1", "--connect-tls-ca-file", ca); code != exitcode.Usage {
		t.Errorf("http URL with --connect-tls-ca-file: exit %d (%s)", code, stderr)
	}
}

// Each server's five TLS flags (one helper, tlsFlags) land in that
// server's settings, from the command line or the environment.
func TestCheckTLSFlagsReachTheirSettings(t *testing.T) {
	for _, env := range []string{"SLUICE_KAFKA_TLS_CA_FILE", "SLUICE_CONNECT_TLS_SERVER_NAME"} {
		t.Setenv(env, "")
	}
	o := &checkOptions{}
	app := &cli.App{Flags: o.flags(), Action: func(*cli.Context) error { return nil }}
	args := []string{"check"}
	for _, server := range []string{"clickhouse", "kafka", "connect"} {
		args = append(args, "--"+server+"-tls-ca-file", server+".ca", "--"+server+"-tls-cert-file", server+".crt",
			"--"+server+"-tls-key-file", server+".key", "--"+server+"-tls-server-name", server+".example",
			"--"+server+"-tls-insecure-skip-verify")
	}
	t.Setenv("SLUICE_KAFKA_TLS_CA_FILE", "from-env.ca")
	if err := app.Run(args); err != nil {
		t.Fatal(err)
	}
	for server, got := range map[string]secure.TLSFiles{"clickhouse": o.conn.chTLS, "kafka": o.conn.kafka.TLSFiles, "connect": o.conn.connect.TLSFiles} {
		want := secure.TLSFiles{CAFile: server + ".ca", CertFile: server + ".crt", KeyFile: server + ".key",
			ServerName: server + ".example", InsecureSkipVerify: true}
		if got != want {
			t.Errorf("%s: %+v, want %+v", server, got, want)
		}
	}
	o = &checkOptions{}
	app = &cli.App{Flags: o.flags(), Action: func(*cli.Context) error { return nil }}
	t.Setenv("SLUICE_CONNECT_TLS_SERVER_NAME", "env.example")
	if err := app.Run([]string{"check"}); err != nil {
		t.Fatal(err)
	}
	if o.conn.kafka.CAFile != "from-env.ca" || o.conn.connect.ServerName != "env.example" {
		t.Errorf("environment: kafka CA %q, connect server name %q", o.conn.kafka.CAFile, o.conn.connect.ServerName)
	}
}
