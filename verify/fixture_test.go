//go:build integration

package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/testenv"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// uniqueName gives test schemas and databases names no other run shares.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

func connectPG(t *testing.T) *pgx.Conn {
	t.Helper()
	testenv.RequirePostgres(t)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close(context.Background()) })
	return pg
}

// pgSchema creates a schema with the given SQL (run with search_path set
// to it) and drops it at the end.
func pgSchema(t *testing.T, pg *pgx.Conn, setup string) string {
	t.Helper()
	ctx := context.Background()
	schema := uniqueName("verifytest")
	// Registered first: a failing setup must not leave the schema behind.
	t.Cleanup(func() { pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	if _, err := pg.Exec(ctx, fmt.Sprintf("CREATE SCHEMA %s; SET search_path = %s, public; %s; RESET search_path", schema, schema, setup)); err != nil {
		t.Fatalf("PostgreSQL setup: %v", err)
	}
	return schema
}

// chDatabase creates a ClickHouse database and the tables of the catalog
// with ddl, and drops it at the end.
func chDatabase(t *testing.T, ch chconn.Conn, tables []ddl.Table) string {
	t.Helper()
	ctx := context.Background()
	db := uniqueName("verifytest")
	t.Cleanup(func() { ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chconn.QuoteIdent(db)) })
	if err := ch.Exec(ctx, "CREATE DATABASE "+chconn.QuoteIdent(db)); err != nil {
		t.Fatal(err)
	}
	opts := ddl.DefaultOptions()
	opts.Database = db
	for _, tb := range tables {
		stmts, err := ddl.CreateTableSQL(tb, ch.Profile(), opts)
		if err != nil {
			t.Fatal(err)
		}
		// The generated DDL names tables without a database.
		create := strings.Replace(stmts[0], "CREATE TABLE IF NOT EXISTS "+chconn.QuoteIdent(tb.Name),
			"CREATE TABLE "+chconn.QuoteIdent(db)+"."+chconn.QuoteIdent(tb.Name), 1)
		if err := ch.Exec(ctx, create); err != nil {
			t.Fatalf("%s: %v", create, err)
		}
	}
	return db
}

// pgSelect is how a snapshot reads a column so pgx returns what the
// builders take: enum labels and json as text, money as numeric.
func pgSelect(c typemap.Column) string {
	q := pgIdent(c.Name)
	arr := ""
	if c.Array {
		arr = "[]"
	}
	switch c.Kind() {
	case typemap.KindEnum, typemap.KindJSON:
		return q + "::text" + arr
	case typemap.KindMoney:
		return q + "::numeric" + arr
	}
	return q
}

// uint column for the insert block's metadata columns.
type uintCol[T uint8 | uint64] []T

func (u uintCol[T]) Len() int             { return len(u) }
func (u uintCol[T]) Values() any          { return []T(u) }
func (u uintCol[T]) Literal(i int) string { return fmt.Sprint(u[i]) }

// load copies the PostgreSQL rows of tb into ClickHouse
// through the type contract's builders, as the snapshot does, with the
// given _version and _is_deleted = 0.
func load(t *testing.T, pg *pgx.Conn, ch chconn.Conn, db string, tb ddl.Table, pol typemap.Policies, version uint64) int {
	t.Helper()
	ctx := context.Background()
	var sel, names []string
	builders := make([]typemap.Builder, len(tb.Columns))
	for i, c := range tb.Columns {
		sel = append(sel, pgSelect(c))
		names = append(names, c.Name)
		b, err := typemap.NewBuilder(c, ch.Profile(), pol)
		if err != nil {
			t.Fatal(err)
		}
		builders[i] = b
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + pgIdent(tb.Schema) + "." + pgIdent(tb.Name)
	rows, err := pg.Query(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	n := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if err := builders[i].AppendPgx(v); err != nil {
				t.Fatalf("%s row %d: %v (%T %v)", tb.Name, n, err, v, v)
			}
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return 0
	}
	data := make([]chconn.Column, 0, len(builders)+2)
	for _, b := range builders {
		data = append(data, b)
	}
	ver, del := make(uintCol[uint64], n), make(uintCol[uint8], n)
	for i := range ver {
		ver[i] = version
	}
	data = append(data, ver, del)
	names = append(names, ddl.ColVersion, ddl.ColIsDeleted)
	if err := ch.Insert(ctx, chconn.QuoteIdent(db)+"."+chconn.QuoteIdent(tb.Name), names, data); err != nil {
		t.Fatal(err)
	}
	return n
}

// chCopyRow inserts, as a new version, a copy of the current ClickHouse
// row where, with some columns replaced by SQL expressions.
func chCopyRow(t *testing.T, ch chconn.Conn, db string, tb ddl.Table, where string, set map[string]string, version uint64, deleted bool) {
	t.Helper()
	var names, sel []string
	for _, c := range tb.Columns {
		names = append(names, chconn.QuoteIdent(c.Name))
		if e, ok := set[c.Name]; ok {
			sel = append(sel, e)
		} else {
			sel = append(sel, chconn.QuoteIdent(c.Name))
		}
	}
	del := 0
	if deleted {
		del = 1
	}
	qt := chconn.QuoteIdent(db) + "." + chconn.QuoteIdent(tb.Name)
	q := fmt.Sprintf("INSERT INTO %s (%s, _version, _is_deleted) SELECT %s, %d, %d FROM %s FINAL WHERE %s",
		qt, strings.Join(names, ", "), strings.Join(sel, ", "), version, del, qt, where)
	if err := ch.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func readCatalog(t *testing.T, pg *pgx.Conn, schema string) []ddl.Table {
	t.Helper()
	tables, err := ddl.ReadCatalog(context.Background(), pg, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

func tableNamed(t *testing.T, tables []ddl.Table, name string) ddl.Table {
	t.Helper()
	for _, tb := range tables {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("no table %s", name)
	return ddl.Table{}
}

func runVerify(t *testing.T, pg *pgx.Conn, ch chconn.Conn, db string, tables []ddl.Table, opts Options) *Report {
	t.Helper()
	opts.Database = db
	rep, err := Run(context.Background(), pg, ch, tables, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Tables {
		t.Logf("%s: %s rows %d/%d checksum %s/%s queries %d diffs %v in flight %v %s", r.Name(), r.Status, r.PGRows, r.CHRows,
			r.PGChecksum, r.CHChecksum, r.Queries, r.Diffs, r.InFlight, r.Error)
	}
	return rep
}

// contractSQL is a table with a column of every contract type and rows of
// the values that trip checksums: NULL next to ”, swapped values, NULL
// arrays and arrays with NULLs, decimals with trailing zeros, negative and
// sub-second timestamps, char padding, binary bytes, NaN.
const contractSQL = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE contract (
  id bigint PRIMARY KEY, c_int2 smallint, c_int4 integer NOT NULL, c_int8 bigint,
  c_bool boolean, c_real real, c_double double precision,
  c_num numeric(12,2), c_varnum numeric, c_money money,
  c_text text, c_text2 text, c_varchar varchar(20), c_char char(4),
  c_uuid uuid, c_json json, c_jsonb jsonb, c_bytea bytea,
  c_date date, c_time time, c_ts timestamp, c_tstz timestamptz, c_interval interval,
  c_enum mood, c_inet inet, c_cidr cidr,
  c_tags text[], c_ints int4[], c_nums numeric(12,2)[], c_moods mood[], c_tss timestamptz[]);
INSERT INTO contract VALUES
 (1, -7, 42, 9007199254740993, true, 1.5, 2.25, 123.45, 1.5, 100, 'it''s a "test"\n', '', 'héllo', 'ab', '3f1c2a4e-0000-4000-8000-000000000001',
  '{"a":  1}', '{"b": [1, 2]}', '\xdeadbeef00', '2025-03-01', '13:45:00.5', '2025-03-01 10:15:30.123456', '2025-03-01 10:15:30.123456+00',
  '1 mon 2 days 03:00:00', 'happy', '10.0.0.1', '10.0.0.0/8', '{a,NULL,b}', '{1,2}', '{1.50,NULL}', '{ok,sad}', '{"2025-01-01 00:00:00+00"}'),
 (2, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 0, -1, -9223372036854775808, false, 'NaN', '-Infinity', -0.50, 0.0000000001, -3.10, '', NULL, '', '    ', '00000000-0000-0000-0000-000000000000',
  '[]', '{}', '', '1970-01-01', '00:00:00', '1969-12-31 23:59:59.999999', '1960-06-01 12:00:00+00', '-1 year -2 hours',
  'sad', '::1', '2001:db8::/32', '{}', '{}', '{}', '{}', '{}'),
 (4, 1, 2, 3, true, 3.4028235e38, 1e-300, 100.00, 12345678901234567890.123, 0, 'a', 'b', 'x|y', 'z', NULL,
  'null', '"s"', '\x7c', '2149-06-06', '23:59:59.999999', '2299-12-31 23:59:59.999999', '2025-12-31 23:59:59.999999+00', '0',
  'ok', '192.168.1.2/24', '192.168.1.0/24', '{"",NULL}', '{NULL}', '{0.01}', '{NULL}', '{NULL}'),
 (5, 1, 2, 3, true, 3.4028235e38, 1e-300, 100.00, 12345678901234567890.123, 0, 'b', 'a', 'x', 'y|z', NULL,
  'null', '"s"', '\x7c', '2149-06-06', '23:59:59.999999', '2299-12-31 23:59:59.999999', '2025-12-31 23:59:59.999999+00', '0',
  'ok', '192.168.1.2/24', '192.168.1.0/24', '{NULL,""}', '{NULL}', '{0.01}', '{NULL}', '{NULL}');
CREATE TABLE wide (id bigint PRIMARY KEY, v text);
INSERT INTO wide VALUES (-9223372036854775808, 'min'), (0, 'zero'), (9223372036854775807, 'max');
CREATE TABLE kv (k text, n int, v text, PRIMARY KEY (k, n));
INSERT INTO kv SELECT 'key ' || (g % 50), g, CASE WHEN g % 3 = 0 THEN NULL ELSE md5(g::text) END FROM generate_series(1, 3000) g;
`
