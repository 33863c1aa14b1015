package secure

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTP are the client settings of an HTTP REST endpoint (Kafka Connect):
// TLS files for an https URL and HTTP basic authentication.
type HTTP struct {
	TLSFiles
	// Username and Password: basic authentication; they win over the
	// URL's user info.
	Username, Password string
}

// HTTPSecurity is what an http.Client needs: nil TLS means Go's defaults
// (an https URL is still verified against the system roots); an empty
// Username means no basic authentication beyond the URL's own.
type HTTPSecurity struct {
	TLS                *tls.Config
	Username, Password string
}

// Build validates the settings against the endpoint's URL and builds the
// TLS config. prefix names the flags in errors, e.g. "connect" for
// --connect-tls-ca-file and --connect-password.
func (h HTTP) Build(rawURL, prefix string) (HTTPSecurity, error) {
	var s HTTPSecurity
	u, err := url.Parse(rawURL)
	if err != nil {
		return s, &url.Error{Op: "parse", URL: RedactDSN(rawURL), Err: errBadURL}
	}
	if h.TLSFiles.Any() {
		if !strings.EqualFold(u.Scheme, "https") {
			return s, errors.New("--" + prefix + "-tls-* flags need an https:// URL, got " + RedactDSN(rawURL))
		}
		if s.TLS, err = h.TLSFiles.Config(prefix + "-tls"); err != nil {
			return s, err
		}
	}
	if h.Password != "" && h.Username == "" && u.User.Username() == "" {
		return s, errors.New("--" + prefix + "-password needs --" + prefix + "-username (or a user in the URL)")
	}
	s.Username, s.Password = h.Username, h.Password
	if s.Username == "" && s.Password != "" {
		s.Username = u.User.Username()
	}
	if pw, ok := u.User.Password(); ok && s.Username != "" && s.Password == "" {
		s.Password = pw // a user name by flag, the password in the URL
	}
	return s, nil
}

// Client is an http.Client with these settings and timeout.
func (s HTTPSecurity) Client(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.TLS != nil {
		tr.TLSClientConfig = s.TLS
	}
	var rt http.RoundTripper = tr
	if s.Username != "" {
		rt = basicAuth{user: s.Username, password: s.Password, next: tr}
	}
	return &http.Client{Timeout: timeout, Transport: rt}
}

// basicAuth sets the Authorization header of every request, replacing the
// one http.Client derives from the URL's user info.
type basicAuth struct {
	user, password string
	next           http.RoundTripper
}

func (b basicAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.SetBasicAuth(b.user, b.password)
	return b.next.RoundTrip(req)
}
