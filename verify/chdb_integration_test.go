//go:build integration && chdb

package verify

import (
	"os"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chdb"
)

// chDB allows one session per process: opened once for the package.
var chdbConn *chdb.Conn

func TestMain(m *testing.M) {
	os.Exit(chdb.TestMainFor(m, "sluice-verify-chdb-", func(c *chdb.Conn) { chdbConn = c }))
}

// TestContractChecksumChdb is the same check on the ClickHouse 26.x engine:
// the checksums must equal testdata/contract_checksum.txt, which the
// 18.16 test checks too.
func TestContractChecksumChdb(t *testing.T) {
	pg := connectPG(t)
	contractChecksum(t, pg, chdbConn)
}

func TestSwapAndNullDetectedChdb(t *testing.T) {
	swapAndNull(t, connectPG(t), chdbConn)
}
