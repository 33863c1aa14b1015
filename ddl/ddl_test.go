package ddl

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ddl -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

func TestShopSchemaGolden(t *testing.T) {
	for name, p := range map[string]chconn.Profile{"legacy": chconn.Legacy(), "modern": chconn.Modern()} {
		sql, warnings, err := SchemaSQL(shopTables(), p, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) > 0 {
			t.Errorf("warnings: %v", warnings)
		}
		golden(t, "shop_"+name, sql)

		opts := DefaultOptions()
		opts.Cluster = "shop_cluster"
		opts.Database = "shop"
		sql, _, err = SchemaSQL(shopTables(), p, opts)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "shop_cluster_"+name, sql)
	}
}

func TestHostileIdentifiersGolden(t *testing.T) {
	for name, p := range map[string]chconn.Profile{"legacy": chconn.Legacy(), "modern": chconn.Modern()} {
		sql, _, err := SchemaSQL([]Table{hostileTable()}, p, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "hostile_"+name, sql)
		plan, err := Diff(hostileTable(), []Existing{{Name: "select", Type: "Int32"}, {Name: "gone`; --", Type: "String"}}, p, DefaultOptions(), Allow{Drop: true})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, c := range plan {
			for _, s := range c.SQL {
				b.WriteString(s + ";\n")
			}
		}
		golden(t, "hostile_alter_"+name, b.String())
	}
}

func TestPartitionColumn(t *testing.T) {
	orders := shopTables()[2]
	opts := DefaultOptions()
	if c, w, err := PartitionColumn(orders, opts); c != "created_at" || w != "" || err != nil {
		t.Errorf("default: %q %q %v", c, w, err)
	}
	opts.Partition = map[string]string{"orders": "updated_at"}
	if _, _, err := PartitionColumn(orders, opts); err == nil || !strings.Contains(err.Error(), "updatable") {
		t.Errorf("updated_at accepted: %v", err)
	}
	opts.Partition = map[string]string{"orders": "pickup_at"}
	if _, _, err := PartitionColumn(orders, opts); err == nil || !strings.Contains(err.Error(), "nullable") {
		t.Errorf("nullable accepted: %v", err)
	}
	opts.Partition = map[string]string{"orders": "order_date"}
	if c, w, err := PartitionColumn(orders, opts); c != "order_date" || !strings.Contains(w, "must never change") || err != nil {
		t.Errorf("order_date: %q %q %v", c, w, err)
	}
	people := Table{Name: "people", PrimaryKey: []string{"id"}, Columns: []col{{Name: "id", Type: "int8"}, {Name: "born", Type: "date"}}}
	opts.Partition = map[string]string{"people": "born"}
	for p, want := range map[chconn.Profile]string{
		chconn.Modern(): "PARTITION BY toYYYYMM(`born`)\n",
		chconn.Legacy(): "PARTITION BY " + typemap.DaysMonthExpr("`born`") + "\n",
	} {
		stmts, err := CreateTableSQL(people, p, opts)
		if err != nil || !strings.Contains(stmts[0], want) {
			t.Errorf("date partition on %s: %v %v, want %s", p.Version, stmts, err, want)
		}
	}
	noDate := Table{Name: "t", PrimaryKey: []string{"id"}, Columns: []col{{Name: "id", Type: "int8"}}}
	stmts, err := CreateTableSQL(noDate, chconn.Modern(), DefaultOptions())
	if err != nil || !strings.Contains(stmts[0], "PARTITION BY tuple()") {
		t.Errorf("no date column: %v %v", stmts, err)
	}
	if _, err := CreateTableSQL(Table{Name: "nopk", Columns: noDate.Columns}, chconn.Modern(), DefaultOptions()); err == nil {
		t.Error("table without primary key accepted")
	}
}

func TestDiff(t *testing.T) {
	p := chconn.Modern()
	opts := DefaultOptions()
	orders := shopTables()[2]
	var existing []Existing
	for _, d := range columnDefs(orders, p, opts) {
		existing = append(existing, Existing{Name: d[0], Type: strings.TrimSuffix(d[1], " DEFAULT now()")})
	}
	plan, err := Diff(orders, existing, p, opts, Allow{})
	if err != nil || len(plan) != 0 {
		t.Fatalf("same schema: %v %v", plan, err)
	}
	// A new source column, a dropped one and a changed type.
	changed := orders
	changed.Columns = append([]col{}, orders.Columns...)
	changed.Columns = append(changed.Columns, col{Name: "coupon", Type: "text", Nullable: true})
	changed.Columns[5] = col{Name: "total_amount", Type: "numeric", Precision: 14, Scale: 4}
	changed.Columns = append(changed.Columns[:11], changed.Columns[12:]...) // drop notes
	plan, err = Diff(changed, existing, p, opts, Allow{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range plan {
		kinds = append(kinds, c.String())
	}
	got := strings.Join(kinds, "\n")
	want := "change type of orders.total_amount from Decimal(12, 2) to Decimal(14, 4)\n" +
		"add column orders.coupon Nullable(String)\n" +
		"drop column orders.notes (not in the source)"
	if got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	err = Refused(plan)
	if err == nil || !strings.Contains(err.Error(), "total_amount") || !strings.Contains(err.Error(), "notes") || strings.Contains(err.Error(), "coupon") {
		t.Errorf("refusal: %v", err)
	}
	if plan[1].SQL[0] != "ALTER TABLE `orders` ADD COLUMN `coupon` Nullable(String) AFTER `updated_at`" {
		t.Errorf("add SQL: %s", plan[1].SQL[0])
	}
	plan, _ = Diff(changed, existing, p, opts, Allow{Drop: true, TypeChange: true})
	if Refused(plan) != nil {
		t.Error("allowed changes still refused")
	}
}
