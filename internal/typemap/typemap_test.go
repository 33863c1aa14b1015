package typemap

import (
	"errors"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

var (
	legacy = chconn.Legacy()
	modern = chconn.Modern()
)

func fsName(name string, params ...string) *FieldSchema {
	fs := &FieldSchema{Name: name, Parameters: map[string]string{}}
	for i := 0; i+1 < len(params); i += 2 {
		fs.Parameters[params[i]] = params[i+1]
	}
	return fs
}

func decodeOne(t *testing.T, c Column, p chconn.Profile, pol Policies, raw string, fs *FieldSchema) (string, error) {
	t.Helper()
	b, err := NewBuilder(c, p, pol)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AppendDebezium([]byte(raw), fs); err != nil {
		return "", err
	}
	if b.Len() != 1 {
		t.Fatalf("Len = %d", b.Len())
	}
	return b.Literal(0), nil
}

func TestDebeziumDecoding(t *testing.T) {
	pol := DefaultPolicies()
	cases := []struct {
		name   string
		col    Column
		p      chconn.Profile
		raw    string
		fs     *FieldSchema
		want   string
		errHas string
	}{
		{"smallint", Column{Type: "int2"}, modern, "7", nil, "7", ""},
		{"smallint overflow", Column{Type: "int2"}, modern, "40000", nil, "", "out of range"},
		{"integer", Column{Type: "int4"}, modern, "-42", nil, "-42", ""},
		{"bigint exact", Column{Type: "int8"}, modern, "9007199254740993", nil, "9007199254740993", ""},
		{"bigint max", Column{Type: "int8"}, modern, "9223372036854775807", nil, "9223372036854775807", ""},
		{"bigint float rejected", Column{Type: "int8"}, modern, "1.5", nil, "", "want an integer"},
		{"boolean modern", Column{Type: "bool"}, modern, "true", nil, "true", ""},
		{"boolean legacy", Column{Type: "bool"}, legacy, "true", nil, "1", ""},
		{"real", Column{Type: "float4"}, modern, "1.5", nil, "1.5", ""},
		{"real NaN", Column{Type: "float4"}, modern, `"NaN"`, nil, "nan", ""},
		{"double", Column{Type: "float8"}, modern, "2.25", nil, "2.25", ""},
		{"double Infinity", Column{Type: "float8"}, modern, `"Infinity"`, nil, "inf", ""},
		{"double -Infinity", Column{Type: "float8"}, modern, `"-Infinity"`, nil, "-inf", ""},
		{"numeric 123.45", Column{Type: "numeric", Precision: 12, Scale: 2}, modern, `"MDk="`, fsName(nameDecimal, "scale", "2"), "123.45", ""},
		{"numeric -1.50", Column{Type: "numeric", Precision: 12, Scale: 2}, legacy, `"/2o="`, fsName(nameDecimal, "scale", "2"), "-1.50", ""},
		{"numeric zero", Column{Type: "numeric", Precision: 12, Scale: 2}, legacy, `"AA=="`, nil, "0.00", ""},
		{"numeric no schema uses column scale", Column{Type: "numeric", Precision: 12, Scale: 2}, legacy, `"MDk="`, nil, "123.45", ""},
		{"numeric NUMERIC format", Column{Type: "numeric", Precision: 12, Scale: 2}, modern, `123.45`, nil, "123.45", ""},
		{"numeric string mode", Column{Type: "numeric", Precision: 12, Scale: 2}, modern, `"123.45"`, &FieldSchema{Type: "string"}, "123.45", ""},
		{"numeric too wide", Column{Type: "numeric", Precision: 4, Scale: 2}, modern, `"MDk="`, fsName(nameDecimal, "scale", "2"), "", "does not fit"},
		{"numeric too many digits", Column{Type: "numeric", Precision: 12, Scale: 1}, modern, `"MDk="`, fsName(nameDecimal, "scale", "2"), "", "fractional digits"},
		{"var numeric", Column{Type: "numeric"}, modern, `{"scale":1,"value":"Dw=="}`, fsName(nameVarDecimal), "1.5000000000", ""},
		{"var numeric spaced", Column{Type: "numeric"}, legacy, ` { "value" : "Dw==" , "scale" : 1 } `, nil, "1.5000000000", ""},
		{"money", Column{Type: "money"}, modern, `"JxA="`, fsName(nameDecimal, "scale", "2"), "100.00", ""},
		{"text", Column{Type: "text"}, modern, `"abc"`, nil, "'abc'", ""},
		{"text escapes", Column{Type: "text"}, modern, `"a\"b\\c\n\u00e9'"`, nil, `'a"b\\c\né\''`, ""},
		{"varchar", Column{Type: "varchar", Length: 10}, modern, `"x"`, nil, "'x'", ""},
		{"char padded", Column{Type: "bpchar", Length: 4}, modern, `"ab  "`, nil, "'ab  '", ""},
		{"uuid", Column{Type: "uuid"}, modern, `"3F1C2A4E-0000-4000-8000-000000000001"`, fsName("io.debezium.data.Uuid"), "'3f1c2a4e-0000-4000-8000-000000000001'", ""},
		{"uuid bad", Column{Type: "uuid"}, modern, `"nope"`, nil, "", "invalid UUID"},
		{"json", Column{Type: "json"}, modern, `"{\"a\": 1}"`, fsName("io.debezium.data.Json"), `'{"a": 1}'`, ""},
		{"jsonb", Column{Type: "jsonb"}, legacy, `"{\"a\": [1, 2]}"`, nil, `'{"a": [1, 2]}'`, ""},
		{"bytea", Column{Type: "bytea"}, modern, `"3q2+7w=="`, nil, `'\xDE\xAD\xBE\xEF'`, ""},
		{"date", Column{Type: "date"}, modern, "20148", fsName(nameDate), "'2025-03-01'", ""},
		{"date legacy", Column{Type: "date"}, legacy, "20148", fsName(nameDate), "20148", ""},
		{"date before 1970 modern", Column{Type: "date"}, modern, "-1", fsName(nameDate), "'1969-12-31'", ""},
		{"date before 1900 modern", Column{Type: "date"}, modern, "-25568", fsName(nameDate), "", "outside the ClickHouse range"},
		{"date before 1970 legacy", Column{Type: "date"}, legacy, "-1", fsName(nameDate), "-1", ""},
		{"date 4714 BC legacy", Column{Type: "date"}, legacy, "-2440588", fsName(nameDate), "-2440588", ""},
		{"date 5874897 AD legacy", Column{Type: "date"}, legacy, "2145042905", fsName(nameDate), "2145042905", ""},
		{"date beyond int32 legacy", Column{Type: "date"}, legacy, "2147483648", fsName(nameDate), "", "out of range"},
		{"iso date legacy", Column{Type: "date"}, legacy, `"1950-03-15Z"`, fsName("io.debezium.time.IsoDate"), "-7232", ""},
		{"iso date", Column{Type: "date"}, modern, `"2017-09-15Z"`, fsName("io.debezium.time.IsoDate"), "'2017-09-15'", ""},
		{"time micro", Column{Type: "time"}, modern, "49500500000", fsName(nameMicroTime), "49500500000", ""},
		{"time milli", Column{Type: "time"}, modern, "49500500", fsName(nameTime), "49500500000", ""},
		{"time 24:00", Column{Type: "time"}, modern, "86400000000", fsName(nameMicroTime), "86400000000", ""},
		{"timestamp micro", Column{Type: "timestamp"}, modern, "1740824130123456", fsName(nameMicroTS), "'2025-03-01 10:15:30.123456'", ""},
		{"timestamp micro legacy", Column{Type: "timestamp"}, legacy, "1740824130123456", fsName(nameMicroTS), "1740824130123456", ""},
		{"timestamp milli", Column{Type: "timestamp"}, modern, "1740824130123", fsName(nameTimestamp), "'2025-03-01 10:15:30.123000'", ""},
		{"timestamp nano", Column{Type: "timestamp"}, modern, "1740824130123456000", fsName(nameNanoTS), "'2025-03-01 10:15:30.123456'", ""},
		{"timestamp infinity", Column{Type: "timestamp"}, modern, "9223372036825200000", fsName(nameMicroTS), "", "infinity"},
		{"timestamptz zoned", Column{Type: "timestamptz"}, modern, `"2025-03-01T10:15:30.123456Z"`, fsName("io.debezium.time.ZonedTimestamp"), "'2025-03-01 10:15:30.123456'", ""},
		{"timestamptz zoned no fraction", Column{Type: "timestamptz"}, legacy, `"2025-03-01T10:15:30Z"`, nil, "1740824130000000", ""},
		{"timestamptz year 21016", Column{Type: "timestamptz"}, modern, `"+21016-11-04T06:51:30.123456Z"`, nil, "", "outside the ClickHouse range"},
		{"timestamptz year 21016 legacy", Column{Type: "timestamptz"}, legacy, `"+21016-11-04T06:51:30.123456Z"`, nil, "601060287090123456", ""},
		{"timestamptz -infinity", Column{Type: "timestamptz"}, modern, `"-infinity"`, nil, "", "infinity"},
		{"interval", Column{Type: "interval"}, modern, "2813400000000", fsName(nameMicroDuration), "2813400000000", ""},
		{"interval iso", Column{Type: "interval"}, modern, `"P0Y1M2DT3H0M0S"`, fsName("io.debezium.time.Interval"), "2813400000000", ""},
		{"interval iso fraction", Column{Type: "interval"}, legacy, `"PT6.78S"`, nil, "6780000", ""},
		{"enum", Column{Type: "order_status", EnumLabels: []string{"new", "shipped"}}, modern, `"shipped"`, nil, "'shipped'", ""},
		{"inet", Column{Type: "inet"}, modern, `"10.0.0.0/8"`, nil, "'10.0.0.0/8'", ""},
		{"text[]", Column{Type: "text", Array: true}, modern, `["a", null, "b"]`, nil, "['a', NULL, 'b']", ""},
		{"int[] empty", Column{Type: "int4", Array: true}, legacy, `[]`, nil, "[]", ""},
		{"numeric[]", Column{Type: "numeric", Precision: 12, Scale: 2, Array: true}, modern, `["MDk=","/2o="]`, &FieldSchema{Type: "array", Items: fsName(nameDecimal, "scale", "2")}, "[123.45, -1.50]", ""},
		{"date[]", Column{Type: "date", Array: true}, modern, `[20148]`, nil, "['2025-03-01']", ""},
		{"date[] legacy", Column{Type: "date", Array: true}, legacy, `[20148,null,-7232]`, nil, "[20148, NULL, -7232]", ""},
		{"null array", Column{Type: "text", Array: true}, modern, `null`, nil, "[]", ""},
		{"nullable null", Column{Type: "text", Nullable: true}, modern, `null`, nil, "NULL", ""},
		{"not null null", Column{Type: "text"}, modern, `null`, nil, "", "NULL in a NOT NULL"},
		{"unknown type keeps json", Column{Type: "point"}, modern, `{"x":1,"y":2}`, nil, `'{"x":1,"y":2}'`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeOne(t, tc.col, tc.p, pol, tc.raw, tc.fs)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want containing %q (got %s)", err, tc.errHas, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestUnconstrainedNumericStringPolicy(t *testing.T) {
	pol := DefaultPolicies()
	pol.Numeric = NumericString
	c := Column{Type: "numeric"}
	for raw, want := range map[string]string{
		`{"scale":1,"value":"Dw=="}`: "'1.5'",
		`{"scale":0,"value":"AA=="}`: "'0'",
		`"NAN"`:                      "'NaN'",
	} {
		fs := fsName(nameVarDecimal)
		if raw == `"NAN"` {
			fs = &FieldSchema{Type: "string"}
		}
		got, err := decodeOne(t, c, modern, pol, raw, fs)
		if err != nil || got != want {
			t.Errorf("%s: got %s, %v; want %s", raw, got, err, want)
		}
	}
	if typ := c.ClickHouseType(modern, pol); typ != "String" {
		t.Errorf("type %s", typ)
	}
}

func TestRangePolicies(t *testing.T) {
	c := Column{Type: "timestamptz", Nullable: true}
	for pol, want := range map[RangePolicy]string{RangeClamp: "'2299-12-31 23:59:59.999999'", RangeNull: "NULL"} {
		p := DefaultPolicies()
		p.OutOfRange = pol
		b, _ := NewBuilder(c, modern, p)
		if err := b.AppendDebezium([]byte(`"infinity"`), nil); err != nil {
			t.Fatal(err)
		}
		if got := b.Literal(0); got != want || b.Adjusted() != 1 {
			t.Errorf("%s: got %s adjusted %d", pol, got, b.Adjusted())
		}
	}
	p := DefaultPolicies()
	p.OutOfRange = RangeNull
	b, _ := NewBuilder(Column{Type: "date"}, modern, p)
	if err := b.AppendDebezium([]byte("-25568"), nil); err == nil {
		t.Error("NULL policy on a NOT NULL column must fail")
	}
}

func TestUnavailablePlaceholder(t *testing.T) {
	pol := DefaultPolicies()
	for _, tc := range []struct {
		col Column
		raw string
	}{
		{Column{Type: "text"}, `"__debezium_unavailable_value"`},
		{Column{Type: "jsonb"}, `"__debezium_unavailable_value"`},
		{Column{Type: "bytea"}, `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`},
		{Column{Type: "text", Array: true}, `["__debezium_unavailable_value"]`},
		{Column{Type: "int4", Array: true}, `[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,97,108,117,101]`},
		{Column{Type: "uuid", Array: true}, `["` + nameUUID("__debezium_unavailable_value") + `"]`},
	} {
		b, _ := NewBuilder(tc.col, modern, pol)
		if err := b.AppendDebezium([]byte(tc.raw), nil); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s %s: err = %v", tc.col.Type, tc.raw, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s: placeholder was appended", tc.col.Type)
		}
	}
}

func TestPgxValues(t *testing.T) {
	pol := DefaultPolicies()
	ts := time.Date(2025, 3, 1, 10, 15, 30, 123456000, time.UTC)
	cases := []struct {
		col  Column
		p    chconn.Profile
		v    any
		want string
	}{
		{Column{Type: "int8"}, modern, int64(9007199254740993), "9007199254740993"},
		{Column{Type: "numeric", Precision: 12, Scale: 2}, modern, pgtype.Numeric{Int: big.NewInt(-150), Exp: -2, Valid: true}, "-1.50"},
		{Column{Type: "numeric"}, legacy, pgtype.Numeric{Int: big.NewInt(15), Exp: -1, Valid: true}, "1.5000000000"},
		{Column{Type: "money"}, modern, "-$1,234.50", "-1234.50"},
		{Column{Type: "uuid"}, modern, [16]byte{0x3f, 0x1c, 15: 1}, "'3f1c0000-0000-0000-0000-000000000001'"},
		{Column{Type: "timestamptz"}, modern, ts, "'2025-03-01 10:15:30.123456'"},
		{Column{Type: "timestamp"}, legacy, ts, "1740824130123456"},
		{Column{Type: "date"}, modern, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), "'2025-03-01'"},
		{Column{Type: "date"}, legacy, time.Date(1950, 3, 15, 0, 0, 0, 0, time.UTC), "-7232"},
		{Column{Type: "date", Nullable: true}, legacy, pgtype.Date{Time: time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC), Valid: true}, "-2440588"},
		{Column{Type: "time"}, modern, pgtype.Time{Microseconds: 49500500000, Valid: true}, "49500500000"},
		{Column{Type: "interval"}, modern, pgtype.Interval{Months: 1, Days: 2, Microseconds: 3 * 3600e6, Valid: true}, "2813400000000"},
		{Column{Type: "inet"}, modern, netip.MustParsePrefix("10.0.0.1/32"), "'10.0.0.1'"},
		{Column{Type: "inet"}, modern, netip.MustParsePrefix("10.0.0.0/8"), "'10.0.0.0/8'"},
		{Column{Type: "jsonb"}, modern, map[string]any{"a": 1.0}, `'{"a":1}'`},
		{Column{Type: "bytea"}, modern, []byte{0xde, 0xad}, `'\xDE\xAD'`},
		{Column{Type: "text", Array: true}, modern, []any{"a", nil}, "['a', NULL]"},
		{Column{Type: "bool"}, legacy, true, "1"},
	}
	for _, tc := range cases {
		b, err := NewBuilder(tc.col, tc.p, pol)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.AppendPgx(tc.v); err != nil {
			t.Errorf("%s %v: %v", tc.col.Type, tc.v, err)
			continue
		}
		if got := b.Literal(0); got != tc.want {
			t.Errorf("%s %v: got %s, want %s", tc.col.Type, tc.v, got, tc.want)
		}
	}
}

func TestValuesTypes(t *testing.T) {
	pol := DefaultPolicies()
	b, _ := NewBuilder(Column{Type: "text", Nullable: true}, modern, pol)
	_ = b.AppendDebezium([]byte(`"x"`), nil)
	_ = b.AppendNull()
	if v, ok := b.Values().([]*string); !ok || len(v) != 2 || v[1] != nil || *v[0] != "x" {
		t.Fatalf("Values = %#v", b.Values())
	}
	b.Reset()
	if b.Len() != 0 {
		t.Fatal("Reset kept values")
	}
	i, _ := NewBuilder(Column{Type: "int8"}, modern, pol)
	_ = i.AppendDebezium([]byte("5"), nil)
	if _, ok := i.Values().([]int64); !ok {
		t.Fatalf("Values = %T", i.Values())
	}
}

func TestClickHouseTypes(t *testing.T) {
	pol := DefaultPolicies()
	cases := []struct {
		col            Column
		legacy, modern string
	}{
		{Column{Type: "int2"}, "Int16", "Int16"},
		{Column{Type: "int4", Nullable: true}, "Nullable(Int32)", "Nullable(Int32)"},
		{Column{Type: "int8"}, "Int64", "Int64"},
		{Column{Type: "bool"}, "UInt8", "Bool"},
		{Column{Type: "float4"}, "Float32", "Float32"},
		{Column{Type: "float8"}, "Float64", "Float64"},
		{Column{Type: "numeric", Precision: 12, Scale: 2}, "Decimal(12, 2)", "Decimal(12, 2)"},
		{Column{Type: "numeric", Precision: 60, Scale: 2}, "String", "Decimal(60, 2)"},
		{Column{Type: "numeric"}, "Decimal(38, 10)", "Decimal(38, 10)"},
		{Column{Type: "money"}, "Decimal(18, 2)", "Decimal(18, 2)"},
		{Column{Type: "text"}, "String", "String"},
		{Column{Type: "varchar", Length: 20, Nullable: true}, "Nullable(String)", "Nullable(String)"},
		{Column{Type: "bpchar", Length: 2}, "String", "String"},
		{Column{Type: "uuid"}, "UUID", "UUID"},
		{Column{Type: "json"}, "String", "String"},
		{Column{Type: "jsonb"}, "String", "String"},
		{Column{Type: "bytea"}, "String", "String"},
		{Column{Type: "date"}, "Int32", "Date32"},
		{Column{Type: "date", Nullable: true}, "Nullable(Int32)", "Nullable(Date32)"},
		{Column{Type: "date", Array: true}, "Array(Nullable(Int32))", "Array(Nullable(Date32))"},
		{Column{Type: "time"}, "Int64", "Int64"},
		{Column{Type: "timestamp"}, "Int64", "DateTime64(6, 'UTC')"},
		{Column{Type: "timestamptz", Nullable: true}, "Nullable(Int64)", "Nullable(DateTime64(6, 'UTC'))"},
		{Column{Type: "interval"}, "Int64", "Int64"},
		{Column{Type: "s", EnumLabels: []string{"a"}}, "String", "LowCardinality(String)"},
		{Column{Type: "s", EnumLabels: []string{"a"}, Nullable: true}, "Nullable(String)", "LowCardinality(Nullable(String))"},
		{Column{Type: "text", Array: true, Nullable: true}, "Array(Nullable(String))", "Array(Nullable(String))"},
		{Column{Type: "inet"}, "String", "String"},
	}
	for _, tc := range cases {
		if got := tc.col.ClickHouseType(legacy, pol); got != tc.legacy {
			t.Errorf("%+v legacy: %s, want %s", tc.col, got, tc.legacy)
		}
		if got := tc.col.ClickHouseType(modern, pol); got != tc.modern {
			t.Errorf("%+v modern: %s, want %s", tc.col, got, tc.modern)
		}
	}
	js := pol
	js.JSON = JSONNative
	if got := (Column{Type: "jsonb"}).ClickHouseType(modern, js); got != "JSON" {
		t.Errorf("json policy: %s", got)
	}
	if got := (Column{Type: "jsonb"}).ClickHouseType(legacy, js); got != "String" {
		t.Errorf("json policy legacy: %s", got)
	}
}

// TestAppendCopyFrom copies values between two builders of one column
// (the block being written → the block being built): values, NULLs and
// arrays survive, the source is untouched, another type is refused.
func TestAppendCopyFrom(t *testing.T) {
	pol := DefaultPolicies()
	for _, c := range []struct {
		col Column
		raw []string
	}{
		{Column{Name: "s", Type: "text", Nullable: true}, []string{`"a\"b"`, `null`}},
		{Column{Name: "n", Type: "numeric", Precision: 12, Scale: 2}, []string{`12.5`, `0`}},
		{Column{Name: "a", Type: "int4", Array: true}, []string{`[1,null,3]`, `null`}},
	} {
		src, _ := NewBuilder(c.col, chconn.Legacy(), pol)
		dst, _ := NewBuilder(c.col, chconn.Legacy(), pol)
		for _, r := range c.raw {
			if err := src.AppendDebezium([]byte(r), nil); err != nil {
				t.Fatalf("%s: %s: %v", c.col.Name, r, err)
			}
		}
		for i := len(c.raw) - 1; i >= 0; i-- {
			if err := dst.AppendCopyFrom(src, i); err != nil {
				t.Fatalf("%s: copy %d: %v", c.col.Name, i, err)
			}
		}
		for i := range c.raw {
			if got, want := dst.Literal(len(c.raw)-1-i), src.Literal(i); got != want {
				t.Errorf("%s: copy of value %d is %s, want %s", c.col.Name, i, got, want)
			}
		}
		if src.Len() != len(c.raw) {
			t.Errorf("%s: source has %d values after the copies", c.col.Name, src.Len())
		}
		if err := dst.AppendCopyFrom(src, len(c.raw)); err == nil {
			t.Errorf("%s: copy of a value past the end accepted", c.col.Name)
		}
	}
	ints, _ := NewBuilder(Column{Name: "i", Type: "int8"}, chconn.Legacy(), pol)
	text, _ := NewBuilder(Column{Name: "s", Type: "text"}, chconn.Legacy(), pol)
	_ = text.AppendDebezium([]byte(`"x"`), nil)
	if err := ints.AppendCopyFrom(text, 0); err == nil {
		t.Error("copy from a text builder into an int8 builder accepted")
	}
}
