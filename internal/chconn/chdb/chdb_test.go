//go:build chdb

package chdb

import (
	"os"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chconntest"
)

// shared is the package's one chDB session (one per process).
var shared *Conn

func TestMain(m *testing.M) {
	os.Exit(TestMainFor(m, "sluice-chdb-", func(c *Conn) { shared = c }))
}

func TestChdbRoundTrip(t *testing.T) {
	if !shared.Profile().DateTime64 {
		t.Fatalf("chDB profile %s lacks DateTime64", shared.Profile().Version)
	}
	chconntest.RoundTrip(t, shared, "sluice_contract_chdb")
}
