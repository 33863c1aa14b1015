package ddl

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/typemap"
)

// The catalog query resolves arrays to their element type and domains to
// their base type, and keeps the typmod for numeric/varchar/char sizes.
const columnsQuery = `
SELECT c.relname, a.attname, NOT a.attnotnull,
       (t.typcategory = 'A') AS is_array,
       bt.typname, bt.oid, bt.typtype,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t0 ON t0.oid = a.atttypid
JOIN pg_type t ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END
JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
JOIN pg_type bt ON bt.oid = CASE WHEN et.typtype = 'd' THEN et.typbasetype ELSE et.oid END
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND NOT c.relispartition
ORDER BY c.relname, a.attnum`

const pkQuery = `
SELECT c.relname, a.attname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE n.nspname = $1 AND i.indisprimary
ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)`

const enumQuery = `
SELECT e.enumtypid, e.enumlabel FROM pg_enum e ORDER BY e.enumtypid, e.enumsortorder`

// ReadCatalog reads the tables of one PostgreSQL schema (only those named
// in only, when given).
func ReadCatalog(ctx context.Context, pg *pgx.Conn, schema string, only []string) ([]Table, error) {
	enums, err := readEnums(ctx, pg)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	byName := map[string]*Table{}
	rows, err := pg.Query(ctx, columnsQuery, schema)
	if err != nil {
		return nil, fmt.Errorf("ddl: read catalog of schema %s: %w", schema, err)
	}
	for rows.Next() {
		var table, typName, typType string
		var col typemap.Column
		var oid uint32
		var typmod int32
		if err := rows.Scan(&table, &col.Name, &col.Nullable, &col.Array, &typName, &oid, &typType, &typmod); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ddl: read catalog: %w", err)
		}
		if len(want) > 0 && !want[table] {
			continue
		}
		col.Type = typName
		applyTypmod(&col, typmod)
		if typType == "e" {
			col.EnumLabels = enums[oid]
		}
		t := byName[table]
		if t == nil {
			t = &Table{Schema: schema, Name: table}
			byName[table] = t
		}
		t.Columns = append(t.Columns, col)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ddl: read catalog: %w", err)
	}
	if err := readPrimaryKeys(ctx, pg, schema, byName); err != nil {
		return nil, err
	}
	return sortedTables(byName, only)
}

func sortedTables(byName map[string]*Table, only []string) ([]Table, error) {
	for _, n := range only {
		if byName[n] == nil {
			return nil, fmt.Errorf("ddl: table %s not found in the source schema", n)
		}
	}
	out := make([]Table, 0, len(byName))
	for _, t := range byName {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// applyTypmod decodes precision/scale of numeric and the length of
// varchar/char from pg_attribute.atttypmod.
func applyTypmod(c *typemap.Column, typmod int32) {
	if typmod < 4 {
		return
	}
	switch c.Type {
	case "numeric":
		m := typmod - 4
		c.Precision = int((m >> 16) & 0xffff)
		c.Scale = int(int16(m & 0xffff)) // negative scales exist since PostgreSQL 15
	case "varchar", "bpchar":
		c.Length = int(typmod - 4)
	}
}

func readEnums(ctx context.Context, pg *pgx.Conn) (map[uint32][]string, error) {
	rows, err := pg.Query(ctx, enumQuery)
	if err != nil {
		return nil, fmt.Errorf("ddl: read enums: %w", err)
	}
	defer rows.Close()
	out := map[uint32][]string{}
	for rows.Next() {
		var oid uint32
		var label string
		if err := rows.Scan(&oid, &label); err != nil {
			return nil, fmt.Errorf("ddl: read enums: %w", err)
		}
		out[oid] = append(out[oid], label)
	}
	return out, rows.Err()
}

func readPrimaryKeys(ctx context.Context, pg *pgx.Conn, schema string, byName map[string]*Table) error {
	rows, err := pg.Query(ctx, pkQuery, schema)
	if err != nil {
		return fmt.Errorf("ddl: read primary keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return fmt.Errorf("ddl: read primary keys: %w", err)
		}
		if t := byName[table]; t != nil {
			t.PrimaryKey = append(t.PrimaryKey, col)
		}
	}
	return rows.Err()
}
