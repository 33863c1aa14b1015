//go:build integration

package native

import (
	"context"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn/chconntest"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

func TestNativeRoundTrip(t *testing.T) {
	testenv.RequireClickHouse(t)
	conn, err := Open(context.Background(), "clickhouse://default@"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.Profile().Version.Major; got != 18 {
		t.Logf("server version %s", conn.Profile().Version)
	}
	chconntest.RoundTrip(t, conn, "sluice_contract_native")
}
