package chconn

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/sluice-cdc/sluice/internal/secure"
)

// Target is a parsed clickhouse:// URL.
type Target struct {
	Addr        string // host:port of the native protocol
	Database    string
	User        string
	Password    string
	Secure      bool
	DialTimeout time.Duration
	// TLS are the client TLS files and server name (query parameters
	// tls_ca_file, tls_cert_file, tls_key_file, tls_server_name,
	// skip_verify); any of them implies Secure.
	TLS secure.TLSFiles
}

// TLS query parameters of a clickhouse:// URL.
const (
	ParamTLSCAFile     = "tls_ca_file"
	ParamTLSCertFile   = "tls_cert_file"
	ParamTLSKeyFile    = "tls_key_file"
	ParamTLSServerName = "tls_server_name"
	ParamSkipVerify    = "skip_verify"
)

// ParseURL reads clickhouse://user:pass@host:port/db?secure=true&dial_timeout=5s
// (plus the TLS parameters above). Errors never include the password.
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("chconn: bad ClickHouse URL: %v", redactErr(err, raw))
	}
	if u.Scheme != "clickhouse" && u.Scheme != "tcp" {
		return Target{}, fmt.Errorf("chconn: ClickHouse URL %s: scheme must be clickhouse://", Redact(raw))
	}
	t := Target{Addr: u.Host, Database: "default", User: "default", DialTimeout: 5 * time.Second}
	if u.Port() == "" {
		t.Addr = u.Hostname() + ":9000"
	}
	if db := u.Path; len(db) > 1 {
		t.Database = db[1:]
	}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	q := u.Query()
	if s := q.Get("secure"); s != "" {
		if t.Secure, err = strconv.ParseBool(s); err != nil {
			return Target{}, fmt.Errorf("chconn: ClickHouse URL %s: secure=%q is not a boolean", Redact(raw), s)
		}
	}
	t.TLS.CAFile = q.Get(ParamTLSCAFile)
	t.TLS.CertFile = q.Get(ParamTLSCertFile)
	t.TLS.KeyFile = q.Get(ParamTLSKeyFile)
	t.TLS.ServerName = q.Get(ParamTLSServerName)
	if s := q.Get(ParamSkipVerify); s != "" {
		if t.TLS.InsecureSkipVerify, err = strconv.ParseBool(s); err != nil {
			return Target{}, fmt.Errorf("chconn: ClickHouse URL %s: skip_verify=%q is not a boolean", Redact(raw), s)
		}
	}
	if t.TLS.Any() {
		t.Secure = true
	}
	if s := q.Get("dial_timeout"); s != "" {
		if t.DialTimeout, err = time.ParseDuration(s); err != nil {
			return Target{}, fmt.Errorf("chconn: ClickHouse URL %s: dial_timeout=%q: %v", Redact(raw), s, err)
		}
	}
	return t, nil
}

// String prints the target without its password.
func (t Target) String() string {
	return fmt.Sprintf("clickhouse://%s@%s/%s?secure=%t", t.User, t.Addr, t.Database, t.Secure)
}

// URLOptions are settings given outside the URL (flags, files) that
// WithOptions folds into it, so that every consumer of the URL sees them.
type URLOptions struct {
	// Password, when set, replaces the URL's password (--clickhouse-password-file).
	Password string
	// TLS files; any of them turns secure on.
	TLS secure.TLSFiles
}

// WithOptions returns raw with o folded in. Errors never include the password.
func WithOptions(raw string, o URLOptions) (string, error) {
	if o.Password == "" && !o.TLS.Any() {
		return raw, nil
	}
	if _, err := ParseURL(raw); err != nil {
		return "", err
	}
	u, _ := url.Parse(raw)
	if o.Password != "" {
		user := "default"
		if u.User != nil && u.User.Username() != "" {
			user = u.User.Username()
		}
		u.User = url.UserPassword(user, o.Password)
	}
	q := u.Query()
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set(ParamTLSCAFile, o.TLS.CAFile)
	set(ParamTLSCertFile, o.TLS.CertFile)
	set(ParamTLSKeyFile, o.TLS.KeyFile)
	set(ParamTLSServerName, o.TLS.ServerName)
	if o.TLS.InsecureSkipVerify {
		q.Set(ParamSkipVerify, "true")
	}
	if o.TLS.Any() {
		q.Set("secure", "true")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Redact hides the password of a URL for logs and errors.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

func redactErr(err error, raw string) string {
	if e, ok := err.(*url.Error); ok {
		e.URL = Redact(raw)
		return e.Error()
	}
	return "unparsable URL"
}
