// Package testenv tells integration tests where the local stack's services
// are. The defaults match scripts/stack; every value can be overridden by the
// same environment variables the stack script reads. A missing service fails
// the test: integration tests never skip.
package testenv

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// PostgresDSN is the libpq URL of the shop database as superuser.
func PostgresDSN() string {
	if v := os.Getenv("SLUICE_TEST_PG_DSN"); v != "" {
		return v
	}
	return fmt.Sprintf("postgres://sluice:sluice@127.0.0.1:%s/ecommerce?sslmode=disable", env("SLUICE_PG_PORT", "54329"))
}

// KafkaBroker is the PLAINTEXT bootstrap address.
func KafkaBroker() string { return "127.0.0.1:" + env("SLUICE_KAFKA_PORT", "19092") }

// ConnectURL is the Kafka Connect REST endpoint.
func ConnectURL() string { return "http://127.0.0.1:" + env("SLUICE_CONNECT_PORT", "18083") }

// ClickHouseAddr is the native-protocol address of ClickHouse 18.16.
func ClickHouseAddr() string { return "127.0.0.1:" + env("SLUICE_CH_TCP_PORT", "19000") }

// ChdbLibPath is where scripts/stack installs libchdb.so (the ClickHouse 26.x engine).
func ChdbLibPath() string {
	if v := os.Getenv("CHDB_LIB_PATH"); v != "" {
		return v
	}
	home, _ := os.UserHomeDir()
	cache := env("SLUICE_CACHE_DIR", home+"/.cache/sluice")
	return cache + "/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so"
}

// RequireTCP fails the test at once when nothing listens on addr.
func RequireTCP(t testing.TB, service, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("%s is not reachable at %s (start it with scripts/stack up): %v", service, addr, err)
	}
	c.Close()
}

// RequirePostgres, RequireKafka, RequireConnect and RequireClickHouse fail
// the test when the service is down.
func RequirePostgres(t testing.TB) {
	RequireTCP(t, "PostgreSQL", "127.0.0.1:"+env("SLUICE_PG_PORT", "54329"))
}
func RequireKafka(t testing.TB) { RequireTCP(t, "Kafka", KafkaBroker()) }
func RequireConnect(t testing.TB) {
	RequireTCP(t, "Kafka Connect", "127.0.0.1:"+env("SLUICE_CONNECT_PORT", "18083"))
}
func RequireClickHouse(t testing.TB) { RequireTCP(t, "ClickHouse", ClickHouseAddr()) }

// RequireChdb fails the test when libchdb.so is not installed.
func RequireChdb(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(ChdbLibPath()); err != nil {
		t.Fatalf("libchdb.so not found at %s (scripts/stack up installs it): %v", ChdbLibPath(), err)
	}
}
