package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// blockTokens bounds the insert blocks of a run (being filled or
// inserted), and so its memory: max(2, workers) blocks of BatchRows rows,
// so that one block is read while another is inserted. Large blocks make
// few large parts, which is what ClickHouse spends least on; a worker
// without a block waits (its query simply pauses). Streamed blocks are
// small (StreamRows): two per worker, one read while the other is sent.
func blockTokens(workers int, streamed bool) chan struct{} {
	if streamed {
		return make(chan struct{}, 2*workers)
	}
	return make(chan struct{}, max(2, workers))
}

// worker reads chunks on its own PostgreSQL connection, inside a
// transaction that imported the exported snapshot, into insert blocks that
// its inserter goroutine writes to ClickHouse while the next block is read.
// A block collects one table's rows across chunks until it holds
// Options.BatchRows rows: few large inserts make few large parts.
type worker struct {
	ch     chconn.Conn
	pt     Point
	opts   Options
	tokens chan struct{}
	meta   *runMeta
}

func (w *worker) run(ctx context.Context, cfg *pgx.ConnConfig, queue <-chan Chunk) (err error) {
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

	// An insert failure cancels the reads; a read failure the inserts.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ins := &inserter{w: w, todo: make(chan *block), free: make(chan *block, cap(w.tokens)), done: make(chan struct{}), cancel: cancel}
	go ins.loop(wctx)
	readErr := w.read(wctx, tx, queue, ins)
	if readErr != nil {
		cancel(readErr)
	}
	close(ins.todo)
	<-ins.done
	for ; ins.held > 0; ins.held-- {
		<-w.tokens // a block the failed read kept
	}
	switch {
	case ins.err != nil:
		return ins.err
	case readErr != nil:
		return readErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// read copies the queued chunks into blocks and hands full ones (and the
// last one) to the inserter.
func (w *worker) read(ctx context.Context, tx pgx.Tx, queue <-chan Chunk, ins *inserter) error {
	var cur *block
	for c := range queue {
		if cur != nil && cur.job != c.Table {
			if err := ins.submit(ctx, cur); err != nil {
				return err
			}
			cur = nil
		}
		var err error
		if cur, err = w.copyChunk(ctx, tx, c, cur, ins); err != nil {
			return err
		}
	}
	if cur != nil {
		return ins.submit(ctx, cur)
	}
	return nil
}

// copyChunk streams one chunk's rows into b (nil: a new block), handing
// every full block to the inserter; it returns the block being filled,
// which now also carries the chunk as done once that block is written.
func (w *worker) copyChunk(ctx context.Context, tx pgx.Tx, c Chunk, b *block, ins *inserter) (*block, error) {
	start := time.Now()
	w.opts.Progress.chunkStarted(c.Table.Table.Name)
	rows, err := tx.Query(ctx, selectSQL(c.Table.Table, c.Cond, w.opts.Where))
	if err != nil {
		return b, fmt.Errorf("snapshot: %s: query: %w", c, err)
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	tm := tx.Conn().TypeMap()
	if b != nil && !b.fits(fds) {
		if err := ins.submit(ctx, b); err != nil {
			return nil, err
		}
		b = nil
	}
	var waited time.Duration
	next := func() error {
		t := time.Now()
		var err error
		b, err = ins.get(ctx, w, c.Table, fds, tm)
		waited += time.Since(t)
		return err
	}
	if b == nil {
		if err := next(); err != nil {
			return nil, err
		}
	}
	n := 0
	for rows.Next() {
		raw := rows.RawValues()
		for i, col := range b.cols {
			if err := col.appendRaw(raw[i]); err != nil {
				return b, fmt.Errorf("snapshot: %s: row %d: %w", c, n, err)
			}
		}
		n++
		if b.len() >= w.blockRows() {
			if err := ins.submit(ctx, b); err != nil {
				return nil, err
			}
			b = nil
			if err := next(); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("snapshot: %s: read: %w", c, err)
	}
	b.done = append(b.done, c)
	w.opts.Log.Debug("chunk read", "chunk", c.String(), "rows", n, "seconds", time.Since(start).Seconds(),
		"wait_for_insert_seconds", waited.Seconds())
	return b, nil
}

// inserter writes a worker's blocks in order and returns them for reuse.
// Every block being filled or inserted holds one of the run's tokens.
type inserter struct {
	w    *worker
	todo chan *block
	free chan *block
	// held counts the tokens taken by get and not yet given back by loop
	// (read by run once loop is done).
	held   int
	done   chan struct{}
	err    error
	cancel context.CancelCauseFunc
	// st is the open insert stream (of stJob's table, stRows rows so
	// far); pending are the chunks whose rows are all in it; ending is the
	// previous insert while its end is being waited for.
	st      chconn.InsertStream
	stJob   *tableJob
	stRows  int
	pending []Chunk
	ending  *ending
}

func (in *inserter) loop(ctx context.Context) {
	defer close(in.done)
	for b := range in.todo {
		if in.err == nil {
			if err := in.write(ctx, b); err != nil {
				in.fail(err)
			}
		}
		b.reset()
		select {
		case in.free <- b: // for the worker's next block
		default:
		}
		<-in.w.tokens
	}
	if in.err == nil && ctx.Err() == nil { // else the run failed: abort
		if err := in.endStream(); err != nil {
			in.fail(err)
		}
	}
	if in.st != nil {
		in.st.Abort()
		in.st = nil
	}
	if err := in.waitEnded(); err != nil && in.err == nil {
		in.fail(err)
	}
}

func (in *inserter) fail(err error) {
	in.err = err
	in.cancel(err)
}

// write sends a block: into the worker's open insert stream when the
// connection streams (one INSERT per worker and table), else as an insert
// of its own.
func (in *inserter) write(ctx context.Context, b *block) error {
	s, ok := in.w.ch.(chconn.Streamer)
	if !ok {
		return in.w.flush(ctx, b)
	}
	if in.st != nil && in.stJob != b.job {
		if err := in.endStream(); err != nil {
			return err
		}
	}
	table := b.job.Table.Name
	if rows := b.len(); rows > 0 {
		if in.st == nil {
			st, err := s.InsertStream(ctx, chconn.QuoteIdent(table), b.names, chconn.StreamOptions{SquashRows: in.w.opts.SquashRows})
			if err != nil {
				return fmt.Errorf("snapshot: table %s: %w", table, err)
			}
			in.st, in.stJob, in.stRows = st, b.job, 0
		}
		adjusted := b.prepare()
		start := time.Now()
		if err := in.st.Write(ctx, b.data); err != nil {
			return fmt.Errorf("snapshot: table %s: write %d rows: %w", table, rows, err)
		}
		in.stRows += rows
		in.w.opts.Log.Debug("block sent", "table", table, "rows", rows, "seconds", time.Since(start).Seconds())
		in.w.warnAdjusted(table, adjusted)
		in.w.opts.Progress.addRows(table, int64(rows), int64(adjusted))
	}
	in.pending = append(in.pending, b.done...)
	if in.st == nil || (in.w.opts.InsertRows > 0 && in.stRows >= in.w.opts.InsertRows) {
		return in.endStream()
	}
	return nil
}

// endStream ends the open insert in the background, so that the server
// writes its last parts while this worker's next rows are read and sent
// on a new insert; at most one insert is ending at a time. Its chunks are
// done once the server has finished it.
func (in *inserter) endStream() error {
	if err := in.waitEnded(); err != nil {
		return err
	}
	if in.st == nil {
		in.chunksDone(in.pending)
		in.pending = in.pending[:0]
		return nil
	}
	e := &ending{st: in.st, table: in.stJob.Table.Name, rows: in.stRows, chunks: in.pending, done: make(chan struct{})}
	in.st, in.pending = nil, nil
	in.ending = e
	log := in.w.opts.Log
	go func() {
		defer close(e.done)
		start := time.Now()
		e.err = e.st.Close()
		log.Debug("insert ended", "table", e.table, "rows", e.rows, "seconds", time.Since(start).Seconds())
	}()
	return nil
}

// ending is an insert whose end is being sent and waited for.
type ending struct {
	st     chconn.InsertStream
	table  string
	rows   int
	chunks []Chunk
	done   chan struct{}
	err    error
}

// waitEnded waits for the insert being ended, if any, and counts its
// chunks done.
func (in *inserter) waitEnded() error {
	e := in.ending
	if e == nil {
		return nil
	}
	<-e.done
	in.ending = nil
	if e.err != nil {
		return fmt.Errorf("snapshot: table %s: end insert of %d rows: %w", e.table, e.rows, e.err)
	}
	in.chunksDone(e.chunks)
	return nil
}

func (in *inserter) chunksDone(chunks []Chunk) {
	for _, c := range chunks {
		in.w.opts.Progress.chunkDone(c.Table.Table.Name)
	}
}

// submit hands a block to the inserter.
func (in *inserter) submit(ctx context.Context, b *block) error {
	select {
	case in.todo <- b:
		in.held--
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// get returns an empty block for job's rows with these fields once the
// run has a token for it: a written one of this worker when its shape
// fits, else a new one.
func (in *inserter) get(ctx context.Context, w *worker, job *tableJob, fds []pgconn.FieldDescription, tm *pgtype.Map) (*block, error) {
	select {
	case w.tokens <- struct{}{}:
		in.held++
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	select {
	case b := <-in.free:
		if b.job == job && b.fits(fds) {
			return b, nil
		}
	default:
	}
	return w.newBlock(job, fds, tm)
}

// column is one source column's buffer in a block.
type column interface {
	chconn.Column
	appendRaw(raw []byte) error
	reset()
	adjusted() int
}

// binaryColumn decodes PostgreSQL's binary format directly (typemap's fast
// path for the common scalar types).
type binaryColumn struct{ typemap.BinaryColumn }

func (c binaryColumn) appendRaw(raw []byte) error { return c.AppendBinary(raw) }
func (c binaryColumn) reset()                     { c.Reset() }
func (c binaryColumn) adjusted() int              { return c.Adjusted() }

// pgxColumn decodes a value with pgx's codec, as Rows.Values does, and
// appends it with Builder.AppendPgx.
type pgxColumn struct {
	typemap.Builder
	tm     *pgtype.Map
	oid    uint32
	format int16
}

func (c *pgxColumn) appendRaw(raw []byte) error {
	if raw == nil {
		return c.AppendPgx(nil)
	}
	var v any
	if dt, ok := c.tm.TypeForOID(c.oid); ok {
		var err error
		if v, err = dt.Codec.DecodeValue(c.tm, c.oid, c.format, raw); err != nil {
			return err
		}
	} else if c.format == pgx.TextFormatCode {
		v = string(raw)
	} else {
		v = bytes.Clone(raw)
	}
	return c.AppendPgx(v)
}

func (c *pgxColumn) reset()        { c.Reset() }
func (c *pgxColumn) adjusted() int { return c.Adjusted() }

// block is one table's column buffers for an insert block.
type block struct {
	job   *tableJob
	shape []fieldShape
	names []string
	cols  []column
	meta  []sizedColumn
	data  []chconn.Column
	// done are the chunks whose last rows are in this block: done once it
	// is written (a worker's blocks are written in order).
	done []Chunk
}

// fieldShape is what a column's decoding depends on.
type fieldShape struct {
	oid    uint32
	format int16
}

func (b *block) len() int { return b.cols[0].Len() }

func (b *block) fits(fds []pgconn.FieldDescription) bool {
	if len(fds) != len(b.shape) {
		return false
	}
	for i, fd := range fds {
		if b.shape[i] != (fieldShape{fd.DataTypeOID, fd.Format}) {
			return false
		}
	}
	return true
}

func (b *block) reset() {
	for _, c := range b.cols {
		c.reset()
	}
	b.done = b.done[:0]
}

func (w *worker) newBlock(job *tableJob, fds []pgconn.FieldDescription, tm *pgtype.Map) (*block, error) {
	t := job.Table
	if len(fds) != len(t.Columns) {
		return nil, fmt.Errorf("snapshot: table %s: query returned %d columns, want %d", t.Name, len(fds), len(t.Columns))
	}
	p := w.ch.Profile()
	b := &block{job: job}
	for i, col := range t.Columns {
		fd := fds[i]
		b.shape = append(b.shape, fieldShape{fd.DataTypeOID, fd.Format})
		var c column
		var data chconn.Column
		if fast, ok := typemap.NewBinaryColumn(col, fd.DataTypeOID, p, w.opts.DDL.Policies); ok && fd.Format == pgx.BinaryFormatCode {
			// The insert gets the typemap column itself, with its optional
			// interfaces (chconn.ScaledDecimalColumn).
			c, data = binaryColumn{fast}, fast
		} else {
			bld, err := typemap.NewBuilder(col, p, w.opts.DDL.Policies)
			if err != nil {
				return nil, fmt.Errorf("snapshot: table %s: %w", t.Name, err)
			}
			c = &pgxColumn{Builder: bld, tm: tm, oid: fd.DataTypeOID, format: fd.Format}
			data = c
		}
		b.names = append(b.names, col.Name)
		b.cols = append(b.cols, c)
		b.data = append(b.data, data)
	}
	metaNames, meta := w.meta.columns(p, w.pt, job, w.blockRows())
	b.names = append(b.names, metaNames...)
	b.meta = meta
	for _, m := range meta {
		b.data = append(b.data, m)
	}
	return b, nil
}

// prepare sizes the metadata columns to the block and returns how many
// values the range policy changed.
func (b *block) prepare() (adjusted int) {
	for _, col := range b.cols {
		adjusted += col.adjusted()
	}
	for _, m := range b.meta {
		m.setLen(b.len())
	}
	return adjusted
}

func (w *worker) warnAdjusted(table string, adjusted int) {
	if adjusted > 0 {
		w.opts.Log.Warn("values changed by the out-of-range policy", "table", table, "values", adjusted, "policy", w.opts.DDL.Policies.OutOfRange)
	}
}

// blockRows is the size of a worker's blocks: small when they are
// written into a long insert stream (the server squashes them into large
// parts), BatchRows when each block is an insert of its own.
func (w *worker) blockRows() int {
	if _, ok := w.ch.(chconn.Streamer); ok && w.opts.StreamRows > 0 {
		return min(w.opts.StreamRows, w.opts.BatchRows)
	}
	return w.opts.BatchRows
}

// flush inserts the block's rows, then counts them and its chunks as done.
func (w *worker) flush(ctx context.Context, b *block) error {
	table := b.job.Table.Name
	if rows := b.len(); rows > 0 {
		adjusted := b.prepare()
		start := time.Now()
		if err := w.ch.Insert(ctx, chconn.QuoteIdent(table), b.names, b.data); err != nil {
			return fmt.Errorf("snapshot: table %s: insert %d rows: %w", table, rows, err)
		}
		w.opts.Log.Debug("block inserted", "table", table, "rows", rows, "seconds", time.Since(start).Seconds())
		w.warnAdjusted(table, adjusted)
		w.opts.Progress.addRows(table, int64(rows), int64(adjusted))
	}
	for range b.done {
		w.opts.Progress.chunkDone(table)
	}
	return nil
}
