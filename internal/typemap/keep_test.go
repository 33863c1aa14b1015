package typemap

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// TestKeepMatchesFreshBuilder: after Keep, a builder holds what a new
// builder given only the kept values holds, for every builder kind and
// for patterns that drop the first, the last, runs and single values.
func TestKeepMatchesFreshBuilder(t *testing.T) {
	cases := []struct {
		c    Column
		fs   *FieldSchema
		raws []string
	}{
		{Column{Type: "text"}, &FieldSchema{Type: "string"}, []string{`"a"`, `""`, `"bcd"`, `"e\"f"`, `"ghij"`, `""`, `"k"`, `"lmnop"`}},
		{Column{Type: "text", Nullable: true}, &FieldSchema{Type: "string"}, []string{`null`, `"a"`, `""`, `null`, `"bcd"`, `"ef"`, `null`, `"g"`}},
		{Column{Type: "bigint"}, &FieldSchema{Type: "int64"}, []string{`1`, `2`, `3`, `4`, `5`, `6`, `7`, `8`}},
		{Column{Type: "integer", Nullable: true}, &FieldSchema{Type: "int32"}, []string{`1`, `null`, `3`, `null`, `5`, `6`, `null`, `8`}},
		{Column{Type: "numeric", Precision: 12, Scale: 2, Nullable: true}, &FieldSchema{Type: "bytes", Name: nameDecimal, Parameters: map[string]string{"scale": "2"}},
			[]string{b64(100, 2), `null`, b64(-5, 1), b64(12345, 2), `null`, b64(7, 1), b64(8, 1), b64(9, 1)}},
		{Column{Type: "text", Array: true}, &FieldSchema{Type: "array", Items: &FieldSchema{Type: "string"}},
			[]string{`["a"]`, `[]`, `null`, `["b","c"]`, `["d"]`, `["e"]`, `[]`, `["f","g","h"]`}},
	}
	patterns := []string{"11111111", "00000000", "01111111", "11111110", "10101010", "01010101", "11001100", "00111000", "10000001"}
	for _, tc := range cases {
		for _, pat := range patterns {
			name := fmt.Sprintf("%s nullable=%v array=%v keep=%s", tc.c.Type, tc.c.Nullable, tc.c.Array, pat)
			got := mustBuilder(t, tc.c)
			want := mustBuilder(t, tc.c)
			keep := make([]bool, len(tc.raws))
			for i, raw := range tc.raws {
				if err := got.AppendDebezium([]byte(raw), tc.fs); err != nil {
					t.Fatalf("%s: append %s: %v", name, raw, err)
				}
				keep[i] = pat[i] == '1'
				if keep[i] {
					if err := want.AppendDebezium([]byte(raw), tc.fs); err != nil {
						t.Fatalf("%s: append %s: %v", name, raw, err)
					}
				}
			}
			k, ok := got.(Keeper)
			if !ok {
				t.Fatalf("%s: %T is not a Keeper", name, got)
			}
			if !tc.c.Array { // (an array's NULL is an empty array)
				for i := range tc.raws {
					for j := range tc.raws {
						if g, w := k.Same(i, j), tc.raws[i] == tc.raws[j]; g != w {
							t.Errorf("%s: Same(%s, %s) = %v", name, tc.raws[i], tc.raws[j], g)
						}
					}
				}
			}
			k.Keep(keep)
			if got.Len() != want.Len() {
				t.Fatalf("%s: %d values, want %d", name, got.Len(), want.Len())
			}
			// (An emptied builder may hold an empty slice where a new one holds nil.)
			if g, w := got.Values(), want.Values(); want.Len() > 0 && !reflect.DeepEqual(g, w) {
				t.Errorf("%s: values %v, want %v", name, show(g), show(w))
			}
			for i := 0; i < want.Len(); i++ {
				if g, w := got.Literal(i), want.Literal(i); g != w {
					t.Errorf("%s: literal %d %s, want %s", name, i, g, w)
				}
			}
			// Appending after Keep continues from the kept values.
			if err := got.AppendDebezium([]byte(tc.raws[0]), tc.fs); err != nil {
				t.Fatal(err)
			}
			if err := want.AppendDebezium([]byte(tc.raws[0]), tc.fs); err != nil {
				t.Fatal(err)
			}
			if g, w := got.Literal(got.Len()-1), want.Literal(want.Len()-1); g != w {
				t.Errorf("%s: appended after Keep: %s, want %s", name, g, w)
			}
		}
	}
}

func mustBuilder(t *testing.T, c Column) Builder {
	t.Helper()
	b, err := NewBuilder(c, chconn.Legacy(), DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// show dereferences the pointers of a nullable column's values for messages.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return fmt.Sprint(v)
	}
	out := "["
	for i := 0; i < rv.Len(); i++ {
		e := rv.Index(i)
		if e.Kind() == reflect.Pointer {
			if e.IsNil() {
				out += " NULL"
				continue
			}
			e = e.Elem()
		}
		out += fmt.Sprintf(" %v", e.Interface())
	}
	return out + " ]"
}

// TestStrAppendCopyGrowing: a value copied within its own builder when
// the copy makes the arena move (reserve) comes out whole.
func TestStrAppendCopyGrowing(t *testing.T) {
	b := mustBuilder(t, Column{Type: "text"})
	long := strings.Repeat("x", 4000)
	if err := b.AppendDebezium([]byte(`"`+long+`"`), &FieldSchema{Type: "string"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // the first copy outgrows the 4096-byte arena
		if err := b.AppendCopy(i); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range b.Values().([]string) {
		if v != long {
			t.Fatalf("value %d: %d bytes, want the %d copied", i, len(v), len(long))
		}
	}
}
