package health

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
)

// openClickHouse connects and reads the server's profile.
func openClickHouse(ctx context.Context, cfg Config) (chconn.Conn, chconn.Target, error) {
	target, err := chconn.ParseURL(cfg.ClickHouseURL)
	if err != nil {
		return nil, target, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	conn, err := native.Open(ctx, cfg.ClickHouseURL)
	if err != nil {
		return nil, target, err
	}
	return conn, target, nil
}

// checkClickHouse checks the server and every target table against the
// type contract of package ddl. pg may be nil (PostgreSQL unreachable or
// not configured): then only presence and the CDC columns are checked.
func checkClickHouse(ctx context.Context, cfg Config, pg *pgx.Conn, refs []TableRef) []Item {
	if cfg.ClickHouseURL == "" {
		return []Item{item(ClickHouse, "reachable", "", Skip, "no ClickHouse URL given (--clickhouse-url)", "")}
	}
	conn, target, err := openClickHouse(ctx, cfg)
	if err != nil {
		it := withCause(item(ClickHouse, "reachable", "", Fail, err.Error(),
			"check host and native-protocol port (9000, not HTTP 8123), user and password of --clickhouse-url; is ClickHouse running?"), err)
		if it.Cause == "" { // the server answered, e.g. no such database
			it.Fix = "correct the database of --clickhouse-url or create it (CREATE DATABASE, then sluice ddl apply)"
		}
		return []Item{it}
	}
	defer conn.Close()
	p := conn.Profile()
	items := []Item{
		item(ClickHouse, "reachable", "", OK, fmt.Sprintf("ClickHouse %s, database %s", p.Version, target.Database), ""),
		item(ClickHouse, "profile", p.String(), OK, profileSummary(p), ""),
	}
	if len(refs) == 0 {
		return append(items, item(ClickHouse, "table", "", Skip, "no topics, so no target tables to check", ""))
	}
	opts := cfg.DDL
	opts.Database = target.Database
	source, srcErr := readSources(ctx, pg, refs)
	for _, r := range refs {
		items = append(items, tableItem(ctx, conn, opts, r, source, srcErr))
	}
	return items
}

// profileSummary names what the profile decides for the schema.
func profileSummary(p chconn.Profile) string {
	ts := "cdc_timestamp UInt64 epoch ms"
	if p.DateTime64 {
		ts = "cdc_timestamp DateTime64(3)"
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	return fmt.Sprintf("%s; DateTime64 %s, Date32 %s, Bool %s, LowCardinality %s, is_deleted engine %s, insert dedup token %s, JSON %s",
		ts, yes(p.DateTime64), yes(p.Date32), yes(p.Bool), yes(p.LowCardinality), yes(p.ReplacingIsDeleted), yes(p.InsertDedupToken), yes(p.JSONType))
}

// readSources reads the source catalog of every schema the refs name.
func readSources(ctx context.Context, pg *pgx.Conn, refs []TableRef) (map[string]ddl.Table, error) {
	if pg == nil {
		return nil, fmt.Errorf("PostgreSQL not available")
	}
	out := map[string]ddl.Table{}
	done := map[string]bool{}
	for _, r := range refs {
		if done[r.SourceSchema] {
			continue
		}
		done[r.SourceSchema] = true
		tables, err := ddl.ReadCatalog(ctx, pg, r.SourceSchema, nil)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			out[t.Schema+"."+t.Name] = t
		}
	}
	return out, nil
}

// tableItem checks one target table: present, the CDC columns with their
// types, and, with the source catalog, every column against the contract.
func tableItem(ctx context.Context, conn chconn.Conn, opts ddl.Options, r TableRef, source map[string]ddl.Table, srcErr error) Item {
	local := r.Table
	if opts.Cluster != "" {
		local += "_local"
	}
	existing, err := ddl.ExistingColumns(ctx, conn, local)
	if err != nil {
		return withCause(item(ClickHouse, "table", r.Table, Fail, err.Error(), "grant the user SELECT on system.columns"), err)
	}
	if existing == nil {
		return item(ClickHouse, "table", r.Table, Fail, fmt.Sprintf("table %s.%s does not exist", opts.Database, local),
			"sluice ddl apply (or let sluice replicate create it)")
	}
	var problems, extras []string
	problems = append(problems, metadataProblems(existing, conn.Profile())...)
	src, ok := source[r.SourceSchema+"."+r.SourceTable]
	switch {
	case srcErr != nil:
		if len(problems) > 0 {
			return item(ClickHouse, "table", r.Table, Fail, strings.Join(problems, "; "), "sluice ddl apply")
		}
		return item(ClickHouse, "table", r.Table, Warn, fmt.Sprintf("present, %d columns; type contract not checked: %v", len(existing), srcErr),
			"make PostgreSQL reachable (--pg-dsn) to compare the columns")
	case !ok:
		return item(ClickHouse, "table", r.Table, Warn, fmt.Sprintf("source table %s.%s not found in PostgreSQL", r.SourceSchema, r.SourceTable),
			"check the topic-to-table mapping (--table-map) or the source schema")
	}
	changes, err := ddl.Diff(src, existing, conn.Profile(), opts, ddl.Allow{})
	if err != nil {
		return withCause(item(ClickHouse, "table", r.Table, Fail, err.Error(), ""), err)
	}
	fix := "sluice ddl apply"
	for _, c := range changes {
		switch c.Kind {
		case ddl.AddColumn:
			if c.Column == ddl.ColVersion || c.Column == ddl.ColTimestamp {
				continue // named by metadataProblems
			}
			problems = append(problems, fmt.Sprintf("missing column %s %s", c.Column, c.To))
		case ddl.ChangeType:
			problems = append(problems, fmt.Sprintf("column %s is %s, the contract wants %s", c.Column, c.From, c.To))
			fix = "sluice ddl apply --allow-type-change (or restore the column's type)"
		case ddl.DropColumn:
			extras = append(extras, c.Column)
		}
	}
	if len(problems) > 0 {
		return item(ClickHouse, "table", r.Table, Fail, strings.Join(problems, "; "), fix)
	}
	if len(extras) > 0 {
		return item(ClickHouse, "table", r.Table, Warn, "columns not in the source: "+strings.Join(extras, ", "),
			"sluice ddl apply --allow-drop, if they left the source for good")
	}
	return item(ClickHouse, "table", r.Table, OK, fmt.Sprintf("%d columns match the contract", len(existing)), "")
}

// metadataProblems checks the columns status reads: _version and
// cdc_timestamp with the profile's types (ddl.Diff skips metadata types).
func metadataProblems(existing []ddl.Existing, p chconn.Profile) []string {
	have := map[string]string{}
	for _, e := range existing {
		have[e.Name] = e.Type
	}
	var out []string
	for _, m := range ddl.MetadataColumns(p) {
		if m[0] != ddl.ColVersion && m[0] != ddl.ColTimestamp {
			continue
		}
		typ, ok := have[m[0]]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("missing column %s %s", m[0], m[1]))
		case strings.ReplaceAll(typ, " ", "") != strings.ReplaceAll(m[1], " ", ""):
			out = append(out, fmt.Sprintf("column %s is %s, the contract wants %s", m[0], typ, m[1]))
		}
	}
	return out
}
