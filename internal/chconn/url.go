package chconn

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Target is a parsed clickhouse:// URL.
type Target struct {
	Addr        string // host:port of the native protocol
	Database    string
	User        string
	Password    string
	Secure      bool
	DialTimeout time.Duration
}

// ParseURL reads clickhouse://user:pass@host:port/db?secure=true&dial_timeout=5s.
// Errors never include the password.
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
