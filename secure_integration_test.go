//go:build integration

package main

// End-to-end tests of the secure connection paths on real servers, through
// the built binary: 'scripts/stack up secure' must be running (SASL_SSL
// Kafka with SCRAM users, ClickHouse 18.16 with a TLS-only native port,
// PostgreSQL with ssl=on and a TLS-only role; see scripts/lib/secure.sh).
// Every byte each run prints (stdout, stderr, the JSON report) is checked
// for the secrets, raw and encoded.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/secure"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// secureEnv is where the secure stack is and its credentials.
type secureEnv struct {
	dir, ca, otherCA, clientCert, clientKey string
	user                                    string
	pgPort, kafka, ch                       string
	pgPW, kafkaPW, chPW                     string
	pgPWFile, kafkaPWFile, chPWFile         string
}

func loadSecureEnv(t *testing.T) secureEnv {
	t.Helper()
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	stack := get("SLUICE_STACK_DIR", filepath.Join(repoRoot(t), ".stack"))
	e := secureEnv{dir: get("SLUICE_SECURE_DIR", filepath.Join(stack, "secure")), user: "sluice_secure",
		pgPort: get("SLUICE_PG_PORT", "54329")}
	e.ca = filepath.Join(e.dir, "tls", "ca.pem")
	e.otherCA = filepath.Join(e.dir, "tls", "other-ca.pem")
	e.clientCert = filepath.Join(e.dir, "tls", "client.crt")
	e.clientKey = filepath.Join(e.dir, "tls", "client.key")
	e.kafka = "localhost:" + get("SLUICE_SECURE_KAFKA_PORT", "19094")
	e.ch = "localhost:" + get("SLUICE_SECURE_CH_TCP_PORT", "19440")
	read := func(name string) (string, string) {
		p := filepath.Join(e.dir, name+"-password")
		s, err := secure.ReadSecretFile(name, p)
		if err != nil {
			t.Fatalf("the secure stack is not up (scripts/stack up secure): %v", err)
		}
		return s, p
	}
	e.pgPW, e.pgPWFile = read("pg")
	e.kafkaPW, e.kafkaPWFile = read("kafka")
	e.chPW, e.chPWFile = read("clickhouse")
	testenv.RequireTCP(t, "secure Kafka (scripts/stack up secure)", e.kafka)
	testenv.RequireTCP(t, "secure ClickHouse (scripts/stack up secure)", e.ch)
	testenv.RequirePostgres(t)
	return e
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// pgDSN is a verify-full URL for host (localhost: the certificate's name).
func (e secureEnv) pgDSN(host, ca string) string {
	return fmt.Sprintf("postgres://%s@%s:%s/ecommerce?sslmode=verify-full&sslrootcert=%s", e.user, host, e.pgPort, url.QueryEscape(ca))
}

func (e secureEnv) kafkaSecurity(t *testing.T, mech string) secure.KafkaSecurity {
	s, err := secure.Kafka{TLSFiles: secure.TLSFiles{CAFile: e.ca}, SASLMechanism: mech, Username: e.user, Password: e.kafkaPW}.Build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var secureBinary string

// buildSluice builds the binary once per test process.
func buildSluice(t *testing.T) string {
	t.Helper()
	if secureBinary != "" {
		return secureBinary
	}
	dir, err := os.MkdirTemp("", "sluice-secure-bin")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sluice")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	secureBinary = bin
	return bin
}

// result is one run of the binary: exit code, output, time.
type result struct {
	name           string
	code           int
	stdout, stderr []byte
	took           time.Duration
}

func (r result) all() string { return string(r.stdout) + string(r.stderr) }

// runSluice runs the binary with only env (plus PATH and HOME) in its
// environment, so the developer's SLUICE_* variables do not leak in.
func runSluice(t *testing.T, name string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildSluice(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{name: name, stdout: out.Bytes(), stderr: errb.Bytes(), took: time.Since(start)}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%s: exit %d in %s", name, r.code, r.took.Round(time.Millisecond))
	return r
}

// leakForms are the byte strings that must never appear for a secret.
func leakForms(secret string) []string {
	b := []byte(secret)
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b), hex.EncodeToString(b)}
	// A secret inside userinfo base64 (HTTP basic auth) or after a prefix
	// shifts the encoding: look for the base64 of its core too.
	if len(secret) > 9 {
		core := secret[3 : len(secret)-3]
		forms = append(forms, base64.RawStdEncoding.EncodeToString([]byte(core))[:len(core)*4/3-4])
	}
	return forms
}

func assertNoLeak(t *testing.T, results []result, secrets ...string) {
	t.Helper()
	for _, r := range results {
		for _, s := range secrets {
			for _, f := range leakForms(s) {
				for where, b := range map[string][]byte{"stdout": r.stdout, "stderr": r.stderr} {
					if bytes.Contains(b, []byte(f)) {
						t.Errorf("%s: a secret (form %q of one) appears on %s:\n%s", r.name, f[:3]+"…", where, b)
					}
				}
			}
		}
	}
}

// copyTopic copies a plaintext topic into the secure cluster over SASL_SSL
// (the same key keeps its order: one partitioner for every message).
func copyTopic(t *testing.T, e secureEnv, from, to string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := &kafka.Client{Addr: kafka.TCP(testenv.KafkaBroker()), Timeout: 10 * time.Second}
	md, err := src.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{from}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata of %s: %v %+v", from, err, md)
	}
	var msgs []kafka.Message
	for _, p := range md.Topics[0].Partitions {
		conn, err := kafka.DialLeader(ctx, "tcp", testenv.KafkaBroker(), from, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		first, last, err := conn.ReadOffsets()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Seek(first, kafka.SeekAbsolute); err != nil {
			t.Fatal(err)
		}
		for off := first; off < last; {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := conn.ReadMessage(10 << 20)
			if err != nil {
				t.Fatalf("read %s/%d at %d: %v", from, p.ID, off, err)
			}
			msgs = append(msgs, kafka.Message{Key: m.Key, Value: m.Value, Headers: m.Headers})
			off = m.Offset + 1
		}
		conn.Close()
	}
	if len(msgs) == 0 {
		t.Fatalf("topic %s is empty (run scripts/test, which loads the shop and registers the connectors)", from)
	}
	// The producer path over SASL_SSL with SCRAM-SHA-256.
	tr := e.kafkaSecurity(t, secure.SASLScramSHA256).Transport(10*time.Second, "sluice-test")
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(e.kafka), Topic: to, Transport: tr, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, AllowAutoTopicCreation: true, BatchTimeout: 10 * time.Millisecond, BatchSize: 1000}
	defer w.Close()
	for i := 0; ; i++ {
		if err = w.WriteMessages(ctx, msgs...); err == nil {
			break
		}
		if i == 20 {
			t.Fatalf("write %s to the secure Kafka: %v", to, err)
		}
		time.Sleep(500 * time.Millisecond) // auto-created topic: leader not yet elected
	}
	// On a fresh cluster the first group request creates __consumer_offsets;
	// wait until the coordinator answers so that the runs below do not race it.
	sec := e.kafkaSecurity(t, secure.SASLScramSHA512)
	for i := 0; ; i++ {
		_, err := kafkasrc.Plan(ctx, kafkasrc.Config{Brokers: []string{e.kafka}, GroupID: "sec-warmup", Topics: []string{to},
			Dialer: sec.Dialer(10*time.Second, "sluice-test")})
		if err == nil {
			break
		}
		if i == 40 {
			t.Fatalf("secure Kafka group coordinator: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return len(msgs)
}

func createDatabase(t *testing.T, e secureEnv, db string) {
	t.Helper()
	ctx := context.Background()
	u := fmt.Sprintf("clickhouse://%s:%s@%s/default?tls_ca_file=%s", e.user, url.QueryEscape(e.chPW), e.ch, url.QueryEscape(e.ca))
	c, err := native.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := native.Open(ctx, u); err == nil {
			_ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
			c.Close()
		}
	})
}

// TestSecureEndToEnd runs snapshot, verify, replicate and check over
// SASL_SSL Kafka (SCRAM), TLS ClickHouse and PostgreSQL with
// sslmode=verify-full, with the secrets given every supported way; then
// the failure cases (wrong password, untrusted certificate, hostname
// mismatch) on each server. No secret may appear in any output.
func TestSecureEndToEnd(t *testing.T) {
	e := loadSecureEnv(t)
	testenv.RequireKafka(t)
	id := fmt.Sprintf("%08x", rand.Uint32())
	dbSnap, dbRepl := "sec_snap_"+id, "sec_repl_"+id
	createDatabase(t, e, dbSnap)
	createDatabase(t, e, dbRepl)
	topic := "sec" + id + ".public.customers"
	n := copyTopic(t, e, "cdc.ecommerce.public.customers", topic)
	t.Logf("copied %d messages to %s on the secure Kafka", n, topic)

	// Wrong passwords are secrets too: they must not be printed either.
	wrong := "S3cr3t-wrong-" + id
	dir := t.TempDir()
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chURL := func(db string) string { return fmt.Sprintf("clickhouse://%s@%s/%s", e.user, e.ch, db) }
	chURLWithPW := func(db string) string {
		return fmt.Sprintf("clickhouse://%s:%s@%s/%s?secure=true", e.user, url.QueryEscape(e.chPW), e.ch, db)
	}
	kafkaEnv := func(mech string) []string {
		return []string{"SLUICE_KAFKA_BROKERS=" + e.kafka, "SLUICE_KAFKA_TLS_CA_FILE=" + e.ca,
			"SLUICE_KAFKA_SASL_MECHANISM=" + mech, "SLUICE_KAFKA_SASL_USERNAME=" + e.user}
	}
	policy := []string{"--out-of-range", "clamp"}
	var results []result
	must := func(r result, want ...int) result {
		t.Helper()
		results = append(results, r)
		for _, w := range want {
			if r.code == w {
				return r
			}
		}
		t.Errorf("%s: exit %d, want %v\nstdout:\n%s\nstderr:\n%s", r.name, r.code, want, r.stdout, r.stderr)
		return r
	}

	// snapshot: PG password from --pg-password-file, ClickHouse password
	// from --clickhouse-password-file, CA by flag.
	must(runSluice(t, "snapshot", nil, append([]string{"snapshot", "--output", "json",
		"--pg-dsn", e.pgDSN("localhost", e.ca), "--pg-password-file", e.pgPWFile,
		"--clickhouse-url", chURL(dbSnap), "--clickhouse-password-file", e.chPWFile, "--clickhouse-tls-ca-file", e.ca,
		"--tables", "customers"}, policy...)...), 0)

	// verify: PG password from PGPASSWORD, ClickHouse password in the URL
	// userinfo (secure=true), CA from the environment; client certificate.
	must(runSluice(t, "verify", []string{"PGPASSWORD=" + e.pgPW, "SLUICE_CLICKHOUSE_TLS_CA_FILE=" + e.ca,
		"SLUICE_CLICKHOUSE_TLS_CERT_FILE=" + e.clientCert, "SLUICE_CLICKHOUSE_TLS_KEY_FILE=" + e.clientKey},
		append([]string{"verify", "-o", "json", "--pg-dsn", e.pgDSN("localhost", e.ca),
			"--clickhouse-url", chURLWithPW(dbSnap), "--table", "customers"}, policy...)...), 0)

	// replicate: SCRAM-SHA-512 password from the environment, PG password
	// in the DSN's query, ClickHouse password from the environment;
	// dead letters to a topic on the secure cluster (the producer path).
	pgDSNWithPW := e.pgDSN("localhost", e.ca) + "&password=" + url.QueryEscape(e.pgPW)
	must(runSluice(t, "replicate", append(kafkaEnv("scram-sha-512"),
		"SLUICE_KAFKA_SASL_PASSWORD="+e.kafkaPW, "SLUICE_CLICKHOUSE_PASSWORD="+e.chPW, "SLUICE_PG_DSN="+pgDSNWithPW),
		append([]string{"replicate", "--output", "json", "--group", "sec-" + id, "--topics", topic,
			"--clickhouse-url", chURL(dbRepl), "--clickhouse-tls-ca-file", e.ca,
			"--dead-letter-topic", "sec" + id + ".dead-letters"}, policy...)...), 0, 3)

	// check: SCRAM-SHA-256 password from a file, everything from the
	// environment, as a CronJob would set it.
	if _, err := os.Stat("cmd_check.go"); err == nil {
		must(runSluice(t, "check", append(kafkaEnv("scram-sha-256"),
			"SLUICE_KAFKA_SASL_PASSWORD_FILE="+e.kafkaPWFile,
			"SLUICE_PG_DSN="+e.pgDSN("localhost", e.ca), "SLUICE_PG_PASSWORD_FILE="+e.pgPWFile,
			"SLUICE_CLICKHOUSE_URL="+chURL(dbRepl), "SLUICE_CLICKHOUSE_PASSWORD_FILE="+e.chPWFile,
			"SLUICE_CLICKHOUSE_TLS_CA_FILE="+e.ca, "SLUICE_GROUP=sec-"+id, "SLUICE_TOPICS="+topic),
			append([]string{"check", "--output", "json"}, policy...)...), 0)
		// --help with every secret in the environment shows none of them.
		must(runSluice(t, "check --help", append(kafkaEnv("plain"), "SLUICE_KAFKA_SASL_PASSWORD="+e.kafkaPW, "SLUICE_CONNECT_PASSWORD="+e.kafkaPW,
			"SLUICE_CLICKHOUSE_PASSWORD="+e.chPW, "SLUICE_CLICKHOUSE_URL="+chURLWithPW(dbRepl), "SLUICE_PG_DSN="+pgDSNWithPW),
			"check", "--help"), 0)
	}
	for _, cmd := range []string{"replicate", "snapshot", "verify"} {
		must(runSluice(t, cmd+" --help", append(kafkaEnv("plain"), "SLUICE_KAFKA_SASL_PASSWORD="+e.kafkaPW,
			"SLUICE_CLICKHOUSE_PASSWORD="+e.chPW, "SLUICE_CLICKHOUSE_URL="+chURLWithPW(dbRepl), "SLUICE_PG_DSN="+pgDSNWithPW),
			cmd, "--help"), 0)
	}

	// Failures: each exits 4 within seconds, naming the server and the cause.
	fail := func(name, server, cause string, env []string, args ...string) {
		t.Helper()
		r := must(runSluice(t, name, env, args...), 4)
		if r.took > 20*time.Second {
			t.Errorf("%s: took %s to fail", name, r.took)
		}
		if msg := r.all(); !strings.Contains(msg, server) || !strings.Contains(msg, cause) {
			t.Errorf("%s: output does not name %q and %q:\n%s", name, server, cause, msg)
		}
	}
	kafkaArgs := []string{"replicate", "--group", "sec-fail-" + id, "--topics", topic, "--clickhouse-url", chURL(dbRepl),
		"--clickhouse-tls-ca-file", e.ca, "--clickhouse-password-file", e.chPWFile}
	fail("kafka wrong password", e.kafka, secure.CauseAuth,
		append(kafkaEnv("scram-sha-512"), "SLUICE_KAFKA_SASL_PASSWORD_FILE="+wrongFile), kafkaArgs...)
	fail("kafka wrong password (plain)", e.kafka, secure.CauseAuth,
		append(kafkaEnv("plain"), "SLUICE_KAFKA_SASL_PASSWORD="+wrong), kafkaArgs...)
	fail("kafka untrusted certificate", e.kafka, secure.CauseUnknownCA,
		append(kafkaEnv("scram-sha-256"), "SLUICE_KAFKA_SASL_PASSWORD="+e.kafkaPW),
		append(kafkaArgs, "--kafka-tls-ca-file", e.otherCA)...)
	fail("kafka hostname mismatch", e.kafka, "certificate is valid for localhost, not wrong.example",
		append(kafkaEnv("scram-sha-256"), "SLUICE_KAFKA_SASL_PASSWORD="+e.kafkaPW),
		append(kafkaArgs, "--kafka-tls-server-name", "wrong.example")...)

	verifyArgs := func(pgDSN, chCA string, extra ...string) []string {
		return append([]string{"verify", "--table", "customers", "--pg-dsn", pgDSN, "--pg-password-file", e.pgPWFile,
			"--clickhouse-url", chURL(dbSnap), "--clickhouse-tls-ca-file", chCA}, extra...)
	}
	fail("clickhouse wrong password", e.ch, secure.CauseAuth, []string{"SLUICE_CLICKHOUSE_PASSWORD=" + wrong},
		verifyArgs(e.pgDSN("localhost", e.ca), e.ca)...)
	fail("clickhouse untrusted certificate", e.ch, secure.CauseUnknownCA, nil,
		verifyArgs(e.pgDSN("localhost", e.ca), e.otherCA, "--clickhouse-password-file", e.chPWFile)...)
	fail("clickhouse hostname mismatch", e.ch, "not wrong.example", nil,
		verifyArgs(e.pgDSN("localhost", e.ca), e.ca, "--clickhouse-password-file", e.chPWFile, "--clickhouse-tls-server-name", "wrong.example")...)

	pgServer := "localhost:" + e.pgPort
	fail("postgres wrong password", pgServer, secure.CauseAuth, nil,
		append(verifyArgs(e.pgDSN("localhost", e.ca), e.ca, "--clickhouse-password-file", e.chPWFile), "--pg-password-file", wrongFile)...)
	fail("postgres untrusted certificate", pgServer, secure.CauseUnknownCA, nil,
		verifyArgs(e.pgDSN("localhost", e.otherCA), e.ca, "--clickhouse-password-file", e.chPWFile)...)
	if host := otherLoopbackName(); host != "" {
		fail("postgres hostname mismatch", host+":"+e.pgPort, secure.CauseHostname, nil,
			verifyArgs(e.pgDSN(host, e.ca), e.ca, "--clickhouse-password-file", e.chPWFile)...)
	} else {
		t.Log("no second name for 127.0.0.1 in this machine's resolver: PostgreSQL hostname mismatch not exercised")
	}
	// snapshot and check fail the same way (check: the full report, each
	// server's reachable item failed with its cause, exit 4).
	fail("snapshot clickhouse wrong password", e.ch, secure.CauseAuth, []string{"SLUICE_CLICKHOUSE_PASSWORD=" + wrong},
		append([]string{"snapshot", "--tables", "customers", "--pg-dsn", e.pgDSN("localhost", e.ca), "--pg-password-file", e.pgPWFile,
			"--clickhouse-url", chURL(dbSnap), "--clickhouse-tls-ca-file", e.ca}, policy...)...)
	if _, err := os.Stat("cmd_check.go"); err == nil {
		checkEnv := func(kafkaPW, pgPW, chPW, ca string) []string {
			return append(kafkaEnv("scram-sha-512"),
				"SLUICE_KAFKA_SASL_PASSWORD="+kafkaPW, "SLUICE_KAFKA_TLS_CA_FILE="+ca,
				"SLUICE_PG_DSN="+e.pgDSN("localhost", ca), "PGPASSWORD="+pgPW,
				"SLUICE_CLICKHOUSE_URL="+chURL(dbRepl), "SLUICE_CLICKHOUSE_PASSWORD="+chPW, "SLUICE_CLICKHOUSE_TLS_CA_FILE="+ca,
				"SLUICE_GROUP=sec-"+id, "SLUICE_TOPICS="+topic)
		}
		checkFail := func(name string, env []string, args []string, causes map[string]string) {
			t.Helper()
			r := must(runSluice(t, name, env, append([]string{"check", "--output", "json"}, args...)...), 4)
			var rep struct {
				Items []struct{ Component, Check, Status, Cause string }
			}
			if err := json.Unmarshal(r.stdout, &rep); err != nil {
				t.Errorf("%s: report: %v\n%s", name, err, r.stdout)
				return
			}
			got := map[string]string{}
			for _, it := range rep.Items {
				if it.Check == "reachable" && it.Status == "fail" {
					got[it.Component] = it.Cause
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(causes) {
				t.Errorf("%s: failed reachable items (component: cause) %v, want %v\n%s", name, got, causes, r.stdout)
			}
		}
		checkFail("check wrong passwords", checkEnv(wrong, wrong, wrong, e.ca), nil,
			map[string]string{"kafka": secure.CauseAuth, "postgres": secure.CauseAuth, "clickhouse": secure.CauseAuth})
		checkFail("check untrusted certificate", checkEnv(e.kafkaPW, e.pgPW, e.chPW, e.otherCA), nil,
			map[string]string{"kafka": secure.CauseUnknownCA, "postgres": secure.CauseUnknownCA, "clickhouse": secure.CauseUnknownCA})
		checkFail("check hostname mismatch", checkEnv(e.kafkaPW, e.pgPW, e.chPW, e.ca),
			[]string{"--kafka-tls-server-name", "wrong.example", "--clickhouse-tls-server-name", "wrong.example"},
			map[string]string{"kafka": secure.CauseHostname, "clickhouse": secure.CauseHostname})
	}

	assertNoLeak(t, results, e.pgPW, e.kafkaPW, e.chPW, wrong)
}

// otherLoopbackName is a name other than localhost that resolves to
// 127.0.0.1 here (the host name, usually), which the server certificate
// does not carry; "" when there is none.
func otherLoopbackName() string {
	names := []string{}
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	for _, n := range append(names, "vm", "runsc") {
		if n == "localhost" {
			continue
		}
		addrs, err := net.LookupHost(n)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a == "127.0.0.1" {
				return n
			}
		}
	}
	return ""
}
