package chconn

import "testing"

func TestProfiles(t *testing.T) {
	old, err := ProfileForString("18.16.1")
	if err != nil {
		t.Fatal(err)
	}
	if old.DateTime64 || old.Date32 || old.Bool || old.ReplacingIsDeleted || old.LowCardinality ||
		old.LightweightDelete || old.InsertDedupToken || old.RefreshableMV || old.JSONType || old.Decimal256 {
		t.Errorf("18.16 profile has a modern feature: %+v", old)
	}
	now, err := ProfileForString("26.7.1.1")
	if err != nil {
		t.Fatal(err)
	}
	if !(now.DateTime64 && now.Date32 && now.Bool && now.ReplacingIsDeleted && now.LowCardinality &&
		now.LightweightDelete && now.InsertDedupToken && now.RefreshableMV && now.JSONType && now.Decimal256) {
		t.Errorf("26.7 profile lacks a feature: %+v", now)
	}
	mid, _ := ProfileForString("23.2.4-lts")
	if !mid.ReplacingIsDeleted || mid.LightweightDelete {
		t.Errorf("23.2: %+v", mid)
	}
	for _, bad := range []string{"", "x.y", "18"} {
		if _, err := ProfileForString(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"orders":      "`orders`",
		"we`ird":      "`we\\`ird`",
		`back\slash`:  "`back\\\\slash`",
		`a "b" 'c' d`: "`a \"b\" 'c' d`",
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	if got := QuoteString("it's\\"); got != `'it\'s\\'` {
		t.Errorf("QuoteString: %s", got)
	}
}
