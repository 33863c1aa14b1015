// Package chconntest holds checks shared by the native and chDB
// integration tests: a table with a column of every contract type, written
// once from Debezium JSON and once from pgx values, then read back.
package chconntest

import (
	"context"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

type contractCol struct {
	col typemap.Column
	deb string // Debezium JSON token
	fs  *typemap.FieldSchema
	pgx any // the same value as pgx returns it
}

func ts() time.Time { return time.Date(2025, 3, 1, 10, 15, 30, 123456000, time.UTC) }

func contractColumns() []contractCol {
	dec := func(scale string) *typemap.FieldSchema {
		return &typemap.FieldSchema{Name: "org.apache.kafka.connect.data.Decimal", Parameters: map[string]string{"scale": scale}}
	}
	name := func(n string) *typemap.FieldSchema { return &typemap.FieldSchema{Name: n} }
	s := func(v string) *string { return &v }
	return []contractCol{
		{typemap.Column{Name: "id", Type: "int8"}, "1", nil, int64(1)},
		{typemap.Column{Name: "c_int2", Type: "int2"}, "-7", nil, int16(-7)},
		{typemap.Column{Name: "c_int4", Type: "int4"}, "42", nil, int32(42)},
		{typemap.Column{Name: "c_int8", Type: "int8"}, "9007199254740993", nil, int64(9007199254740993)},
		{typemap.Column{Name: "c_bool", Type: "bool"}, "true", nil, true},
		{typemap.Column{Name: "c_real", Type: "float4"}, "1.5", nil, float32(1.5)},
		{typemap.Column{Name: "c_double", Type: "float8"}, "2.25", nil, 2.25},
		{typemap.Column{Name: "c_num", Type: "numeric", Precision: 12, Scale: 2}, `"MDk="`, dec("2"), pgtype.Numeric{Int: big.NewInt(12345), Exp: -2, Valid: true}},
		{typemap.Column{Name: "c_varnum", Type: "numeric"}, `{"scale":1,"value":"Dw=="}`, name("io.debezium.data.VariableScaleDecimal"), pgtype.Numeric{Int: big.NewInt(1500), Exp: -3, Valid: true}},
		{typemap.Column{Name: "c_money", Type: "money"}, `"JxA="`, dec("2"), "$100.00"},
		{typemap.Column{Name: "c_text", Type: "text"}, `"it's a \"test\"\\\n\t"`, nil, "it's a \"test\"\\\n\t"},
		{typemap.Column{Name: "c_varchar", Type: "varchar", Length: 20}, `"héllo"`, nil, "héllo"},
		{typemap.Column{Name: "c_char", Type: "bpchar", Length: 4}, `"ab  "`, nil, "ab  "},
		{typemap.Column{Name: "c_uuid", Type: "uuid"}, `"3f1c2a4e-0000-4000-8000-000000000001"`, nil, [16]byte{0x3f, 0x1c, 0x2a, 0x4e, 0, 0, 0x40, 0, 0x80, 15: 1}},
		{typemap.Column{Name: "c_json", Type: "json"}, `"{\"a\": 1}"`, nil, `{"a": 1}`},
		{typemap.Column{Name: "c_jsonb", Type: "jsonb"}, `"{\"b\": [1, 2]}"`, nil, `{"b": [1, 2]}`},
		{typemap.Column{Name: "c_bytea", Type: "bytea"}, `"3q2+7wA="`, nil, []byte{0xde, 0xad, 0xbe, 0xef, 0}},
		{typemap.Column{Name: "c_date", Type: "date"}, "20148", name("io.debezium.time.Date"), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{typemap.Column{Name: "c_time", Type: "time"}, "49500500000", name("io.debezium.time.MicroTime"), pgtype.Time{Microseconds: 49500500000, Valid: true}},
		{typemap.Column{Name: "c_ts", Type: "timestamp"}, "1740824130123456", name("io.debezium.time.MicroTimestamp"), ts()},
		{typemap.Column{Name: "c_tstz", Type: "timestamptz"}, `"2025-03-01T10:15:30.123456Z"`, name("io.debezium.time.ZonedTimestamp"), ts()},
		{typemap.Column{Name: "c_interval", Type: "interval"}, "2813400000000", name("io.debezium.time.MicroDuration"), pgtype.Interval{Months: 1, Days: 2, Microseconds: 3 * 3600e6, Valid: true}},
		{typemap.Column{Name: "c_enum", Type: "order_status", EnumLabels: []string{"new", "shipped"}}, `"shipped"`, nil, "shipped"},
		{typemap.Column{Name: "c_inet", Type: "inet"}, `"10.0.0.1"`, nil, netip.MustParsePrefix("10.0.0.1/32")},
		{typemap.Column{Name: "c_tags", Type: "text", Array: true}, `["a", null, "b"]`, nil, []any{"a", nil, "b"}},
		{typemap.Column{Name: "c_ints", Type: "int4", Array: true}, `[1, 2]`, nil, []int32{1, 2}},
		{typemap.Column{Name: "c_nums", Type: "numeric", Precision: 12, Scale: 2, Array: true}, `["MDk="]`, &typemap.FieldSchema{Type: "array", Items: dec("2")}, []any{pgtype.Numeric{Int: big.NewInt(12345), Exp: -2, Valid: true}}},
		{typemap.Column{Name: "c_null", Type: "text", Nullable: true}, `null`, nil, nil},
		{typemap.Column{Name: "c_opt", Type: "int4", Nullable: true}, `5`, nil, s("ignored")},
	}
}

// RoundTrip creates a table of every contract type on conn, inserts row 1
// from Debezium JSON and row 2 from pgx values, and checks both read back
// identically and as expected.
func RoundTrip(t *testing.T, conn chconn.Conn, table string) {
	t.Helper()
	ctx := context.Background()
	p := conn.Profile()
	pol := typemap.DefaultPolicies()
	cols := contractColumns()
	cols[len(cols)-1].pgx = int32(5)

	var defs []string
	var names []string
	for _, c := range cols {
		defs = append(defs, chconn.QuoteIdent(c.col.Name)+" "+c.col.ClickHouseType(p, pol))
		names = append(names, c.col.Name)
	}
	qt := chconn.QuoteIdent(table)
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+qt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+qt) })
	create := "CREATE TABLE " + qt + " (" + strings.Join(defs, ", ") + ") ENGINE = MergeTree ORDER BY id"
	if err := conn.Exec(ctx, create); err != nil {
		t.Fatalf("%s: %v", create, err)
	}
	for row := 1; row <= 2; row++ {
		data := make([]chconn.Column, len(cols))
		for i, c := range cols {
			b, err := typemap.NewBuilder(c.col, p, pol)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case i == 0:
				err = b.AppendPgx(int64(row))
			case row == 1:
				err = b.AppendDebezium([]byte(c.deb), c.fs)
			default:
				err = b.AppendPgx(c.pgx)
			}
			if err != nil {
				t.Fatalf("row %d: %v", row, err)
			}
			data[i] = b
		}
		if err := conn.Insert(ctx, qt, names, data); err != nil {
			t.Fatalf("row %d: %v", row, err)
		}
	}
	var sel []string
	for _, n := range names {
		sel = append(sel, "toString("+chconn.QuoteIdent(n)+")")
	}
	rows, err := conn.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+qt+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("read %d rows, want 2", len(rows))
	}
	for i := 1; i < len(names); i++ {
		if rows[0][i] != rows[1][i] {
			t.Errorf("%s: Debezium path %q, pgx path %q", names[i], rows[0][i], rows[1][i])
		}
	}
	want := map[string]string{
		"c_int8": "9007199254740993", "c_num": "123.45", "c_text": "it's a \"test\"\\\n\t",
		"c_uuid": "3f1c2a4e-0000-4000-8000-000000000001", "c_bytea": "\xde\xad\xbe\xef\x00",
		"c_date": "2025-03-01", "c_interval": "2813400000000", "c_char": "ab  ", "c_null": `\N`,
		"c_tags": "['a',NULL,'b']", "c_varchar": "héllo", "c_jsonb": `{"b": [1, 2]}`,
	}
	if p.DateTime64 {
		want["c_tstz"] = "2025-03-01 10:15:30.123456"
	} else {
		want["c_tstz"] = "1740824130123456"
	}
	if !p.Date32 {
		want["c_date"] = "20148" // Int32 days since 1970-01-01 on servers without Date32
	}
	for i, n := range names {
		if w, ok := want[n]; ok && rows[0][i] != w && !(n == "c_null" && rows[0][i] == "NULL") {
			t.Errorf("%s = %q, want %q", n, rows[0][i], w)
		}
	}
}
