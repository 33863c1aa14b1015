package replicate

import (
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// TestTokenRoundTrip checks that ClickHouse's text of a stored value, turned
// back into a token, appends the same value as the original message did.
func TestTokenRoundTrip(t *testing.T) {
	legacy := chconn.ProfileFor(chconn.Version{Major: 18, Minor: 16})
	modern := chconn.ProfileFor(chconn.Version{Major: 26, Minor: 7})
	pol := typemap.DefaultPolicies()
	cases := []struct {
		col      typemap.Column
		p        chconn.Profile
		original string
		fs       *typemap.FieldSchema
		stored   string
	}{
		{typemap.Column{Name: "i", Type: "int8"}, legacy, `42`, nil, "42"},
		{typemap.Column{Name: "f", Type: "float8"}, legacy, `"NaN"`, nil, "nan"},
		{typemap.Column{Name: "b", Type: "bool"}, legacy, `true`, nil, "1"},
		{typemap.Column{Name: "b", Type: "bool"}, modern, `false`, nil, "false"},
		{typemap.Column{Name: "d", Type: "numeric", Precision: 12, Scale: 2}, legacy, `"B88="`, &typemap.FieldSchema{Name: "org.apache.kafka.connect.data.Decimal", Parameters: map[string]string{"scale": "2"}}, "19.99"},
		{typemap.Column{Name: "s", Type: "text", Nullable: true}, legacy, `"a\tb\"c"`, nil, "a\tb\"c"},
		{typemap.Column{Name: "y", Type: "bytea"}, legacy, `"AAEC"`, nil, "000102"},
		{typemap.Column{Name: "u", Type: "uuid"}, legacy, `"0b4bd3d1-6a43-4b34-9a1e-0f1b4a2c9d11"`, nil, "0b4bd3d1-6a43-4b34-9a1e-0f1b4a2c9d11"},
		{typemap.Column{Name: "dt", Type: "date"}, legacy, `19000`, nil, "19000"},
		{typemap.Column{Name: "dt", Type: "date", Nullable: true}, legacy, `-7232`, nil, "-7232"},
		{typemap.Column{Name: "dt", Type: "date"}, legacy, `-2440588`, nil, "-2440588"},
		{typemap.Column{Name: "dt", Type: "date"}, modern, `19000`, nil, "2022-01-08"},
		{typemap.Column{Name: "dt", Type: "date"}, modern, `-7232`, nil, "1950-03-15"},
		{typemap.Column{Name: "dts", Type: "date", Array: true}, legacy, `[-7232,null,19000]`, nil, "[-7232,NULL,19000]"},
		{typemap.Column{Name: "dts", Type: "date", Array: true}, modern, `[-7232,null]`, nil, "['1950-03-15',NULL]"},
		{typemap.Column{Name: "ts", Type: "timestamptz"}, legacy, `"1960-06-01T12:00:00Z"`, nil, "-302443200000000"},
		{typemap.Column{Name: "ts", Type: "timestamptz"}, legacy, `"2025-03-01T10:15:30.123456Z"`, nil, "1740824130123456"},
		{typemap.Column{Name: "ts", Type: "timestamptz"}, modern, `"2025-03-01T10:15:30.123456Z"`, nil, "2025-03-01 10:15:30.123456"},
		{typemap.Column{Name: "tags", Type: "text", Array: true}, legacy, `["a'b",null,"c"]`, nil, `['a\'b',NULL,'c']`},
		{typemap.Column{Name: "n", Type: "int4", Array: true}, legacy, `[1,null,3]`, nil, `[1,NULL,3]`},
		{typemap.Column{Name: "e", Type: "order_status", EnumLabels: []string{"x"}}, modern, `"shipped"`, nil, "shipped"},
	}
	for _, c := range cases {
		want, _ := typemap.NewBuilder(c.col, c.p, pol)
		if err := want.AppendDebezium([]byte(c.original), c.fs); err != nil {
			t.Fatalf("%s: original: %v", c.col.Name, err)
		}
		tok, err := tokenFromClickHouse(column{col: c.col}, false, c.stored)
		if err != nil {
			t.Fatalf("%s: token: %v", c.col.Name, err)
		}
		got, _ := typemap.NewBuilder(c.col, c.p, pol)
		if err := got.AppendDebezium(tok, nil); err != nil {
			t.Fatalf("%s: token %s: %v", c.col.Name, tok, err)
		}
		if want.Literal(0) != got.Literal(0) {
			t.Errorf("%s: stored %q → %s → %s, want %s", c.col.Name, c.stored, tok, got.Literal(0), want.Literal(0))
		}
	}
}

func TestPlaceholders(t *testing.T) {
	ph := newPlaceholders("")
	for _, s := range []string{`"__debezium_unavailable_value"`, `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`, `["__debezium_unavailable_value"]`} {
		if !ph.match([]byte(s)) {
			t.Errorf("%s not recognised", s)
		}
	}
	if ph.match([]byte(`"x"`)) || ph.match([]byte(`1`)) {
		t.Error("ordinary value taken for the placeholder")
	}
}

func TestColumnFromClickHouse(t *testing.T) {
	for typ, want := range map[string]typemap.Kind{
		"Int64": typemap.KindInt64, "Nullable(Decimal(12, 2))": typemap.KindDecimal, "LowCardinality(String)": typemap.KindEnum,
		"DateTime64(6, 'UTC')": typemap.KindTimestampTZ, "Array(Nullable(String))": typemap.KindText, "UInt8": typemap.KindBool,
	} {
		if got := columnFromClickHouse("c", typ).Kind(); got != want {
			t.Errorf("%s: kind %v, want %v", typ, got, want)
		}
	}
}
