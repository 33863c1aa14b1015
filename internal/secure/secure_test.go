package secure

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	if err := os.WriteFile(p, []byte("S3cr3t x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSecretFile("f", p)
	if err != nil || got != "S3cr3t x" {
		t.Fatalf("got %q, %v", got, err)
	}
	os.WriteFile(p, []byte("\n"), 0o600)
	if _, err := ReadSecretFile("f", p); err == nil {
		t.Fatal("empty file accepted")
	}
	if _, err := ReadSecretFile("f", filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "--f ") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestPostgresDSNWithPassword(t *testing.T) {
	const pw = `S3cr3t'\ p@ss/?&=`
	for _, dsn := range []string{
		"postgres://sluice:old@127.0.0.1:5432/db?sslmode=verify-full",
		"postgres://sluice@127.0.0.1:5432/db?password=old",
		"host=127.0.0.1 port=5432 user=sluice password=old dbname=db",
		"host=127.0.0.1 user=sluice dbname=db",
	} {
		got, err := PostgresDSNWithPassword(dsn, pw)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatalf("%s: parse %s: %v", dsn, RedactDSN(got), err)
		}
		if cfg.Password != pw || cfg.User != "sluice" {
			t.Fatalf("%s: password %q user %q", dsn, cfg.Password, cfg.User)
		}
		if r := RedactDSN(got); strings.Contains(r, "S3cr3t") || strings.Contains(r, "old") {
			t.Fatalf("%s: redacted %s", dsn, r)
		}
	}
}

func TestKafkaBuild(t *testing.T) {
	if _, err := (Kafka{SASLMechanism: "scram-sha-512", Username: "u"}).Build(); err == nil {
		t.Fatal("no password accepted")
	}
	if _, err := (Kafka{SASLMechanism: "gssapi", Username: "u", Password: "p"}).Build(); err == nil {
		t.Fatal("gssapi accepted")
	}
	for _, m := range []string{"plain", "SCRAM-SHA-256", "scram-sha-512"} {
		s, err := (Kafka{TLS: true, SASLMechanism: m, Username: "u", Password: "S3cr3t"}).Build()
		if err != nil || s.SASL == nil || s.TLS == nil {
			t.Fatalf("%s: %+v %v", m, s, err)
		}
		if !strings.EqualFold(s.SASL.Name(), m) {
			t.Fatalf("%s: mechanism %s", m, s.SASL.Name())
		}
	}
	if _, err := (Kafka{TLSFiles: TLSFiles{CAFile: "/nonexistent"}}).Build(); err == nil {
		t.Fatal("missing CA accepted")
	}
	if d := (Kafka{TLS: true, SASLMechanism: "plain", Username: "u", Password: "S3cr3t"}).Describe(); strings.Contains(d, "S3cr3t") || !strings.HasPrefix(d, "SASL_SSL") {
		t.Fatalf("describe %q", d)
	}
}

func TestUnavailable(t *testing.T) {
	err := Unavailable("Kafka", "b:9093", kafka.SASLAuthenticationFailed)
	if exitcode.Of(err) != exitcode.Unavailable || !strings.Contains(err.Error(), "Kafka b:9093: authentication failed") {
		t.Fatalf("%v (code %d)", err, exitcode.Of(err))
	}
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Cause != CauseAuth {
		t.Fatalf("%#v", err)
	}
}
