package health

import (
	"net/url"
	"regexp"
	"strings"
)

// mask replaces every password in printed connection strings.
const mask = "xxxxx"

// kvPassword matches password=... in a libpq key=value DSN: a quoted value
// (with \' escapes) or a bare word.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// RedactDSN masks the password of a connection string for printing: a URL
// (postgres://, clickhouse://, http://) or a libpq key=value DSN. A string
// that does not parse is not printed at all.
func RedactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if !strings.Contains(dsn, "://") {
		return kvPassword.ReplaceAllString(dsn, "${1}"+mask)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), mask)
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, mask)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
