package replicate

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/debezium"
)

// tableName maps a topic to its ClickHouse table: the --table-map entry,
// else the topic's last part (<prefix>.<schema>.<table>). It also records
// the source schema and table for the catalog.
func (r *runner) tableName(topic string) string {
	_, schema, tbl, ok := debezium.SplitTopic(topic)
	if !ok {
		schema, tbl = "public", topic
	}
	name := tbl
	if m, ok := r.cfg.TableMap[topic]; ok && m != "" {
		name = m
	}
	if _, seen := r.srcNames[name]; !seen {
		r.srcNames[name] = [2]string{schema, tbl}
	}
	return name
}

// topicPrefix is the <prefix> of a data topic, the source database name
// when a message does not carry one.
func topicPrefix(topic string) string {
	if p, _, _, ok := debezium.SplitTopic(topic); ok {
		return p
	}
	return topic
}

// applyDDL creates missing tables and adds new columns for the topics'
// source tables through the ddl package. Type changes and drops are
// refused: the run stops before writing, offsets uncommitted.
func (r *runner) applyDDL(ctx context.Context, topics []string) error {
	bySchema := map[string][]string{}
	names := map[[2]string]string{}
	for _, topic := range topics {
		name := r.tableName(topic)
		src := r.srcNames[name]
		bySchema[src[0]] = append(bySchema[src[0]], src[1])
		names[src] = name
	}
	schemas := make([]string, 0, len(bySchema))
	for s := range bySchema {
		schemas = append(schemas, s)
	}
	sort.Strings(schemas)
	for _, schema := range schemas {
		// The whole schema is read: naming a table that is not there is
		// an error in ReadCatalog, and such topics become unknown_table
		// dead letters instead.
		all, err := r.cfg.Catalog.Tables(ctx, schema, nil)
		if err != nil {
			return fmt.Errorf("replicate: read the PostgreSQL catalog of schema %s: %w", schema, err)
		}
		var tables []ddl.Table
		for _, tb := range all {
			if name, ok := names[[2]string{schema, tb.Name}]; ok {
				tb.Name = name
				tables = append(tables, tb)
			}
		}
		// Bounded like a write: a frozen ClickHouse must not hold the run.
		actx, cancel := context.WithTimeout(ctx, r.cfg.RetryTimeout)
		done, err := ddl.Apply(actx, r.conn(), tables, r.cfg.DDL, ddl.Allow{}, r.log)
		cancel()
		if err != nil {
			var refused *ddl.RefusedError
			if errors.As(err, &refused) {
				return fmt.Errorf("replicate: incompatible schema change, nothing written and no offsets committed for it: %w", err)
			}
			return markUnreachable(fmt.Errorf("replicate: %w", err))
		}
		for _, c := range done {
			if c.Kind == ddl.AddColumn {
				r.rep.table(c.Table).ColumnsAdded++
			}
		}
	}
	return nil
}

// errRestart asks for the batch to be decoded again: a table's columns
// changed while it was being decoded.
var errRestart = errors.New("replicate: table changed; decode the batch again")

// errFlushFirst asks for the flush window to be written and committed
// before the batch is decoded again: a table is about to evolve, and the
// pending blocks were built with its old columns.
var errFlushFirst = errors.New("replicate: flush the pending window before evolving a table")

// checkSchema reacts to a new row schema of a table (a new Fields pointer)
// and to column names the table lacks: with a catalog the table is evolved
// through ddl (new columns added, type changes refused) and reloaded.
func (r *runner) checkSchema(ctx context.Context, t *table, topic string, rec *debezium.Record) error {
	prev, seen := r.lastFields[t.name]
	unknown := ""
	if t.planFor(rec, r.schemas) == nil {
		for _, v := range rec.Row {
			if _, ok := t.byName[v.Name]; !ok {
				unknown = v.Name
				break
			}
		}
	}
	if rec.Fields != nil {
		r.lastFields[t.name] = rec.Fields
	}
	changed := seen && prev != rec.Fields && rec.Fields != nil
	if !changed && unknown == "" {
		if !seen {
			r.refine(t, rec)
		}
		return nil
	}
	if r.cfg.Catalog == nil {
		if unknown != "" {
			return fmt.Errorf("replicate: topic %s: column %q is not in ClickHouse table %s; add it (sluice ddl apply) or run with --pg-dsn so sluice adds it",
				topic, unknown, t.name)
		}
		return nil
	}
	if r.win.pending() || r.inflight != nil || len(r.queue) > 0 {
		return errFlushFirst // also finishes the queued batches and waits for the window being written
	}
	before := len(t.cols)
	if err := r.applyDDL(ctx, []string{topic}); err != nil {
		return err
	}
	fresh, err := loadTable(ctx, r.conn(), t.name, r.sourceTable(ctx, t.name), r.cfg.DDL)
	if err != nil {
		return err
	}
	if fresh == nil {
		return fmt.Errorf("replicate: table %s disappeared from ClickHouse", t.name)
	}
	if _, ok := fresh.byName[unknown]; unknown != "" && !ok {
		return fmt.Errorf("replicate: topic %s: column %q is in the messages but neither in ClickHouse table %s nor in PostgreSQL (dropped since?); add it to ClickHouse by hand",
			topic, unknown, t.name)
	}
	if len(fresh.cols) == before {
		return nil
	}
	*t = *fresh
	t.block, t.spare = newBlock(t), nil
	r.log.Info("table evolved before writing", "table", t.name, "columns", len(t.cols))
	return errRestart
}

// refine corrects ambiguous columns of a table loaded without the catalog
// from the first schema seen.
func (r *runner) refine(t *table, rec *debezium.Record) {
	if t.fromPG || rec.Fields == nil {
		return
	}
	for _, v := range rec.Row {
		if i, ok := t.byName[v.Name]; ok {
			if err := t.refineColumn(i, r.schemas.get(v.Schema), r.cfg.DDL.Policies); err != nil {
				r.log.Warn("refine column type", "table", t.name, "column", v.Name, "err", err)
			}
		}
	}
}
