//go:build chdb

package chdb

import (
	"fmt"
	"os"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chconntest"
)

// shared is the package's one chDB session (one per process).
var shared *Conn

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-chdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chDB:", err)
		os.Exit(1)
	}
	code := m.Run()
	shared.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestChdbRoundTrip(t *testing.T) {
	if !shared.Profile().DateTime64 {
		t.Fatalf("chDB profile %s lacks DateTime64", shared.Profile().Version)
	}
	chconntest.RoundTrip(t, shared, "sluice_contract_chdb")
}
