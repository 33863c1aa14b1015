package chconn

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/secure"
)

func TestWithOptionsTLSAndPassword(t *testing.T) {
	raw := "clickhouse://sluice:old@ch.example:9440/analytics"
	u, err := WithOptions(raw, URLOptions{Password: "S3cr3t/&?x", TLS: secure.TLSFiles{CAFile: "/s/ca.pem", CertFile: "/s/c.crt", KeyFile: "/s/c.key", ServerName: "ch"}})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Password != "S3cr3t/&?x" || tg.User != "sluice" || !tg.Secure || tg.TLS.CAFile != "/s/ca.pem" ||
		tg.TLS.CertFile != "/s/c.crt" || tg.TLS.KeyFile != "/s/c.key" || tg.TLS.ServerName != "ch" || tg.Database != "analytics" {
		t.Fatalf("%+v", tg)
	}
	for _, s := range []string{Redact(u), tg.String()} {
		if strings.Contains(s, "S3cr3t") {
			t.Fatalf("password shown: %s", s)
		}
	}
	// A CA file alone implies TLS; nothing given leaves the URL as is.
	if tg, _ := ParseURL("clickhouse://h:9440/db?tls_ca_file=/ca.pem"); !tg.Secure {
		t.Fatal("tls_ca_file did not imply secure")
	}
	if u, _ := WithOptions(raw, URLOptions{}); u != raw {
		t.Fatalf("changed: %s", u)
	}
	if _, err := ParseURL("clickhouse://h/db?skip_verify=maybe"); err == nil {
		t.Fatal("skip_verify=maybe accepted")
	}
}
