// Package secure builds sluice's client-side TLS and SASL settings and keeps
// secrets out of everything sluice prints.
//
// Secrets come from environment variables, flags or files (Kubernetes Secret
// mounts); ReadSecretFile reads the latter. TLSFiles turns CA, client
// certificate and key files into a *tls.Config; Kafka adds SASL (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512) and yields a kafka-go Dialer and Transport
// for the consumer, the group coordinator and the dead-letter producer alike.
// Unavailable wraps a connection failure so that its message names the
// server and the cause class, and marks it with exit code 4.
package secure

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// ReadSecretFile reads a secret from path: the whole file less one trailing
// newline (\n or \r\n), as Kubernetes mounts a Secret key. Errors name the
// flag and the file, never its content; an empty file is an error.
func ReadSecretFile(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("--%s %s: %v", flag, path, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("--%s %s: the file is empty", flag, path)
	}
	return s, nil
}

// TLSFiles are client TLS settings given as files.
type TLSFiles struct {
	// CAFile holds PEM certificates trusted to sign the server's
	// certificate; empty: the system roots.
	CAFile string
	// CertFile and KeyFile: the client certificate (mutual TLS), PEM.
	CertFile, KeyFile string
	// ServerName overrides the name the server's certificate must carry
	// (default: the host dialed).
	ServerName string
	// InsecureSkipVerify accepts any server certificate. Only for tests;
	// callers warn when it is set.
	InsecureSkipVerify bool
}

// Any reports whether any TLS setting is given (which implies TLS).
func (f TLSFiles) Any() bool {
	return f.CAFile != "" || f.CertFile != "" || f.KeyFile != "" || f.ServerName != "" || f.InsecureSkipVerify
}

// Config builds the tls.Config (TLS 1.2 or later). prefix names the flags
// in errors, e.g. "kafka-tls" for --kafka-tls-ca-file.
func (f TLSFiles) Config(prefix string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify} //nolint:gosec // an explicit, warned opt-in
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--%s-ca-file: %w", prefix, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--%s-ca-file %s: no PEM certificate in the file", prefix, f.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, fmt.Errorf("--%s-cert-file and --%s-key-file go together", prefix, prefix)
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			// The error text of LoadX509KeyPair never includes key bytes.
			return nil, fmt.Errorf("--%s-cert-file %s / --%s-key-file %s: %v", prefix, f.CertFile, prefix, f.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// SASL mechanism names as given to --kafka-sasl-mechanism.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// Kafka are the client security settings of every Kafka connection.
type Kafka struct {
	// TLS turns TLS on; any TLSFiles setting implies it.
	TLS bool
	TLSFiles
	// SASLMechanism is "", plain, scram-sha-256 or scram-sha-512.
	SASLMechanism string
	Username      string
	Password      string
}

// KafkaSecurity is what the Kafka clients need: nil fields mean plaintext,
// no authentication.
type KafkaSecurity struct {
	TLS  *tls.Config
	SASL sasl.Mechanism
}

// Build validates the settings and builds the TLS config and SASL mechanism.
func (k Kafka) Build() (KafkaSecurity, error) {
	var s KafkaSecurity
	if k.TLS || k.TLSFiles.Any() {
		cfg, err := k.TLSFiles.Config("kafka-tls")
		if err != nil {
			return s, err
		}
		s.TLS = cfg
	}
	mech := strings.ToLower(strings.TrimSpace(k.SASLMechanism))
	if mech == "" {
		if k.Username != "" || k.Password != "" {
			return s, errors.New("--kafka-sasl-username/password given without --kafka-sasl-mechanism (plain, scram-sha-256 or scram-sha-512)")
		}
		return s, nil
	}
	if k.Username == "" || k.Password == "" {
		return s, fmt.Errorf("--kafka-sasl-mechanism %s needs --kafka-sasl-username and a password (--kafka-sasl-password, --kafka-sasl-password-file or SLUICE_KAFKA_SASL_PASSWORD)", mech)
	}
	switch mech {
	case SASLPlain:
		s.SASL = plain.Mechanism{Username: k.Username, Password: k.Password}
	case SASLScramSHA256, SASLScramSHA512:
		algo := scram.SHA256
		if mech == SASLScramSHA512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, k.Username, k.Password)
		if err != nil {
			// xdg-go/scram's errors (SASLprep) never include the password.
			return s, fmt.Errorf("--kafka-sasl-mechanism %s: %v", mech, err)
		}
		s.SASL = m
	default:
		return s, fmt.Errorf("--kafka-sasl-mechanism %q: want plain, scram-sha-256 or scram-sha-512", k.SASLMechanism)
	}
	return s, nil
}

// Dialer is a kafka-go Dialer (consumer group coordinator connections) with
// these settings.
func (s KafkaSecurity) Dialer(timeout time.Duration, clientID string) *kafka.Dialer {
	return &kafka.Dialer{Timeout: timeout, DualStack: true, ClientID: clientID, TLS: s.TLS, SASLMechanism: s.SASL}
}

// Transport is a kafka-go Transport (Client and Writer requests) with these
// settings. The caller owns it (CloseIdleConnections).
func (s KafkaSecurity) Transport(timeout time.Duration, clientID string) *kafka.Transport {
	return &kafka.Transport{DialTimeout: timeout, ClientID: clientID, TLS: s.TLS, SASL: s.SASL}
}

// Describe prints the settings without secrets, for logs: e.g.
// "SASL_SSL scram-sha-512 user=sluice".
func (k Kafka) Describe() string {
	proto := "PLAINTEXT"
	tlsOn := k.TLS || k.TLSFiles.Any()
	switch {
	case tlsOn && k.SASLMechanism != "":
		proto = "SASL_SSL"
	case tlsOn:
		proto = "SSL"
	case k.SASLMechanism != "":
		proto = "SASL_PLAINTEXT"
	}
	if k.SASLMechanism != "" {
		return fmt.Sprintf("%s %s user=%s", proto, strings.ToLower(k.SASLMechanism), k.Username)
	}
	return proto
}
