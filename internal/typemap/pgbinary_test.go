package typemap

import (
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// encodeBinary is what PostgreSQL sends for v in binary format.
func encodeBinary(t *testing.T, m *pgtype.Map, oid uint32, v any) []byte {
	t.Helper()
	if v == nil {
		return nil
	}
	b, err := m.Encode(oid, pgtype.BinaryFormatCode, v, nil)
	if err != nil {
		t.Fatalf("encode %v as oid %d: %v", v, oid, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

// normalized prints a Values() slice element by element (decimals by
// value, pointers dereferenced), so equal contents compare equal.
func normalized(v any) []string {
	rv := reflect.ValueOf(v)
	out := make([]string, rv.Len())
	for i := range out {
		e := rv.Index(i)
		if e.Kind() == reflect.Pointer {
			if e.IsNil() {
				out[i] = "<nil>"
				continue
			}
			e = e.Elem()
		}
		switch x := e.Interface().(type) {
		case decimal.Decimal:
			out[i] = "dec:" + x.String()
		case time.Time:
			out[i] = fmt.Sprintf("time:%d:%s", x.UnixNano(), x.Location())
		default:
			out[i] = fmt.Sprintf("%T:%v", x, x)
		}
	}
	return out
}

// TestBinaryColumnMatchesBuilder feeds the same values to the fast binary
// path and to Builder.AppendPgx of pgx's decoded value: same Values, same
// Literal, same errors, same Adjusted, on both profiles and every range
// policy.
func TestBinaryColumnMatchesBuilder(t *testing.T) {
	m := pgtype.NewMap()
	num := func(s string) pgtype.Numeric {
		var n pgtype.Numeric
		if err := n.Scan(s); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ts := func(s string) time.Time {
		x, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	inf := pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	ninf := pgtype.Timestamp{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	cases := []struct {
		col  Column
		oid  uint32
		vals []any
	}{
		{Column{Name: "a", Type: "int2"}, oidInt2, []any{int16(0), int16(-32768), int16(32767)}},
		{Column{Name: "a", Type: "int4", Nullable: true}, oidInt4, []any{int32(7), nil, int32(math.MinInt32)}},
		{Column{Name: "a", Type: "int8"}, oidInt8, []any{int64(math.MaxInt64), int64(-1)}},
		{Column{Name: "a", Type: "int8"}, oidInt8, []any{int64(1), nil}},
		{Column{Name: "a", Type: "float4", Nullable: true}, oidFloat4, []any{float32(1.5), float32(math.Inf(-1)), nil, float32(math.NaN())}},
		{Column{Name: "a", Type: "float8"}, oidFloat8, []any{0.1, math.MaxFloat64, math.Inf(1)}},
		{Column{Name: "a", Type: "bool", Nullable: true}, oidBool, []any{true, false, nil}},
		{Column{Name: "a", Type: "numeric", Precision: 12, Scale: 2}, oidNumeric, []any{
			num("0"), num("1.5"), num("-1.50"), num("9999999999.99"), num("-9999999999.99"), num("123.4"),
			num("100000"), num("0.01"), num("10000.0000"), num("-0.10"),
		}},
		{Column{Name: "a", Type: "numeric", Precision: 12, Scale: 2}, oidNumeric, []any{num("1.001")}},
		{Column{Name: "a", Type: "numeric", Precision: 12, Scale: 2}, oidNumeric, []any{num("10000000000")}},
		{Column{Name: "a", Type: "numeric", Precision: 12, Scale: 2}, oidNumeric, []any{num("NaN")}},
		{Column{Name: "a", Type: "numeric", Precision: 18, Scale: 0, Nullable: true}, oidNumeric, []any{
			num("999999999999999999"), num("-999999999999999999"), nil, num("123456789012345678"),
		}},
		{Column{Name: "a", Type: "numeric", Precision: 18, Scale: 0}, oidNumeric, []any{num("1000000000000000000")}},
		{Column{Name: "a", Type: "numeric", Precision: 18, Scale: 18}, oidNumeric, []any{num("0.123456789012345678"), num("-0.000000000000000001")}},
		{Column{Name: "a", Type: "numeric", Precision: 18, Scale: 18}, oidNumeric, []any{num("1")}},
		{Column{Name: "a", Type: "numeric", Precision: 30, Scale: 4}, oidNumeric, []any{num("12345678901234567890.1234")}},
		{Column{Name: "a", Type: "numeric"}, oidNumeric, []any{num("1.25")}},
		{Column{Name: "a", Type: "money"}, oidNumeric, []any{num("1234.56"), num("-0.01")}},
		{Column{Name: "a", Type: "timestamptz"}, oidTimestamptz, []any{
			ts("2025-05-28T20:26:05.596091Z"), ts("1969-12-31T23:59:59.999999Z"), ts("2000-01-01T00:00:00Z"), ts("1900-01-01T00:00:00Z"),
		}},
		{Column{Name: "a", Type: "timestamptz", Nullable: true}, oidTimestamptz, []any{inf, nil, ts("1800-01-01T00:00:00Z")}},
		{Column{Name: "a", Type: "timestamp"}, oidTimestamp, []any{ts("2300-01-01T00:00:00Z"), ninf}},
		{Column{Name: "a", Type: "timestamp", Nullable: true}, oidTimestamp, []any{ts("2024-02-29T12:00:00.000001Z"), nil}},
		{Column{Name: "a", Type: "uuid", Nullable: true}, oidUUID, []any{[16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, nil}},
		{Column{Name: "a", Type: "text", Nullable: true}, oidText, []any{"hello", "", nil, "ünï\x00'\\"}},
		{Column{Name: "a", Type: "varchar"}, oidVarchar, []any{"x"}},
		{Column{Name: "a", Type: "bpchar", Length: 3}, oidBPChar, []any{"ab "}},
		{Column{Name: "a", Type: "order_status", EnumLabels: []string{"x"}}, oidText, []any{"x"}},
		{Column{Name: "a", Type: "jsonb"}, oidText, []any{`{"a": 1}`}},
	}
	profiles := map[string]chconn.Profile{"legacy": legacy, "modern": modern}
	for _, rp := range []RangePolicy{RangeError, RangeClamp, RangeNull} {
		pol := DefaultPolicies()
		pol.OutOfRange = rp
		for pname, p := range profiles {
			for i, c := range cases {
				name := fmt.Sprintf("%s/%s/%d-%s", rp, pname, i, c.col.Type)
				t.Run(name, func(t *testing.T) {
					fast, ok := NewBinaryColumn(c.col, c.oid, p, pol)
					if !ok {
						if c.col.Kind() == KindNumeric || c.col.Precision > 18 {
							return // generic path on purpose
						}
						t.Fatalf("no fast path for %s", c.col.Type)
					}
					slow, err := NewBuilder(c.col, p, pol)
					if err != nil {
						t.Fatal(err)
					}
					for _, v := range c.vals {
						raw := encodeBinary(t, m, c.oid, v)
						var pv any
						if raw != nil {
							typ, _ := m.TypeForOID(c.oid)
							if pv, err = typ.Codec.DecodeValue(m, c.oid, pgtype.BinaryFormatCode, raw); err != nil {
								t.Fatal(err)
							}
						}
						errSlow := slow.AppendPgx(pv)
						errFast := fast.AppendBinary(raw)
						if fmt.Sprint(errSlow) != fmt.Sprint(errFast) {
							t.Fatalf("value %v: error %v, builder %v", v, errFast, errSlow)
						}
					}
					if fast.Len() != slow.Len() || fast.Adjusted() != slow.Adjusted() {
						t.Fatalf("Len %d/%d Adjusted %d/%d", fast.Len(), slow.Len(), fast.Adjusted(), slow.Adjusted())
					}
					got := fast.Values()
					if v, ok := got.(driver.Valuer); ok {
						// A decimal column: clickhouse-go takes its Value,
						// also of a part sliced off (the native insert
						// appends a block in slices).
						if fast.Len() > 1 {
							part := reflect.ValueOf(got).Slice(1, fast.Len()).Interface().(driver.Valuer)
							pv, err := part.Value()
							if err != nil {
								t.Fatal(err)
							}
							if g, w := normalized(pv), normalized(reflect.ValueOf(slow.Values()).Slice(1, slow.Len()).Interface()); !reflect.DeepEqual(g, w) {
								t.Fatalf("Values[1:] %v, builder %v", g, w)
							}
						}
						var err error
						if got, err = v.Value(); err != nil {
							t.Fatal(err)
						}
					}
					if reflect.TypeOf(got) != reflect.TypeOf(slow.Values()) {
						t.Fatalf("Values type %T, builder %T", got, slow.Values())
					}
					if got, want := normalized(got), normalized(slow.Values()); !reflect.DeepEqual(got, want) {
						t.Fatalf("Values %v, builder %v", got, want)
					}
					for r := 0; r < fast.Len(); r++ {
						if got, want := fast.Literal(r), slow.Literal(r); got != want {
							t.Fatalf("Literal(%d) %q, builder %q", r, got, want)
						}
					}
					fast.Reset()
					if fast.Len() != 0 || fast.Adjusted() != 0 {
						t.Fatal("Reset left values")
					}
				})
			}
		}
	}
}
