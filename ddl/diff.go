package ddl

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// ChangeKind names what a planned change does.
type ChangeKind string

const (
	CreateTable ChangeKind = "create table"
	AddColumn   ChangeKind = "add column"
	DropColumn  ChangeKind = "drop column"
	ChangeType  ChangeKind = "change type"
)

// Change is one planned schema change. Refused changes carry no effect
// unless the matching Allow option is set.
type Change struct {
	Kind     ChangeKind
	Table    string
	Column   string
	From, To string // ClickHouse types, for type changes
	SQL      []string
	Refused  bool
}

func (c Change) String() string {
	switch c.Kind {
	case CreateTable:
		return "create table " + c.Table
	case AddColumn:
		return fmt.Sprintf("add column %s.%s %s", c.Table, c.Column, c.To)
	case DropColumn:
		return fmt.Sprintf("drop column %s.%s (not in the source)", c.Table, c.Column)
	}
	return fmt.Sprintf("change type of %s.%s from %s to %s", c.Table, c.Column, c.From, c.To)
}

// Existing is a ClickHouse column as system.columns describes it.
type Existing struct {
	Name, Type string
}

// Allow lets a plan include changes refused by default.
type Allow struct {
	Drop       bool
	TypeChange bool
}

// sameType compares type strings ignoring spacing differences between
// server versions.
func sameType(a, b string) bool {
	norm := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	return norm(a) == norm(b)
}

// alterTargets are the tables an ALTER must reach: the local table, and the
// Distributed table on a cluster.
func alterTargets(t Table, opts Options) []string {
	if opts.Cluster == "" {
		return []string{t.Name}
	}
	return []string{LocalName(t, opts), t.Name}
}

// Diff plans the changes that bring ClickHouse's columns of t (existing;
// nil when the table does not exist) to the source.
func Diff(t Table, existing []Existing, p chconn.Profile, opts Options, allow Allow) ([]Change, error) {
	if existing == nil {
		stmts, err := CreateTableSQL(t, p, opts)
		if err != nil {
			return nil, err
		}
		return []Change{{Kind: CreateTable, Table: t.Name, SQL: stmts}}, nil
	}
	have := map[string]string{}
	for _, e := range existing {
		have[e.Name] = e.Type
	}
	want := map[string]bool{}
	var changes []Change
	prev := ""
	for _, d := range columnDefs(t, p, opts) {
		name, typ := d[0], d[1]
		want[name] = true
		cur, ok := have[name]
		switch {
		case !ok:
			changes = append(changes, addColumn(t, opts, name, typ, prev))
		case !isMetadata(name) && !sameType(cur, typ):
			changes = append(changes, changeType(t, opts, name, cur, typ, allow))
		}
		prev = name
	}
	for _, e := range existing {
		if !want[e.Name] {
			changes = append(changes, dropColumn(t, opts, e.Name, allow))
		}
	}
	return changes, nil
}

func addColumn(t Table, opts Options, name, typ, after string) Change {
	c := Change{Kind: AddColumn, Table: t.Name, Column: name, To: typ}
	for _, tbl := range alterTargets(t, opts) {
		s := fmt.Sprintf("ALTER TABLE %s%s ADD COLUMN %s %s", q(tbl), onCluster(opts), q(name), typ)
		if after != "" {
			s += " AFTER " + q(after)
		}
		c.SQL = append(c.SQL, s)
	}
	return c
}

func changeType(t Table, opts Options, name, from, to string, allow Allow) Change {
	c := Change{Kind: ChangeType, Table: t.Name, Column: name, From: from, To: to, Refused: !allow.TypeChange}
	for _, tbl := range alterTargets(t, opts) {
		c.SQL = append(c.SQL, fmt.Sprintf("ALTER TABLE %s%s MODIFY COLUMN %s %s", q(tbl), onCluster(opts), q(name), to))
	}
	return c
}

func dropColumn(t Table, opts Options, name string, allow Allow) Change {
	c := Change{Kind: DropColumn, Table: t.Name, Column: name, Refused: !allow.Drop}
	for _, tbl := range alterTargets(t, opts) {
		c.SQL = append(c.SQL, fmt.Sprintf("ALTER TABLE %s%s DROP COLUMN %s", q(tbl), onCluster(opts), q(name)))
	}
	return c
}

// ExistingColumns reads a table's columns; nil means no such table.
func ExistingColumns(ctx context.Context, conn chconn.Conn, table string) ([]Existing, error) {
	rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = "+
		chconn.QuoteString(table))
	if err != nil {
		return nil, fmt.Errorf("ddl: table %s: read columns: %w", table, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]Existing, len(rows))
	for i, r := range rows {
		out[i] = Existing{Name: r[0], Type: r[1]}
	}
	return out, nil
}

// Plan diffs every table against the server.
func Plan(ctx context.Context, conn chconn.Conn, tables []Table, opts Options, allow Allow) ([]Change, error) {
	var all []Change
	for _, t := range tables {
		existing, err := ExistingColumns(ctx, conn, LocalName(t, opts))
		if err != nil {
			return nil, err
		}
		changes, err := Diff(t, existing, conn.Profile(), opts, allow)
		if err != nil {
			return nil, err
		}
		all = append(all, changes...)
	}
	return all, nil
}

// RefusedError names every refused change.
type RefusedError struct{ Changes []Change }

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("ddl: refusing ")
	for i, c := range e.Changes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.String())
	}
	b.WriteString(" (ClickHouse keeps the old column; rerun with --allow-drop or --allow-type-change to apply, or fix the source)")
	return b.String()
}

// Refused returns the refused changes of a plan as an error, or nil.
func Refused(plan []Change) error {
	var refused []Change
	for _, c := range plan {
		if c.Refused {
			refused = append(refused, c)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return &RefusedError{Changes: refused}
}

// Apply plans and executes the changes; a plan with a refused change
// executes nothing. Running it twice in a row changes nothing the second
// time. It returns the executed changes.
func Apply(ctx context.Context, conn chconn.Conn, tables []Table, opts Options, allow Allow, log *slog.Logger) ([]Change, error) {
	for _, t := range tables {
		if _, w, err := PartitionColumn(t, opts); err != nil {
			return nil, err
		} else if w != "" {
			log.Warn(w)
		}
	}
	plan, err := Plan(ctx, conn, tables, opts, allow)
	if err != nil {
		return nil, err
	}
	if err := Refused(plan); err != nil {
		return nil, err
	}
	for _, c := range plan {
		for _, s := range c.SQL {
			if err := conn.Exec(ctx, s); err != nil {
				return nil, fmt.Errorf("ddl: %s: %w", c, err)
			}
		}
		log.Info("ddl applied", "change", c.String())
	}
	return plan, nil
}
