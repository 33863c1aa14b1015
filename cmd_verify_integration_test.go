//go:build integration

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/exitcode"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// TestVerifyCLI runs sluice verify end to end: ddl apply creates the
// ClickHouse table, the same rows go to both sides, verify exits 0; after
// one row changes in ClickHouse it exits 3 and names it in every format.
func TestVerifyCLI(t *testing.T) {
	testenv.RequirePostgres(t)
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	name := "verifytest_cli_" + hex.EncodeToString(b)
	pg, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	if _, err := pg.Exec(ctx, "CREATE SCHEMA "+name+`;
		CREATE TABLE `+name+`.items (id bigint PRIMARY KEY, label text, price numeric(10,2) NOT NULL, created_at timestamptz NOT NULL);
		INSERT INTO `+name+`.items SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE 'item ' || g END, g / 4.0,
		  timestamptz '2025-01-01 00:00:00+00' + g * interval '1 hour' FROM generate_series(1, 5000) g`); err != nil {
		t.Fatal(err)
	}
	defer pg.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
	ch, err := native.Open(ctx, "clickhouse://default@"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
	chURL := "clickhouse://default@" + testenv.ClickHouseAddr() + "/" + name
	common := []string{"--pg-dsn", testenv.PostgresDSN(), "--clickhouse-url", chURL, "--schema", name}
	if code, _, stderr := runCLI(append([]string{"ddl", "apply"}, common...)...); code != 0 {
		t.Fatalf("ddl apply: %d %s", code, stderr)
	}
	if ch.Profile().DateTime64 {
		t.Fatalf("this test writes the legacy (18.16) forms; server is %s", ch.Profile().Version)
	}
	if err := ch.Exec(ctx, "INSERT INTO "+name+".items (id, label, price, created_at, _version, _is_deleted) "+
		"SELECT toInt64(number), if(number % 5 = 0, NULL, concat('item ', toString(number))), toDecimal64(number * 25, 2) / 100, "+
		"toInt64(1735689600000000 + number * 3600000000), 1, 0 FROM numbers(1, 5000)"); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(append([]string{"verify"}, common...)...)
	if code != exitcode.OK || !strings.Contains(out, "verdict: equal") {
		t.Fatalf("equal tables: exit %d\n%s%s", code, out, stderr)
	}

	if err := ch.Exec(ctx, "INSERT INTO "+name+".items (id, label, price, created_at, _version, _is_deleted) "+
		"SELECT id, 'tampered', price, created_at, 2, 0 FROM "+name+".items WHERE id = 4321"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(append([]string{"verify"}, common...)...)
	if code != exitcode.Findings || !strings.Contains(out, "key (4321): values_differ [label]") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(append([]string{"verify", "--output", "json"}, common...)...)
	var rep struct {
		Verdict string
		Tables  []struct {
			Diffs []struct {
				Key     []string
				Kind    string
				Columns []string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitcode.Findings || rep.Verdict != "differs" ||
		len(rep.Tables) != 1 || len(rep.Tables[0].Diffs) != 1 || rep.Tables[0].Diffs[0].Key[0] != "4321" {
		t.Errorf("json: exit %d, %v\n%s", code, err, out)
	}
	code, out, _ = runCLI(append([]string{"verify", "--output", "junit"}, common...)...)
	if code != exitcode.Findings || !strings.Contains(out, `<failure message="1 differing key(s)`) {
		t.Errorf("junit: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(append([]string{"verify", "--per-month"}, common...)...)
	if code != exitcode.Findings || !strings.Contains(out, "EQUAL    items@2025-01") || !strings.Contains(out, "DIFFERS  items@2025-06") {
		t.Errorf("per-month: exit %d\n%s", code, out)
	}
}
