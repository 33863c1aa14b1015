package ddl

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// Analytics that stay exact (see ANALYTICS.md). A materialized view fed by
// inserts would see every row version — an order updated three times would
// be summed three times and deletes would never subtract — so every
// analytic here is a plain view that reads the current rows: one
// <table>_current view per source table (FINAL collapses versions at read
// time, _is_deleted = 0 hides deletes), and the analytics over those.
// The results equal the same query on PostgreSQL after any mix of inserts,
// updates and deletes, on every capability profile, at the cost of merging
// at read time.

// CurrentSuffix names the view of a table's current rows.
const CurrentSuffix = "_current"

// CurrentViewName is the view holding the current rows of a source table.
func CurrentViewName(table string) string { return table + CurrentSuffix }

// View is one generated view.
type View struct {
	Name   string
	Select string
}

// analyticsEnv renders column expressions for one profile: the same
// analytic needs different SQL where the storage type differs (on servers
// without DateTime64 timestamps are Int64 epoch microseconds).
type analyticsEnv struct {
	tables map[string]Table
	p      chconn.Profile
	pol    typemap.Policies
}

// epochMicros reports whether a column is stored as Int64 epoch µs.
func (e analyticsEnv) epochMicros(table, col string) bool {
	c, _ := e.tables[table].Column(col)
	k := c.Kind()
	return (k == typemap.KindTimestamp || k == typemap.KindTimestampTZ) &&
		strings.Contains(c.ClickHouseType(e.p, e.pol), "Int64")
}

// timeOf turns x (the column, or an aggregate of it such as min(col)) into
// a DateTime. Epoch µs become DateTime('UTC'), truncated to the second
// (DateTime has no fraction); DateTime64(6, 'UTC') stays as it is. The
// explicit 'UTC' keeps day boundaries independent of the server's time
// zone, like (ts AT TIME ZONE 'UTC') on PostgreSQL.
func (e analyticsEnv) timeOf(table, col, x string) string {
	if e.epochMicros(table, col) {
		return "toDateTime(intDiv(" + x + ", 1000000), 'UTC')"
	}
	return x
}

// dayOf is the UTC calendar day of a timestamp or date column.
func (e analyticsEnv) dayOf(table, col string) string {
	return "toDate(" + e.timeOf(table, col, q(col)) + ")"
}

func (e analyticsEnv) from(table string) string { return q(CurrentViewName(table)) }

// analytic is one analytics view and the source columns it reads.
type analytic struct {
	name  string
	needs map[string][]string
	sql   func(e analyticsEnv) string
}

// analytics are the design's four summaries and the spec's example
// queries. Example 2 (vehicles by make, model, status) is
// vehicle_inventory itself. Aliases never reuse a source column name:
// ClickHouse substitutes aliases inside expressions, so
// sum(discount) AS discount would nest an aggregate in itself.
var analytics = []analytic{
	{
		name:  "daily_sales",
		needs: map[string][]string{"orders": {"order_date", "customer_id", "total_amount", "discount", "final_amount"}},
		sql: func(e analyticsEnv) string {
			return "SELECT " + e.dayOf("orders", "order_date") + " AS `date`, count() AS orders, " +
				"uniqExact(`customer_id`) AS customers, sum(`total_amount`) AS gross_amount, " +
				"sum(`discount`) AS discounts, sum(`final_amount`) AS revenue\n" +
				"FROM " + e.from("orders") + "\nGROUP BY `date`"
		},
	},
	{
		name:  "vehicle_inventory",
		needs: map[string][]string{"vehicles": {"make", "model", "status", "price"}},
		sql: func(e analyticsEnv) string {
			return "SELECT `make`, `model`, `status`, count() AS `count`, sum(`price`) AS total_price, avg(`price`) AS avg_price\n" +
				"FROM " + e.from("vehicles") + "\nGROUP BY `make`, `model`, `status`"
		},
	},
	{
		name: "customer_lifetime_value",
		needs: map[string][]string{
			"customers": {"customer_id", "email"},
			"orders":    {"customer_id", "order_date", "final_amount"},
		},
		// Orders are aggregated before the join: the same result as
		// PostgreSQL's join-then-group (customer_id is unique in
		// customers_current), and a join form 18.16 accepts. Newer
		// servers require the aliases of joined subqueries.
		sql: func(e analyticsEnv) string {
			return "SELECT `customer_id`, `email`, total_orders, lifetime_value, first_order, last_order\n" +
				"FROM (SELECT `customer_id`, `email` FROM " + e.from("customers") + ") AS c\n" +
				"ALL INNER JOIN\n(\n    SELECT `customer_id`, count() AS total_orders, sum(`final_amount`) AS lifetime_value,\n" +
				"        " + e.timeOf("orders", "order_date", "min(`order_date`)") + " AS first_order,\n" +
				"        " + e.timeOf("orders", "order_date", "max(`order_date`)") + " AS last_order\n" +
				"    FROM " + e.from("orders") + "\n    GROUP BY `customer_id`\n) AS o USING (`customer_id`)"
		},
	},
	{
		name:  "payment_analytics",
		needs: map[string][]string{"payments": {"created_at", "method", "status", "amount"}},
		sql: func(e analyticsEnv) string {
			return "SELECT " + e.dayOf("payments", "created_at") + " AS `day`, `method`, `status`, " +
				"count() AS payments, sum(`amount`) AS total_amount\n" +
				"FROM " + e.from("payments") + "\nGROUP BY `day`, `method`, `status`"
		},
	},
	{
		// Example 1. now() is evaluated at query time, on the server.
		name:  "sales_last_7_days",
		needs: map[string][]string{"orders": {"order_date", "final_amount"}},
		sql: func(e analyticsEnv) string {
			return "SELECT " + e.dayOf("orders", "order_date") + " AS `date`, count() AS orders, sum(`final_amount`) AS revenue\n" +
				"FROM " + e.from("orders") + "\nWHERE " + e.timeOf("orders", "order_date", "`order_date`") +
				" >= now() - INTERVAL 7 DAY\nGROUP BY `date`"
		},
	},
	{
		// Example 3; customer_id breaks ties so the 100 are well defined.
		name:  "top_customers",
		needs: map[string][]string{"customers": {"customer_id", "email"}, "orders": {"customer_id", "order_date", "final_amount"}},
		sql: func(e analyticsEnv) string {
			return "SELECT `customer_id`, `email`, total_orders, lifetime_value\nFROM `customer_lifetime_value`\n" +
				"ORDER BY lifetime_value DESC, `customer_id`\nLIMIT 100"
		},
	},
}

// AnalyticsNames lists every analytics view sluice can generate, in
// creation order.
func AnalyticsNames() []string {
	names := make([]string, len(analytics))
	for i, a := range analytics {
		names[i] = a.name
	}
	return names
}

// currentView is SELECT <source columns> FROM t FINAL WHERE _is_deleted = 0.
// FINAL merges all versions of a key at read time, across parts and
// partitions, keeping the highest _version; 18.16 keeps a delete as that
// highest version (ReplacingMergeTree(_version) cannot drop it), which the
// filter hides. On servers with ReplacingMergeTree(_version, _is_deleted)
// FINAL already hides deletes and the filter is a no-op. The filter is a
// WHERE, applied after FINAL, never a PREWHERE: filtering before the merge
// would let an older live version win.
func currentView(t Table, opts Options) View {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = q(c.Name)
	}
	return View{
		Name:   CurrentViewName(t.Name),
		Select: fmt.Sprintf("SELECT %s\nFROM %s FINAL\nWHERE %s = 0", strings.Join(cols, ", "), q(t.Name), q(ColIsDeleted)),
	}
}

// AnalyticsViews returns the views in creation order: every table's
// _current view (tables in name order), then each analytic whose source
// tables are all present. A present table lacking a needed column is an
// error naming it.
func AnalyticsViews(tables []Table, p chconn.Profile, opts Options) ([]View, error) {
	sorted := append([]Table(nil), tables...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	env := analyticsEnv{tables: map[string]Table{}, p: p, pol: opts.Policies}
	var views []View
	names := map[string]bool{}
	for _, t := range sorted {
		for _, c := range t.Columns {
			if isMetadata(c.Name) {
				return nil, fmt.Errorf("ddl: table %s: column %q collides with a sluice metadata column", t.Name, c.Name)
			}
		}
		env.tables[t.Name] = t
		v := currentView(t, opts)
		views = append(views, v)
		names[v.Name] = true
	}
	for _, a := range analytics {
		ok, err := a.available(env.tables)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if _, clash := env.tables[a.name]; clash || names[a.name] {
			return nil, fmt.Errorf("ddl: analytics view %s has the name of a source table or view", a.name)
		}
		views = append(views, View{Name: a.name, Select: a.sql(env)})
		names[a.name] = true
	}
	return views, nil
}

func (a analytic) available(tables map[string]Table) (bool, error) {
	for table, cols := range a.needs {
		t, ok := tables[table]
		if !ok {
			return false, nil
		}
		for _, c := range cols {
			if _, ok := t.Column(c); !ok {
				return false, fmt.Errorf("ddl: analytics view %s needs column %s.%s, which the source does not have", a.name, table, c)
			}
		}
	}
	return true, nil
}

// createViewSQL is the idempotent CREATE of one view.
func createViewSQL(name, sel string, opts Options) string {
	return fmt.Sprintf("CREATE VIEW IF NOT EXISTS %s%s AS\n%s", q(name), onCluster(opts), sel)
}

// AnalyticsSQL returns the CREATE VIEW IF NOT EXISTS statements of the
// analytics views (print, and the first apply).
func AnalyticsSQL(tables []Table, p chconn.Profile, opts Options) ([]string, error) {
	views, err := AnalyticsViews(tables, p, opts)
	if err != nil {
		return nil, err
	}
	stmts := make([]string, len(views))
	for i, v := range views {
		stmts[i] = createViewSQL(v.Name, v.Select, opts)
	}
	return stmts, nil
}

// AnalyticsScript is AnalyticsSQL as one printable script.
func AnalyticsScript(tables []Table, p chconn.Profile, opts Options) (string, error) {
	stmts, err := AnalyticsSQL(tables, p, opts)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- sluice analytics views for ClickHouse %s (exact: read through FINAL, see ddl/ANALYTICS.md)\n", p.Version)
	for _, s := range stmts {
		b.WriteString("\n")
		b.WriteString(s)
		b.WriteString(";\n")
	}
	return b.String(), nil
}

// ViewChange is what ApplyAnalytics did to one view.
type ViewChange struct {
	Name     string
	Replaced bool // false: created
}

func (c ViewChange) String() string {
	if c.Replaced {
		return "replace view " + c.Name
	}
	return "create view " + c.Name
}

// newSuffix names the scratch view ApplyAnalytics compares definitions with.
const newSuffix = "__sluice_new"

// viewQuery reads a table's CREATE statement; "" when it does not exist.
func viewQuery(ctx context.Context, conn chconn.Conn, name string) (string, error) {
	rows, err := conn.Query(ctx, "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = "+
		chconn.QuoteString(name))
	if err != nil {
		return "", fmt.Errorf("ddl: view %s: read definition: %w", name, err)
	}
	if len(rows) == 0 {
		return "", nil
	}
	return rows[0][0], nil
}

// afterName is a CREATE statement with everything up to the first
// occurrence of the object's name cut off, so the statements of two
// objects with different names compare by their definitions.
func afterName(stmt, name string) string {
	if i := strings.Index(stmt, name); i >= 0 {
		return stmt[i+len(name):]
	}
	return stmt
}

// ApplyAnalytics creates the missing analytics views and replaces those
// whose definition changed (a source column added, a new sluice version);
// running it twice changes nothing the second time. Definitions are
// compared as the server prints them: the wanted view is created under a
// scratch name, and both create_table_query texts are compared after the
// name, so no client-side normalisation has to mimic the server's. A
// replacement is DROP then RENAME: 18.16 has neither CREATE OR REPLACE
// VIEW nor EXCHANGE TABLES, so a query in that instant can fail with
// "table doesn't exist" (never a wrong result).
func ApplyAnalytics(ctx context.Context, conn chconn.Conn, tables []Table, opts Options, log *slog.Logger) ([]ViewChange, error) {
	views, err := AnalyticsViews(tables, conn.Profile(), opts)
	if err != nil {
		return nil, err
	}
	var done []ViewChange
	for _, v := range views {
		have, err := viewQuery(ctx, conn, v.Name)
		if err != nil {
			return done, err
		}
		if have == "" {
			if err := conn.Exec(ctx, createViewSQL(v.Name, v.Select, opts)); err != nil {
				return done, fmt.Errorf("ddl: create view %s: %w", v.Name, err)
			}
			done = append(done, ViewChange{Name: v.Name})
			log.Info("analytics view created", "view", v.Name)
			continue
		}
		changed, err := replaceIfChanged(ctx, conn, v, have, opts)
		if err != nil {
			return done, err
		}
		if changed {
			done = append(done, ViewChange{Name: v.Name, Replaced: true})
			log.Info("analytics view replaced", "view", v.Name)
		}
	}
	return done, nil
}

func replaceIfChanged(ctx context.Context, conn chconn.Conn, v View, have string, opts Options) (bool, error) {
	scratch := v.Name + newSuffix
	drop := "DROP TABLE IF EXISTS " + q(scratch) + onCluster(opts)
	if err := conn.Exec(ctx, drop); err != nil {
		return false, fmt.Errorf("ddl: view %s: %w", v.Name, err)
	}
	if err := conn.Exec(ctx, createViewSQL(scratch, v.Select, opts)); err != nil {
		return false, fmt.Errorf("ddl: view %s: create the new definition: %w", v.Name, err)
	}
	want, err := viewQuery(ctx, conn, scratch)
	if err != nil {
		return false, err
	}
	if afterName(want, scratch) == afterName(have, v.Name) {
		return false, conn.Exec(ctx, drop)
	}
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+q(v.Name)+onCluster(opts)); err != nil {
		return false, fmt.Errorf("ddl: view %s: drop the old definition: %w", v.Name, err)
	}
	if err := conn.Exec(ctx, "RENAME TABLE "+q(scratch)+" TO "+q(v.Name)+onCluster(opts)); err != nil {
		return false, fmt.Errorf("ddl: view %s: rename the new definition into place: %w", v.Name, err)
	}
	return true, nil
}
