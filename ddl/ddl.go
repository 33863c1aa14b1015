// Package ddl turns the PostgreSQL catalog into the ClickHouse schema:
// one ReplacingMergeTree table per source table, with the CDC metadata
// columns, quoted identifiers everywhere and features chosen from the
// server's capability profile. SQL generation is pure; Apply talks to
// ClickHouse through chconn.Conn.
package ddl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// Table is one source table as read from the catalog.
type Table struct {
	Schema     string
	Name       string
	Columns    []typemap.Column
	PrimaryKey []string
}

// Column returns the named column.
func (t Table) Column(name string) (typemap.Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return typemap.Column{}, false
}

// Options shape the generated schema.
type Options struct {
	// Database is the ClickHouse database (used in Replicated paths).
	Database string
	Policies typemap.Policies
	// Partition maps a table name to its partition column; tables not in
	// the map use created_at when present, else no partitioning.
	Partition map[string]string
	// Cluster, when set, emits ON CLUSTER, Replicated engines on
	// <table>_local and a Distributed <table> sharded by ShardKey.
	Cluster string
	// ShardKey maps a table to its sharding expression; the default is
	// cityHash64(customer_id) when the table has that column, else
	// cityHash64 of the primary key.
	ShardKey map[string]string
}

// DefaultOptions are the options of a plain single-server schema.
func DefaultOptions() Options {
	return Options{Database: "default", Policies: typemap.DefaultPolicies()}
}

// Metadata columns every table carries after the source columns.
const (
	ColOperation   = "cdc_operation"
	ColTimestamp   = "cdc_timestamp"
	ColSourceDB    = "cdc_source_db"
	ColSourceTable = "cdc_source_table"
	ColEventTime   = "event_time"
	ColVersion     = "_version"
	ColIsDeleted   = "_is_deleted"
)

// MetadataColumns are the CDC columns and their ClickHouse types. On
// servers without DateTime64, cdc_timestamp is UInt64 epoch milliseconds:
// exact, ordered, and convertible with toDateTime(intDiv(x, 1000)).
func MetadataColumns(p chconn.Profile) [][2]string {
	lc := "String"
	if p.LowCardinality {
		lc = "LowCardinality(String)"
	}
	ts := "UInt64"
	if p.DateTime64 {
		ts = "DateTime64(3, 'UTC')"
	}
	return [][2]string{
		{ColOperation, lc},
		{ColTimestamp, ts},
		{ColSourceDB, lc},
		{ColSourceTable, lc},
		{ColEventTime, "DateTime('UTC') DEFAULT now()"},
		{ColVersion, "UInt64"},
		{ColIsDeleted, "UInt8"},
	}
}

func isMetadata(name string) bool {
	switch name {
	case ColOperation, ColTimestamp, ColSourceDB, ColSourceTable, ColEventTime, ColVersion, ColIsDeleted:
		return true
	}
	return false
}

// q quotes an identifier.
func q(name string) string { return chconn.QuoteIdent(name) }

func onCluster(opts Options) string {
	if opts.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + q(opts.Cluster)
}

// LocalName is the table holding the rows: <table>_local on a cluster.
func LocalName(t Table, opts Options) string {
	if opts.Cluster != "" {
		return t.Name + "_local"
	}
	return t.Name
}

// isTemporal reports whether a column can partition by month.
func isTemporal(c typemap.Column) bool {
	switch c.Kind() {
	case typemap.KindDate, typemap.KindTimestamp, typemap.KindTimestampTZ:
		return !c.Array
	}
	return false
}

// looksMutable flags columns that by name are updated on every change.
func looksMutable(name string) bool {
	n := strings.ToLower(name)
	for _, p := range []string{"updated", "modified", "changed", "deleted", "last_", "paid_", "shipped"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// PartitionColumn picks the monthly partition column of t. ReplacingMergeTree
// only merges versions inside one partition, so the column must never
// change for a row: created_at by default; a chosen column that is
// nullable or named like an update time is refused, any other chosen
// column gets a warning because immutability cannot be proven from the
// catalog. An empty name means PARTITION BY tuple().
func PartitionColumn(t Table, opts Options) (name, warning string, err error) {
	chosen, explicit := opts.Partition[t.Name]
	if !explicit {
		if c, ok := t.Column("created_at"); ok && isTemporal(c) && !c.Nullable {
			return c.Name, "", nil
		}
		return "", "", nil
	}
	if chosen == "" {
		return "", "", nil
	}
	c, ok := t.Column(chosen)
	switch {
	case !ok:
		return "", "", fmt.Errorf("ddl: table %s: partition column %q does not exist", t.Name, chosen)
	case !isTemporal(c):
		return "", "", fmt.Errorf("ddl: table %s: partition column %q is %s, not a date or timestamp", t.Name, chosen, c.Type)
	case c.Nullable:
		return "", "", fmt.Errorf("ddl: table %s: partition column %q is nullable, so it can change from NULL; choose an immutable NOT NULL creation time", t.Name, chosen)
	case looksMutable(chosen):
		return "", "", fmt.Errorf("ddl: table %s: partition column %q looks updatable; rows whose partition changes are never merged and show up twice", t.Name, chosen)
	}
	if chosen != "created_at" {
		warning = fmt.Sprintf("table %s: partition column %q must never change after insert (ReplacingMergeTree merges only within a partition); sluice cannot check this", t.Name, chosen)
	}
	return chosen, warning, nil
}

// partitionExpr is the calendar month (year*100 + month, UTC) of the
// partition column as stored: toYYYYMM, through toDateTime for Int64 epoch
// µs and through typemap.DaysMonthExpr for Int32 days on servers without
// DateTime64/Date32.
func partitionExpr(c typemap.Column, p chconn.Profile) string {
	return typemap.MonthExpr(c, q(c.Name), p)
}

func engine(t Table, p chconn.Profile, opts Options) string {
	args := q(ColVersion)
	if p.ReplacingIsDeleted {
		args += ", " + q(ColIsDeleted)
	}
	if opts.Cluster == "" {
		return "ReplacingMergeTree(" + args + ")"
	}
	path := fmt.Sprintf("/clickhouse/tables/{shard}/%s/%s", opts.Database, LocalName(t, opts))
	return "ReplicatedReplacingMergeTree(" + chconn.QuoteString(path) + ", '{replica}', " + args + ")"
}

// columnDefs lists name and type of every ClickHouse column of t.
func columnDefs(t Table, p chconn.Profile, opts Options) [][2]string {
	var defs [][2]string
	for _, c := range t.Columns {
		defs = append(defs, [2]string{c.Name, c.ClickHouseType(p, opts.Policies)})
	}
	return append(defs, MetadataColumns(p)...)
}

// CreateTableSQL returns the CREATE TABLE statements of t: the table, and
// on a cluster also the Distributed table over it.
func CreateTableSQL(t Table, p chconn.Profile, opts Options) ([]string, error) {
	if len(t.PrimaryKey) == 0 {
		return nil, fmt.Errorf("ddl: table %s has no primary key; ReplacingMergeTree needs one to merge versions", t.Name)
	}
	for _, c := range t.Columns {
		if isMetadata(c.Name) {
			return nil, fmt.Errorf("ddl: table %s: column %q collides with a sluice metadata column", t.Name, c.Name)
		}
	}
	part, _, err := PartitionColumn(t, opts)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s%s\n(\n", q(LocalName(t, opts)), onCluster(opts))
	defs := columnDefs(t, p, opts)
	for i, d := range defs {
		sep := ","
		if i == len(defs)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    %s %s%s\n", q(d[0]), d[1], sep)
	}
	fmt.Fprintf(&b, ")\nENGINE = %s\n", engine(t, p, opts))
	if part != "" {
		c, _ := t.Column(part)
		fmt.Fprintf(&b, "PARTITION BY %s\n", partitionExpr(c, p))
	} else {
		b.WriteString("PARTITION BY tuple()\n")
	}
	keys := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		keys[i] = q(k)
	}
	fmt.Fprintf(&b, "ORDER BY (%s)", strings.Join(keys, ", "))
	stmts := []string{b.String()}
	if opts.Cluster != "" {
		stmts = append(stmts, distributedSQL(t, opts))
	}
	return stmts, nil
}

// ShardKey is the sharding expression of t on a cluster.
func ShardKey(t Table, opts Options) string {
	if k, ok := opts.ShardKey[t.Name]; ok && k != "" {
		return k
	}
	if _, ok := t.Column("customer_id"); ok {
		return "cityHash64(" + q("customer_id") + ")"
	}
	keys := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		keys[i] = q(k)
	}
	return "cityHash64(" + strings.Join(keys, ", ") + ")"
}

func distributedSQL(t Table, opts Options) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s\nENGINE = Distributed(%s, currentDatabase(), %s, %s)",
		q(t.Name), onCluster(opts), q(LocalName(t, opts)),
		chconn.QuoteString(opts.Cluster), chconn.QuoteString(LocalName(t, opts)), ShardKey(t, opts))
}

// SchemaSQL is the whole schema for print: every table, in name order.
func SchemaSQL(tables []Table, p chconn.Profile, opts Options) (string, []string, error) {
	sorted := append([]Table(nil), tables...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b strings.Builder
	var warnings []string
	fmt.Fprintf(&b, "-- sluice ddl for ClickHouse %s\n", p.Version)
	for _, t := range sorted {
		stmts, err := CreateTableSQL(t, p, opts)
		if err != nil {
			return "", nil, err
		}
		if _, w, _ := PartitionColumn(t, opts); w != "" {
			warnings = append(warnings, w)
		}
		fmt.Fprintf(&b, "\n-- source: %s.%s\n", t.Schema, t.Name)
		for _, s := range stmts {
			b.WriteString(s)
			b.WriteString(";\n")
		}
	}
	return b.String(), warnings, nil
}
