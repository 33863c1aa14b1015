package ddl

import "github.com/sluice-cdc/sluice/internal/typemap"

type col = typemap.Column

// shopTables mirrors scripts/shop/schema.sql as the catalog reader returns it.
func shopTables() []Table {
	ts := func(n string) col { return col{Name: n, Type: "timestamptz"} }
	money := func(n string) col { return col{Name: n, Type: "numeric", Precision: 12, Scale: 2} }
	vc := func(n string, l int, null bool) col { return col{Name: n, Type: "varchar", Length: l, Nullable: null} }
	return []Table{
		{Schema: "public", Name: "customers", PrimaryKey: []string{"customer_id"}, Columns: []col{
			{Name: "customer_id", Type: "int8"}, vc("email", 255, false), vc("first_name", 80, false), vc("last_name", 80, false),
			vc("phone", 32, true), {Name: "birth_date", Type: "date", Nullable: true}, vc("city", 80, true),
			{Name: "country_code", Type: "bpchar", Length: 2}, {Name: "is_active", Type: "bool"},
			{Name: "marketing_opt_in", Type: "bool", Nullable: true}, {Name: "loyalty_points", Type: "int4"},
			{Name: "preferences", Type: "jsonb", Nullable: true}, {Name: "tags", Type: "text", Array: true, Nullable: true},
			ts("created_at"), ts("updated_at")}},
		{Schema: "public", Name: "vehicles", PrimaryKey: []string{"vehicle_id"}, Columns: []col{
			{Name: "vehicle_id", Type: "int8"}, vc("vin", 17, false), vc("make", 40, false), vc("model", 60, false),
			{Name: "year", Type: "int2"}, vc("color", 30, true), vc("fuel_type", 20, false), money("price"),
			{Name: "mileage_km", Type: "float8"},
			{Name: "status", Type: "vehicle_status", EnumLabels: []string{"available", "reserved", "sold", "maintenance"}},
			{Name: "is_new", Type: "bool"}, {Name: "registration_date", Type: "date", Nullable: true},
			{Name: "features", Type: "jsonb"}, {Name: "description", Type: "text", Nullable: true},
			ts("created_at"), ts("updated_at")}},
		{Schema: "public", Name: "orders", PrimaryKey: []string{"order_id"}, Columns: []col{
			{Name: "order_id", Type: "int8"}, {Name: "order_uuid", Type: "uuid"}, {Name: "customer_id", Type: "int8"},
			{Name: "status", Type: "order_status", EnumLabels: []string{"pending", "confirmed", "shipped", "delivered", "cancelled"}},
			ts("order_date"), money("total_amount"), money("discount"), money("final_amount"),
			{Name: "currency", Type: "bpchar", Length: 3}, {Name: "pickup_at", Type: "timestamp", Nullable: true},
			vc("shipping_address", 200, true), {Name: "notes", Type: "text", Nullable: true},
			ts("created_at"), ts("updated_at")}},
		{Schema: "public", Name: "order_items", PrimaryKey: []string{"order_item_id"}, Columns: []col{
			{Name: "order_item_id", Type: "int8"}, {Name: "order_id", Type: "int8"}, {Name: "vehicle_id", Type: "int8"},
			{Name: "quantity", Type: "int2"}, money("unit_price"), money("discount"), money("line_total"),
			ts("created_at"), ts("updated_at")}},
		{Schema: "public", Name: "payments", PrimaryKey: []string{"payment_id"}, Columns: []col{
			{Name: "payment_id", Type: "int8"}, {Name: "order_id", Type: "int8"}, {Name: "transaction_uuid", Type: "uuid"},
			vc("method", 20, false),
			{Name: "status", Type: "payment_status", EnumLabels: []string{"pending", "authorized", "captured", "failed", "refunded"}},
			money("amount"), {Name: "currency", Type: "bpchar", Length: 3}, {Name: "paid_at", Type: "timestamptz", Nullable: true},
			{Name: "card_last4", Type: "bpchar", Length: 4, Nullable: true}, ts("created_at"), ts("updated_at")}},
	}
}

// hostileTable has names that break naive quoting.
func hostileTable() Table {
	return Table{Schema: "public", Name: "we`ird \"table\"; DROP TABLE x; --", PrimaryKey: []string{"select", "id`) ENGINE=Log --"},
		Columns: []col{
			{Name: "select", Type: "int4"},
			{Name: "id`) ENGINE=Log --", Type: "text"},
			{Name: "it's \\ a column", Type: "text", Nullable: true},
			{Name: "order", Type: "kind`'", EnumLabels: []string{"a'b", "c`d"}},
			{Name: "created_at", Type: "timestamptz"},
		}}
}
