//go:build integration && chdb

package snapshot

import (
	"os"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chdb"
)

// chDB allows one session per process: opened once here.
var chdbConn *chdb.Conn

func TestMain(m *testing.M) {
	os.Exit(chdb.TestMainFor(m, "sluice-snapshot-chdb-", func(c *chdb.Conn) { chdbConn = c }))
}

// The shop's types on the ClickHouse 26.x engine: Date32 keeps the birth
// dates before 1970, DateTime64 the timestamps, Bool the booleans.
func TestShopTypesChdb(t *testing.T) {
	testShopTypes(t, chdbConn)
}
