package secure

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert is a certificate and key, in memory and as PEM files.
type testCert struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	certFile string
	keyFile  string
}

// newTestCert issues a certificate for localhost and 127.0.0.1, signed by
// parent (nil: self-signed, a CA).
func newTestCert(t *testing.T, dir, name string, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCert{key: key, certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	if c.cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, c.certFile, "CERTIFICATE", der)
	writePEM(t, c.keyFile, "EC PRIVATE KEY", kb)
	return c
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newMTLSServer is an https server that wants a client certificate signed
// by ca and basic authentication admin / pw.
func newMTLSServer(t *testing.T, ca, server *testCert, pw string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != pw {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"version":"4.1.1"}`))
	}))
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	pair, err := tls.LoadX509KeyPair(server.certFile, server.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPBuild(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", nil)
	for _, c := range []struct {
		url  string
		h    HTTP
		want string
	}{
		{"http://h:8083", HTTP{TLSFiles: TLSFiles{CAFile: ca.certFile}}, "--connect-tls-* flags need an https:// URL"},
		{"https://h:8083", HTTP{Password: "S3cr3t"}, "--connect-password needs --connect-username"},
		{"https://h:8083", HTTP{TLSFiles: TLSFiles{CAFile: filepath.Join(dir, "none")}}, "--connect-tls-ca-file"},
		{"https://h:8083", HTTP{TLSFiles: TLSFiles{CertFile: ca.certFile}}, "go together"},
	} {
		_, err := c.h.Build(c.url, "connect")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "S3cr3t") {
			t.Errorf("%s %+v: %v, want %q", c.url, c.h, err, c.want)
		}
	}
	// A user in the URL, the password by flag; a user by flag, the
	// password in the URL.
	s, err := HTTP{Password: "p"}.Build("https://admin@h:8083", "connect")
	if err != nil || s.Username != "admin" || s.Password != "p" {
		t.Errorf("user from the URL: %+v %v", s, err)
	}
	s, err = HTTP{Username: "admin"}.Build("https://x:p@h:8083", "connect")
	if err != nil || s.Username != "admin" || s.Password != "p" {
		t.Errorf("password from the URL: %+v %v", s, err)
	}
}

// An https Kafka Connect with mutual TLS and basic authentication: the
// right settings get an answer; each wrong one fails with its cause class.
func TestHTTPClient(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", nil)
	other := newTestCert(t, dir, "other-ca", nil)
	server := newTestCert(t, dir, "server", ca)
	client := newTestCert(t, dir, "client", ca)
	const pw = "S3cr3t-connect"
	srv := newMTLSServer(t, ca, server, pw)
	ok := HTTP{TLSFiles: TLSFiles{CAFile: ca.certFile, CertFile: client.certFile, KeyFile: client.keyFile}, Username: "admin", Password: pw}

	get := func(h HTTP, url string) (*http.Response, error) {
		t.Helper()
		s, err := h.Build(url, "connect")
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		resp, err := s.Client(5 * time.Second).Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	if resp, err := get(ok, srv.URL); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("right settings: %v %v", resp, err)
	}
	// The flag's password wins over the URL's.
	if resp, err := get(ok, strings.Replace(srv.URL, "https://", "https://admin:wrong@", 1)); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("URL user info: %v %v", resp, err)
	}
	bad := ok
	bad.Password = "wrong"
	if resp, err := get(bad, srv.URL); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %v %v, want HTTP 401", resp, err)
	}
	for name, c := range map[string]struct {
		h     func(HTTP) HTTP
		cause string
	}{
		"untrusted CA":      {func(h HTTP) HTTP { h.CAFile = other.certFile; return h }, CauseUnknownCA},
		"name mismatch":     {func(h HTTP) HTTP { h.ServerName = "wrong.example"; return h }, CauseHostname},
		"no client cert":    {func(h HTTP) HTTP { h.CertFile, h.KeyFile = "", ""; return h }, CauseTLS},
		"system roots only": {func(h HTTP) HTTP { h.CAFile = ""; return h }, CauseUnknownCA},
	} {
		_, err := get(c.h(ok), srv.URL)
		if got := Classify(err); got != c.cause {
			t.Errorf("%s: %v: cause %q, want %q", name, err, got, c.cause)
		}
	}
}
