//go:build integration && chdb

package verify

import (
	"fmt"
	"os"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chdb"
)

// chDB allows one session per process: opened once for the package.
var chdbConn *chdb.Conn

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-verify-chdb-")
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

// TestContractChecksumChdb is the same check on the ClickHouse 26.x engine:
// the checksums must equal testdata/contract_checksum.txt, which the
// 18.16 test checks too.
func TestContractChecksumChdb(t *testing.T) {
	pg := connectPG(t)
	contractChecksum(t, pg, chdbConn)
}
