package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// worker reads chunks on its own PostgreSQL connection, inside a
// transaction that imported the exported snapshot.
type worker struct {
	ch   chconn.Conn
	pt   Point
	opts Options
	// insertTime is the time spent in ClickHouse inserts of the current
	// chunk, logged at debug level to tell a slow source from a slow sink.
	insertTime time.Duration
}

func (w *worker) run(ctx context.Context, cfg *pgx.ConnConfig, queue <-chan Chunk) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return &UnavailableError{fmt.Errorf("snapshot: worker: connect to PostgreSQL: %w", err)}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("snapshot: worker: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The id is PostgreSQL's own (hex digits and dashes), never user input.
	if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+w.pt.SnapshotID+"'"); err != nil {
		return fmt.Errorf("snapshot: worker: import snapshot %s: %w", w.pt.SnapshotID, err)
	}
	for c := range queue {
		if err := w.copyChunk(ctx, tx, c); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// block is one table's column buffers for an insert block.
type block struct {
	names []string
	cols  []typemap.Builder
	meta  []sizedColumn
	data  []chconn.Column
}

func (w *worker) newBlock(c Chunk) (*block, error) {
	t := c.Table.Table
	p := w.ch.Profile()
	b := &block{}
	for _, col := range t.Columns {
		bld, err := typemap.NewBuilder(col, p, w.opts.DDL.Policies)
		if err != nil {
			return nil, fmt.Errorf("snapshot: table %s: %w", t.Name, err)
		}
		b.names = append(b.names, col.Name)
		b.cols = append(b.cols, bld)
		b.data = append(b.data, bld)
	}
	metaNames, meta := metaColumns(p, w.pt, t.Name, w.opts.BatchRows)
	b.names = append(b.names, metaNames...)
	b.meta = meta
	for _, m := range meta {
		b.data = append(b.data, m)
	}
	return b, nil
}

// copyChunk streams one chunk's rows into insert blocks.
func (w *worker) copyChunk(ctx context.Context, tx pgx.Tx, c Chunk) error {
	b, err := w.newBlock(c)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, selectSQL(c.Table.Table, c.Cond, w.opts.Where))
	if err != nil {
		return fmt.Errorf("snapshot: %s: query: %w", c, err)
	}
	defer rows.Close()
	start := time.Now()
	w.insertTime = 0
	n := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("snapshot: %s: row %d: %w", c, n, err)
		}
		for i, v := range vals {
			if err := b.cols[i].AppendPgx(v); err != nil {
				return fmt.Errorf("snapshot: %s: row %d: %w", c, n, err)
			}
		}
		n++
		if b.cols[0].Len() >= w.opts.BatchRows {
			if err := w.flush(ctx, c, b); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("snapshot: %s: read: %w", c, err)
	}
	if err := w.flush(ctx, c, b); err != nil {
		return err
	}
	w.opts.Progress.chunkDone(c.Table.Table.Name)
	total := time.Since(start)
	w.opts.Log.Debug("chunk done", "chunk", c.String(), "rows", n, "seconds", total.Seconds(),
		"insert_seconds", w.insertTime.Seconds(), "read_seconds", (total - w.insertTime).Seconds())
	return nil
}

// flush inserts the buffered rows as one block.
func (w *worker) flush(ctx context.Context, c Chunk, b *block) error {
	rows := b.cols[0].Len()
	if rows == 0 {
		return nil
	}
	adjusted := 0
	for _, col := range b.cols {
		adjusted += col.Adjusted()
	}
	for _, m := range b.meta {
		m.setLen(rows)
	}
	table := c.Table.Table.Name
	start := time.Now()
	if err := w.ch.Insert(ctx, chconn.QuoteIdent(table), b.names, b.data); err != nil {
		return fmt.Errorf("snapshot: %s: insert %d rows: %w", c, rows, err)
	}
	w.insertTime += time.Since(start)
	if adjusted > 0 {
		w.opts.Log.Warn("values changed by the out-of-range policy", "table", table, "values", adjusted, "policy", w.opts.DDL.Policies.OutOfRange)
	}
	w.opts.Progress.addRows(table, int64(rows), int64(adjusted))
	for _, col := range b.cols {
		col.Reset()
	}
	return nil
}
