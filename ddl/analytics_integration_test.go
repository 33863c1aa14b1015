//go:build integration

package ddl

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// TestAnalyticsExactNative is the analytics acceptance test on ClickHouse
// 18.16, in a database of its own.
func TestAnalyticsExactNative(t *testing.T) {
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	admin, err := native.Open(ctx, "clickhouse://default@"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	db := fmt.Sprintf("sluice_analytics_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if err := admin.Exec(ctx, "CREATE DATABASE "+q(db)); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+q(db))
	conn, err := native.Open(ctx, "clickhouse://default@"+testenv.ClickHouseAddr()+"/"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	analyticsScenario(t, conn)
}
