package typemap

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

func TestNormJSONTypeRefused(t *testing.T) {
	pol := DefaultPolicies()
	pol.JSON = JSONNative
	c := Column{Name: "doc", Type: "jsonb"}
	if _, err := NormExprs(c, `"doc"`, "`doc`", chconn.Modern(), pol); err == nil {
		t.Error("the JSON column type has no checksum form, yet got one")
	}
	if _, err := NormExprs(c, `"doc"`, "`doc`", chconn.Legacy(), pol); err != nil {
		t.Errorf("legacy stores json as String: %v", err)
	}
}

func TestNormNeverNull(t *testing.T) {
	// Every nullable form ends in the NULL tag on both sides.
	pol := DefaultPolicies()
	for _, typ := range []string{"int4", "bool", "float8", "numeric", "text", "bpchar", "uuid", "jsonb", "bytea", "date", "time", "interval", "timestamptz", "inet"} {
		n, err := NormExprs(Column{Name: "c", Type: typ, Nullable: true}, `"c"`, "`c`", chconn.Legacy(), pol)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(n.PG, "coalesce(") || !strings.HasSuffix(n.PG, `'\N')`) || !strings.HasPrefix(n.CH, "ifNull(") {
			t.Errorf("%s: %s / %s", typ, n.PG, n.CH)
		}
	}
}

func TestNormDecimalForms(t *testing.T) {
	pol := DefaultPolicies()
	small := Column{Name: "c", Type: "numeric", Precision: 12, Scale: 2}
	n, _ := NormExprs(small, `"c"`, "`c`", chconn.Legacy(), pol)
	if !strings.Contains(n.PG, `"c" * 100)::bigint`) || !strings.Contains(n.CH, "toInt64(toDecimal64(`c`, 2) * 100)") {
		t.Errorf("numeric(12,2) as scaled integers: %s / %s", n.PG, n.CH)
	}
	wide := Column{Name: "c", Type: "numeric"} // Decimal(38,10)
	n, _ = NormExprs(wide, `"c"`, "`c`", chconn.Legacy(), pol)
	if !strings.Contains(n.PG, "trim_scale") || !strings.Contains(n.CH, "replaceRegexpOne") {
		t.Errorf("numeric as trimmed text: %s / %s", n.PG, n.CH)
	}
}
