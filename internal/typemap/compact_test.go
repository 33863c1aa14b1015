package typemap

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"reflect"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// genericOf returns the generic builder the compact one replaces, for the
// same column: the reference the compact builders must agree with.
func genericOf(t *testing.T, b Builder) Builder {
	t.Helper()
	switch x := b.(type) {
	case *strBuilder:
		return newBuilder(x.col, x.conv, DefaultPolicies())
	case *scaledBuilder:
		return newBuilder(x.col, x.conv, DefaultPolicies())
	}
	t.Fatalf("%T is not a compact builder", b)
	return nil
}

// scaledValues turns a generic decimal builder's values into scaled ints.
func scaledValues(vals any, scale int) any {
	switch v := vals.(type) {
	case []decimal.Decimal:
		out := make([]int64, len(v))
		for i, d := range v {
			out[i] = d.Shift(int32(scale)).IntPart()
		}
		return out
	case []*decimal.Decimal:
		out := make([]*int64, len(v))
		for i, d := range v {
			if d != nil {
				n := d.Shift(int32(scale)).IntPart()
				out[i] = &n
			}
		}
		return out
	}
	return vals
}

func sameAppends(t *testing.T, name string, c Column, fs *FieldSchema, raws []string) {
	t.Helper()
	b, err := NewBuilder(c, chconn.Legacy(), DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	ref := genericOf(t, b)
	for _, raw := range raws {
		errB := b.AppendDebezium([]byte(raw), fs)
		errR := ref.AppendDebezium([]byte(raw), fs)
		if fmt.Sprint(errB) != fmt.Sprint(errR) {
			t.Errorf("%s %s: error %v, generic builder %v", name, raw, errB, errR)
		}
	}
	// Copies, within and across builders, then a truncate.
	if b.Len() > 1 {
		for _, x := range []Builder{b, ref} {
			if err := x.AppendCopy(1); err != nil {
				t.Fatal(err)
			}
		}
		b2, _ := NewBuilder(c, chconn.Legacy(), DefaultPolicies())
		ref2 := genericOf(t, b2)
		for i := 0; i < b.Len(); i++ {
			if err := b2.AppendCopyFrom(b, i); err != nil {
				t.Fatal(err)
			}
			if err := ref2.AppendCopyFrom(ref, i); err != nil {
				t.Fatal(err)
			}
		}
		b2.Truncate(b2.Len() - 1)
		ref2.Truncate(ref2.Len() - 1)
		if err := b2.AppendNull(); (err == nil) != c.Nullable {
			t.Fatalf("AppendNull on nullable=%v: %v", c.Nullable, err)
		}
		_ = ref2.AppendNull()
		compareBuilders(t, name+" (copied)", b2, ref2)
	}
	compareBuilders(t, name, b, ref)
}

func compareBuilders(t *testing.T, name string, b, ref Builder) {
	t.Helper()
	if b.Len() != ref.Len() {
		t.Fatalf("%s: %d values, generic builder %d", name, b.Len(), ref.Len())
	}
	got, want := b.Values(), ref.Values()
	if sb, ok := b.(*scaledBuilder); ok {
		vals, scale, nulls := sb.ScaledInts()
		var asInts any = vals
		if nulls != nil {
			ptrs := make([]*int64, len(vals))
			for i := range vals {
				if !nulls[i] {
					ptrs[i] = &vals[i]
				}
			}
			asInts = ptrs
		}
		if w := scaledValues(want, scale); !reflect.DeepEqual(asInts, w) {
			t.Errorf("%s: scaled %v, generic builder %v", name, asInts, w)
		}
		got, want = scaledValues(got, scale), scaledValues(want, scale)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: values %#v, generic builder %#v", name, got, want)
	}
	for i := 0; i < b.Len(); i++ {
		if g, w := b.Literal(i), ref.Literal(i); g != w {
			t.Errorf("%s: literal %d %q, generic builder %q", name, i, g, w)
		}
	}
}

func TestCompactStringsMatchGeneric(t *testing.T) {
	raws := []string{`"plain"`, `""`, `"tab\there"`, `"quote \" and \\ slash"`, `"\u00e9t\u00e9 \ud83d\ude00"`, `"caf` + "\xc3\xa9" + `"`,
		`"bad ` + "\xff" + ` utf8"`, `null`, ` "spaced" `, `"__debezium_unavailable_value"`, `{"json":[1,2]}`, `12`, `"lone \ud800 x"`, `"x`}
	for _, typ := range []string{"text", "jsonb", "inet", "bytea", "uuid"} {
		for _, nullable := range []bool{true, false} {
			c := Column{Name: "c", Type: typ, Nullable: nullable}
			rs := raws
			switch typ {
			case "bytea":
				rs = []string{`"aGVsbG8="`, `"AA=="`, `null`, `"!!"`, `""`}
			case "uuid":
				rs = []string{`"6F9619FF-8B86-D011-B42D-00CF4FC964FF"`, `"6f9619ff8b86d011b42d00cf4fc964ff"`, `null`, `"nope"`}
			}
			sameAppends(t, fmt.Sprintf("%s nullable=%v", typ, nullable), c, &FieldSchema{Type: "string"}, rs)
			if typ == "bytea" {
				sameAppends(t, "bytea bytes", c, &FieldSchema{Type: "bytes"}, rs)
			}
		}
	}
}

func b64(n int64, size int) string {
	v := big.NewInt(n)
	buf := make([]byte, size)
	if n < 0 {
		v.Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*size)))
	}
	v.FillBytes(buf)
	return `"` + base64.StdEncoding.EncodeToString(buf) + `"`
}

func TestCompactDecimalsMatchGeneric(t *testing.T) {
	raws := []string{b64(12345, 2), b64(-12345, 3), b64(0, 1), b64(99999999999, 8), b64(-1, 1), b64(100000000000, 8),
		b64(123456789012345678, 8), b64(1, 9), `"MDk="`, `null`, `1.5`, `"12.345"`, `{"scale":1,"value":"Dw=="}`, `"@@@="`, `""`, `"NaN"`}
	for _, scale := range []string{"0", "1", "2", "3", "20", "-1", ""} {
		for _, nullable := range []bool{true, false} {
			c := Column{Name: "amount", Type: "numeric", Precision: 12, Scale: 2, Nullable: nullable}
			fs := &FieldSchema{Type: "bytes", Name: nameDecimal, Parameters: map[string]string{"scale": scale}}
			if scale == "" {
				fs.Parameters = nil
			}
			sameAppends(t, fmt.Sprintf("numeric(12,2) scale=%q nullable=%v", scale, nullable), c, fs, raws)
			c18 := Column{Name: "big", Type: "numeric", Precision: 18, Scale: 4, Nullable: nullable}
			sameAppends(t, fmt.Sprintf("numeric(18,4) scale=%q nullable=%v", scale, nullable), c18, fs, raws)
		}
	}
}

// TestCompactBuildersChosen: the shop's text and decimal columns get the
// compact builders; wider decimals and arrays keep the generic ones.
func TestCompactBuildersChosen(t *testing.T) {
	for _, tc := range []struct {
		c    Column
		want string
	}{
		{Column{Type: "text"}, "*typemap.strBuilder"},
		{Column{Type: "varchar", Nullable: true}, "*typemap.strBuilder"},
		{Column{Type: "uuid"}, "*typemap.strBuilder"},
		{Column{Type: "numeric", Precision: 12, Scale: 2}, "*typemap.scaledBuilder"},
		{Column{Type: "numeric", Precision: 30, Scale: 2}, "*typemap.builder[github.com/shopspring/decimal.Decimal]"},
		{Column{Type: "text", Array: true}, "typemap.arrayBuilder[string]"},
	} {
		b, err := NewBuilder(tc.c, chconn.Legacy(), DefaultPolicies())
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", b); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.c, got, tc.want)
		}
	}
}

// TestStrValuesAreViews: Values' strings are views of the arena; they stay
// right across appends that grow it (the next Values call re-points them).
func TestStrValuesAreViews(t *testing.T) {
	b, _ := NewBuilder(Column{Type: "text"}, chconn.Legacy(), DefaultPolicies())
	for i := 0; i < 1000; i++ {
		if err := b.AppendDebezium([]byte(fmt.Sprintf(`"value %d"`, i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	vals := b.Values().([]string)
	for i, v := range vals {
		if v != fmt.Sprintf("value %d", i) {
			t.Fatalf("value %d = %q", i, v)
		}
	}
	b.Reset()
	if b.Len() != 0 || len(b.Values().([]string)) != 0 {
		t.Fatal("Reset left values")
	}
}

// TestValuesRange: every range of rows gives what Values gives for them,
// for the compact and the generic builders, nullable or not.
func TestValuesRange(t *testing.T) {
	deref := func(v any) []any {
		rv := reflect.ValueOf(v)
		out := make([]any, rv.Len())
		for i := range out {
			e := rv.Index(i)
			if e.Kind() == reflect.Pointer {
				if e.IsNil() {
					out[i] = nil
					continue
				}
				e = e.Elem()
			}
			out[i] = e.Interface()
		}
		return out
	}
	for _, c := range []Column{{Type: "text"}, {Type: "text", Nullable: true}, {Type: "int8"}, {Type: "int8", Nullable: true}} {
		b, _ := NewBuilder(c, chconn.Legacy(), DefaultPolicies())
		for i := 0; i < 50; i++ {
			raw := fmt.Sprintf("%d", i)
			if c.Type == "text" {
				raw = fmt.Sprintf(`"v%d"`, i)
			}
			if i%7 == 3 && c.Nullable {
				raw = "null"
			}
			if err := b.AppendDebezium([]byte(raw), nil); err != nil {
				t.Fatal(err)
			}
		}
		rc := b.(chconn.RangeColumn)
		all := deref(b.Values())
		for _, r := range [][2]int{{0, 50}, {0, 0}, {3, 17}, {49, 50}, {10, 11}} {
			got := deref(rc.ValuesRange(r[0], r[1]))
			if !reflect.DeepEqual(got, all[r[0]:r[1]]) {
				t.Errorf("%+v rows %v: %v, Values gives %v", c, r, got, all[r[0]:r[1]])
			}
		}
		if c.Type == "text" && rc.DataSize() == 0 {
			t.Errorf("%+v: DataSize 0", c)
		}
	}
}

// FuzzAppendUnquoted: decoding into the arena gives unquote's result and
// error for any input.
func FuzzAppendUnquoted(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `"\"`, `"\x"`, `"a\nb"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, errW := unquote(raw)
		got, errG := appendUnquoted([]byte("prefix"), raw)
		if (errW == nil) != (errG == nil) {
			t.Fatalf("%q: unquote error %v, appendUnquoted error %v", raw, errW, errG)
		}
		if errW == nil && string(got) != "prefix"+want {
			t.Fatalf("%q: %q, unquote gives %q", raw, got, want)
		}
	})
}

// FuzzFastUTCMicros: the fast timestamp reader agrees with
// parseISOTimestamp wherever it answers.
func FuzzFastUTCMicros(f *testing.F) {
	for _, s := range []string{"2025-03-01T10:15:30.123456Z", "2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "1969-12-31T23:59:59.999999999Z",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9Z", "2025-03-01T10:15:30+02:00", "2025-13-01T00:00:00Z", "2025-03-01T10:15:30.Z", "2025-03-01T24:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := fastUTCMicros([]byte(s))
		if !ok {
			return
		}
		want, err := parseISOTimestamp(s)
		if err != nil || want.inf != 0 {
			t.Fatalf("%q: fast path gives %d, parseISOTimestamp %v %v", s, got, want, err)
		}
		if got != want.micros {
			t.Fatalf("%q: fast path %d, parseISOTimestamp %d", s, got, want.micros)
		}
	})
}

func TestFastUTCMicrosTakesTheUsualForm(t *testing.T) {
	for _, s := range []string{"2025-03-01T10:15:30.123456Z", "2025-03-01T10:15:30Z", "1900-01-01T00:00:00.5Z"} {
		if _, ok := fastUTCMicros([]byte(s)); !ok {
			t.Errorf("%q took the slow path", s)
		}
	}
	for _, s := range []string{"2025-03-01T10:15:30+02:00", "+12025-03-01T10:15:30Z", "2025-02-30T10:15:30Z"} {
		if _, ok := fastUTCMicros([]byte(s)); ok {
			t.Errorf("%q took the fast path", s)
		}
	}
}
