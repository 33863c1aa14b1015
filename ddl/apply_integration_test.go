//go:build integration

package ddl

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// sourceSQL is a schema with the shop's column types and a hostile table.
const sourceSQL = `
DROP SCHEMA IF EXISTS sluice_ddl_test CASCADE;
CREATE SCHEMA sluice_ddl_test;
SET search_path = sluice_ddl_test;
CREATE TYPE order_status AS ENUM ('pending', 'confirmed', 'shipped');
CREATE TABLE ddltest_orders (
  order_id bigserial PRIMARY KEY, order_uuid uuid NOT NULL, customer_id bigint NOT NULL,
  status order_status NOT NULL DEFAULT 'pending', order_date timestamptz NOT NULL,
  total_amount numeric(12,2) NOT NULL, ratio numeric, fee money, currency char(3) NOT NULL,
  pickup_at timestamp, notes text, tags text[], prefs jsonb, raw json, blob bytea, day date,
  at_time time, dur interval, ip inet, flag boolean NOT NULL, qty smallint, n integer,
  r real, d double precision, code varchar(20), statuses order_status[], amounts numeric(12,2)[],
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE "we""ird ` + "`" + `tab; --" ("select" int PRIMARY KEY, "a ""b"" ` + "`c`" + `" text, created_at timestamptz NOT NULL);
`

func TestApplyNative(t *testing.T) {
	testenv.RequirePostgres(t)
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	if _, err := pg.Exec(ctx, sourceSQL); err != nil {
		t.Fatal(err)
	}
	defer pg.Exec(ctx, "DROP SCHEMA sluice_ddl_test CASCADE")
	conn, err := native.Open(ctx, "clickhouse://default@"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	tables, err := ReadCatalog(ctx, pg, "sluice_ddl_test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 {
		t.Fatalf("read %d tables", len(tables))
	}
	orders := tables[0]
	if c, _ := orders.Column("total_amount"); c.Precision != 12 || c.Scale != 2 {
		t.Errorf("numeric typmod: %+v", c)
	}
	if c, _ := orders.Column("statuses"); !c.Array || len(c.EnumLabels) != 3 {
		t.Errorf("enum array: %+v", c)
	}
	if c, _ := orders.Column("code"); c.Length != 20 || c.Type != "varchar" {
		t.Errorf("varchar: %+v", c)
	}
	dropAll(t, conn, tables)
	defer dropAll(t, conn, tables)
	applyTwice(t, conn, tables)

	// A later source change: a new column, then a type change.
	if _, err := pg.Exec(ctx, `ALTER TABLE sluice_ddl_test.ddltest_orders ADD COLUMN coupon text`); err != nil {
		t.Fatal(err)
	}
	added, err := ReadCatalog(ctx, pg, "sluice_ddl_test", []string{"ddltest_orders"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(ctx, `ALTER TABLE sluice_ddl_test.ddltest_orders ALTER COLUMN total_amount TYPE numeric(14,4)`); err != nil {
		t.Fatal(err)
	}
	retyped, err := ReadCatalog(ctx, pg, "sluice_ddl_test", []string{"ddltest_orders"})
	if err != nil {
		t.Fatal(err)
	}
	evolve(t, conn, added[0], retyped[0], "coupon", "total_amount")
}
