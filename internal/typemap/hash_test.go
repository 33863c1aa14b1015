package typemap

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

func TestIntExprsKinds(t *testing.T) {
	pol := DefaultPolicies()
	for _, typ := range []string{"int2", "int4", "int8", "bool", "date", "time", "interval", "timestamp", "timestamptz"} {
		if _, ok := IntExprs(Column{Name: "c", Type: typ}, `"c"`, "`c`", chconn.Legacy(), pol); !ok {
			t.Errorf("%s has no integer form", typ)
		}
	}
	for _, c := range []Column{
		{Name: "c", Type: "text"}, {Name: "c", Type: "float8"}, {Name: "c", Type: "uuid"}, {Name: "c", Type: "bytea"},
		{Name: "c", Type: "numeric"}, // Decimal(38,10): wider than Int64
		{Name: "c", Type: "int4", Array: true},
	} {
		if f, ok := IntExprs(c, `"c"`, "`c`", chconn.Legacy(), pol); ok {
			t.Errorf("%+v has an integer form: %+v", c, f)
		}
	}
}

func TestIntExprsTemporal(t *testing.T) {
	ts := Column{Name: "c", Type: "timestamptz", Nullable: true}
	pol := DefaultPolicies()
	f, _ := IntExprs(ts, `"c"`, "`c`", chconn.Modern(), pol)
	// Error policy: infinity, never written, gets a marker no value has.
	if !strings.Contains(f.PG, "THEN 9223372036854775807") || f.CH != "toUnixTimestamp64Micro(assumeNotNull(`c`))" {
		t.Errorf("timestamptz, error policy: %s / %s", f.PG, f.CH)
	}
	pol.OutOfRange = RangeClamp
	f, _ = IntExprs(ts, `"c"`, "`c`", chconn.Legacy(), pol)
	// greatest/least would turn NULL into a bound.
	if !strings.HasPrefix(f.PG, `(CASE WHEN "c" IS NULL THEN NULL`) || f.CH != "toInt64(assumeNotNull(`c`))" {
		t.Errorf("timestamptz, clamp policy: %s / %s", f.PG, f.CH)
	}
	pol.OutOfRange = RangeNull
	d := Column{Name: "c", Type: "date"}
	if !PGNullable(d, pol) || CHNullable(d) {
		t.Error("a date under the null policy can be NULL in PostgreSQL only")
	}
}

func TestIntExprsEnum(t *testing.T) {
	c := Column{Name: "c", Type: "mood", EnumLabels: []string{"sad", "it's"}}
	f, _ := IntExprs(c, `"c"`, "`c`", chconn.Modern(), DefaultPolicies())
	// No ELSE in PostgreSQL: NULL must stay NULL.
	if f.PG != `(CASE "c" WHEN 'sad' THEN 1 WHEN 'it''s' THEN 2 END)::bigint` {
		t.Errorf("PostgreSQL enum: %s", f.PG)
	}
	if f.CH != "toInt64(transform(toString(`c`), ['sad', 'it\\'s'], [1, 2], 0))" {
		t.Errorf("ClickHouse enum: %s", f.CH)
	}
}
