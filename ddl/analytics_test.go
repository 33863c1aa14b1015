package ddl

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

func TestAnalyticsGolden(t *testing.T) {
	for name, p := range map[string]chconn.Profile{"legacy": chconn.Legacy(), "modern": chconn.Modern()} {
		sql, err := AnalyticsScript(shopTables(), p, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "analytics_"+name, sql)
	}
}

func TestAnalyticsViewsPerProfile(t *testing.T) {
	legacy, err := AnalyticsViews(shopTables(), chconn.Legacy(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	modern, err := AnalyticsViews(shopTables(), chconn.Modern(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	byName := func(vs []View) map[string]string {
		m := map[string]string{}
		for _, v := range vs {
			m[v.Name] = v.Select
		}
		return m
	}
	l, m := byName(legacy), byName(modern)
	for _, n := range append([]string{"orders_current", "payments_current"}, AnalyticsNames()...) {
		if l[n] == "" || m[n] == "" {
			t.Errorf("view %s missing", n)
		}
	}
	if !strings.Contains(l["daily_sales"], "toDate(toDateTime(intDiv(`order_date`, 1000000), 'UTC'))") {
		t.Errorf("legacy day of an epoch-µs timestamp: %s", l["daily_sales"])
	}
	if !strings.Contains(m["daily_sales"], "toDate(`order_date`)") {
		t.Errorf("modern day of a DateTime64: %s", m["daily_sales"])
	}
	for _, v := range legacy[:5] {
		if !strings.HasSuffix(v.Select, "FINAL\nWHERE `_is_deleted` = 0") {
			t.Errorf("%s does not read current rows: %s", v.Name, v.Select)
		}
	}
}

func TestAnalyticsSubsetAndErrors(t *testing.T) {
	shop := shopTables()
	views, err := AnalyticsViews([]Table{shop[1]}, chconn.Legacy(), DefaultOptions()) // vehicles only
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 || views[0].Name != "vehicles_current" || views[1].Name != "vehicle_inventory" {
		t.Errorf("vehicles only: %v", views)
	}
	orders := shop[2]
	orders.Columns = orders.Columns[:7] // no final_amount
	_, err = AnalyticsViews([]Table{orders}, chconn.Legacy(), DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "orders.final_amount") {
		t.Errorf("missing column not named: %v", err)
	}
}

func TestAfterName(t *testing.T) {
	a := "CREATE VIEW db.daily_sales__sluice_new (`date` Date) AS SELECT 1"
	b := "CREATE VIEW db.daily_sales (`date` Date) AS SELECT 1"
	if afterName(a, "daily_sales__sluice_new") != afterName(b, "daily_sales") {
		t.Error("same definition compares different")
	}
}
