//go:build integration && chdb

package snapshot

import (
	"fmt"
	"os"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chdb"
)

// chDB allows one session per process: opened once here.
var chdbConn *chdb.Conn

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-snapshot-chdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	chdbConn, err = chdb.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chDB:", err)
		os.Exit(1)
	}
	code := m.Run()
	chdbConn.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The shop's types on the ClickHouse 26.x engine: Date32 keeps the birth
// dates before 1970, DateTime64 the timestamps, Bool the booleans.
func TestShopTypesChdb(t *testing.T) {
	testShopTypes(t, chdbConn)
}
