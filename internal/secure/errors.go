package secure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/segmentio/kafka-go"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// Cause classes of a failed connection, the first words of the message.
const (
	CauseAuth          = "authentication failed"
	CauseAuthorization = "not authorized"
	CauseUnknownCA     = "TLS: certificate signed by unknown authority"
	CauseHostname      = "TLS: certificate name mismatch"
	CauseCertInvalid   = "TLS: certificate not valid"
	CauseNotTLS        = "TLS handshake failed: the server did not answer in TLS"
	CauseTLS           = "TLS handshake failed"
	CauseClosed        = "connection closed by the server (does it expect TLS?)"
	CauseRefused       = "connection refused"
	CauseTimeout       = "timed out"
	CauseDNS           = "host not found"
	CauseUnreachable   = "unreachable"
)

// ConnError is a connection failure: which server, the cause class and the
// underlying error. It is marked with exit code 4 (exitcode.Unavailable) by
// Unavailable.
type ConnError struct {
	Service string // PostgreSQL, Kafka, ClickHouse
	Server  string // host:port, or a broker list
	Cause   string // one of the Cause constants
	Err     error
}

func (e *ConnError) Error() string {
	detail := ""
	if e.Err != nil {
		detail = ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s %s: %s%s", e.Service, e.Server, e.Cause, detail)
}

func (e *ConnError) Unwrap() error { return e.Err }

// Classify returns the cause class of a connection error ("" when it is
// not recognized as one).
func Classify(err error) string {
	if err == nil {
		return ""
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		record     tls.RecordHeaderError
		alert      tls.AlertError
		kerr       kafka.Error
		chErr      *proto.Exception
		pgErr      *pgconn.PgError
		dnsErr     *net.DNSError
		opErr      *net.OpError
		verifyErr  *tls.CertificateVerificationError
		unknownCAp *x509.UnknownAuthorityError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &unknownCAp):
		return CauseUnknownCA
	case errors.As(err, &hostname):
		return CauseHostname
	case errors.As(err, &invalid):
		return CauseCertInvalid
	case errors.As(err, &verifyErr):
		return CauseTLS
	case errors.As(err, &record):
		return CauseNotTLS
	case errors.As(err, &kerr):
		switch kerr {
		case kafka.SASLAuthenticationFailed, kafka.UnsupportedSASLMechanism, kafka.IllegalSASLState:
			return CauseAuth
		case kafka.TopicAuthorizationFailed, kafka.GroupAuthorizationFailed, kafka.ClusterAuthorizationFailed,
			kafka.TransactionalIDAuthorizationFailed:
			return CauseAuthorization
		}
	case errors.As(err, &chErr):
		switch chErr.Code {
		case 192, 193, 194, 516: // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED
			return CauseAuth
		case 497: // ACCESS_DENIED
			return CauseAuthorization
		}
		return ""
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "28P01", "28000": // invalid_password, invalid_authorization_specification (pg_hba reject)
			return CauseAuth
		case "42501":
			return CauseAuthorization
		}
		return ""
	case errors.As(err, &alert), strings.Contains(err.Error(), "remote error: tls: "):
		// The server's TLS alert (crypto/tls's alert type is unexported):
		// e.g. "certificate required", "bad certificate", "unknown ca".
		return CauseTLS
	case errors.As(err, &dnsErr):
		return CauseDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return CauseUnreachable
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return CauseTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return CauseClosed
	case errors.As(err, &opErr):
		return CauseUnreachable
	}
	// Some clients flatten errors into text (pgconn wraps TLS failures
	// with %v in places); fall back to the well-known messages.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "certificate signed by unknown authority"):
		return CauseUnknownCA
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "certificate is not valid for any names"):
		return CauseHostname
	case strings.Contains(msg, "password authentication failed"), strings.Contains(msg, "SASL Authentication Failed"),
		strings.Contains(msg, "Authentication failed"), strings.Contains(msg, "Wrong password"):
		return CauseAuth
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return CauseNotTLS
	case strings.Contains(msg, "server refused TLS connection"):
		return CauseTLS
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Unavailable wraps a failure to connect to or authenticate with server:
// the message names the service, the server and the cause class, and the
// error carries exit code 4. A nil err stays nil; an error that already
// is a ConnError is only marked.
func Unavailable(service, server string, err error) error {
	if err == nil {
		return nil
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return exitcode.UnavailableError(err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	cause := Classify(err)
	if cause == "" {
		cause = "cannot connect"
	}
	return exitcode.UnavailableError(&ConnError{Service: service, Server: server, Cause: cause, Err: err})
}
