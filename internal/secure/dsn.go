package secure

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces secrets in printed connection strings.
const Mask = "xxxxx"

// PostgresDSNWithPassword returns dsn (a libpq URL or key=value string, or
// "" for the PG* environment variables alone) with password set, replacing
// any password it had. For a URL the password goes into the query
// (password=...), which leaves the user name as given; for key=value it is
// appended (the last keyword wins).
func PostgresDSNWithPassword(dsn, password string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", &url.Error{Op: "parse", URL: RedactDSN(dsn), Err: errBadURL}
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		for k := range q {
			if strings.EqualFold(k, "password") {
				q.Del(k)
			}
		}
		// pgconn does not read '+' as a space in the query: escape spaces as %20.
		raw := strings.ReplaceAll(q.Encode(), "+", "%20")
		if raw != "" {
			raw += "&"
		}
		u.RawQuery = raw + "password=" + strings.ReplaceAll(url.QueryEscape(password), "+", "%20")
		return u.String(), nil
	}
	esc := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password)
	if strings.TrimSpace(dsn) == "" {
		return "password='" + esc + "'", nil
	}
	return dsn + " password='" + esc + "'", nil
}

type badURL struct{}

func (badURL) Error() string { return "not a valid URL" }

var errBadURL = badURL{}

// kvPassword matches password=... in a libpq key=value DSN: a quoted value
// (with \' escapes) or a bare word.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// RedactDSN masks the password of a connection string for printing: a URL
// (postgres://, clickhouse://, http://) with a password in its user info or
// query, or a libpq key=value DSN. A URL that does not parse is not printed.
func RedactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if !strings.Contains(dsn, "://") {
		return kvPassword.ReplaceAllString(dsn, "${1}"+Mask)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
			q.Set(k, Mask)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
