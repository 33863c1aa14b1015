package replicate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// batchResult is what one batch wrote.
type batchResult struct {
	written     []written
	deadLetters []DeadLetter
	ignored     IgnoredReport
}

type written struct {
	table      string
	rows       int
	superseded int
	bytes      int64
	counts     opCounts
	touched    map[string]bool
	truncate   bool
}

// process decodes and routes one batch and queues it with its ClickHouse
// lookups started (see prefetch.go), then fills and builds the batches at
// the head of the queue whose lookups are done, and any beyond the queue's
// bound (LookaheadBatches), into the flush window. Nothing is written or
// committed here, except that a window that must not be mixed with a batch
// (a table evolves, a table is truncated) is flushed first, and a full
// window is handed to the writer.
func (r *runner) process(ctx context.Context, b *kafkasrc.Batch, pre *predecoded) error {
	d, err := r.decodeBatch(ctx, b, pre)
	if err != nil {
		return err
	}
	r.enqueue(ctx, d)
	for len(r.queue) > 0 && (len(r.queue) > r.cfg.LookaheadBatches || r.queue[0].ready()) {
		if err := r.finishHead(ctx); err != nil {
			return err
		}
	}
	return nil
}

// decodeBatch decodes and routes a batch; a table that must evolve first
// has the queued batches finished and the window written and committed.
func (r *runner) decodeBatch(ctx context.Context, b *kafkasrc.Batch, pre *predecoded) (*decoded, error) {
	t0 := time.Now()
	defer func() { r.stages.since(&r.stages.decode, t0) }()
	defer r.predec.put(pre) // its records are only read here
	for rounds := 0; ; {
		res, order, byT, err := r.decode(ctx, b, pre)
		switch {
		case err == nil:
			return &decoded{b: b, res: res, order: order, byT: byT}, nil
		case errors.Is(err, errFlushFirst):
			if err := r.flush(ctx); err != nil { // finishes the queued batches first
				return nil, err
			}
		case errors.Is(err, errRestart):
			if rounds++; rounds > 100 {
				return nil, fmt.Errorf("replicate: tables keep changing while decoding a batch")
			}
		default:
			return nil, err
		}
	}
}

// finishQueue fills and builds every queued batch, in order.
func (r *runner) finishQueue(ctx context.Context) error {
	for len(r.queue) > 0 {
		if err := r.finishHead(ctx); err != nil {
			return err
		}
	}
	return nil
}

// dropQueue drops the queued batches unbuilt, once their lookups ended.
func (r *runner) dropQueue() {
	r.waitLookups()
	r.queue, r.look = nil, nil
}

func (r *runner) queuedMessages() int64 {
	var n int64
	for _, d := range r.queue {
		n += d.messages()
	}
	return n
}

// finishHead runs fill and build for the batch at the head of the queue
// and adds it to the flush window; then the window is flushed when the
// dead-letter limit is crossed (the run stops right after that batch) or
// handed to the writer when full.
func (r *runner) finishHead(ctx context.Context) error {
	d := r.queue[0]
	r.queue = r.queue[1:]
	r.startLookups(ctx, d)
	t0 := time.Now()
	// A truncate empties the table before the block is inserted: rows of
	// earlier batches of the window must be written (and the latest states
	// read back) before it, so the window is flushed first.
	for _, t := range d.order {
		if t.block.rows > 0 && hasTruncate(d.byT[t]) {
			if err := r.flushWindow(ctx); err != nil {
				return err
			}
			t0 = time.Now()
			break
		}
	}
	now := r.cfg.Now().UTC().Truncate(time.Second)
	for _, t := range d.order {
		if err := r.fill(ctx, t, d.byT[t], d.res, d.pre[t], d.asked[t]); err != nil {
			return err
		}
		t0 = r.stages.since(&r.stages.fill, t0)
		r.build(t, d.byT[t], d.res, now)
		t0 = r.stages.since(&r.stages.build, t0)
	}
	r.dequeued(d)
	r.win.add(d.b, d.res, d.order)
	r.pumpLookups(ctx)
	switch {
	case r.deadLetterLimitCrossed():
		return r.flushWindow(ctx) // stop right after the batch that crossed it
	case r.windowFull() && !r.makeRoom():
		return r.flushAsync(ctx)
	}
	return nil
}

func hasTruncate(evs []*event) bool {
	for _, e := range evs {
		if e.op == debezium.OpTruncate {
			return true
		}
	}
	return false
}

// decode turns the batch's messages into events grouped per table, dead
// letters and ignored-record counts.
func (r *runner) decode(ctx context.Context, b *kafkasrc.Batch, pre *predecoded) (*batchResult, []*table, map[*table][]*event, error) {
	res := &batchResult{}
	var order []*table
	byT := map[*table][]*event{}
	for i := range b.Messages {
		m := &b.Messages[i]
		e, dl, err := r.decodeOne(ctx, m, &pre.recs[i], pre.errs[i], res)
		if err != nil {
			return nil, nil, nil, err
		}
		if dl != nil {
			res.deadLetters = append(res.deadLetters, *dl)
			continue
		}
		if e == nil {
			continue
		}
		if _, ok := byT[e.t]; !ok {
			order = append(order, e.t)
		}
		byT[e.t] = append(byT[e.t], e)
	}
	return res, order, byT, nil
}

// deadLetter copies the message's key and value: the message's memory is
// reused once its batch is released (window.add).
func (r *runner) deadLetter(m *kafkasrc.Message, reason string, err error) *DeadLetter {
	return &DeadLetter{RunID: r.cfg.RunID, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
		Key: bytes.Clone(m.Key), Value: bytes.Clone(m.Value), Reason: reason, Error: err.Error(), ReceivedAt: r.cfg.Now()}
}

// decodeOne routes one message decoded by the reader (predecode.go). A nil event and nil dead
// letter means the record carries no row change (counted in res).
func (r *runner) decodeOne(ctx context.Context, m *kafkasrc.Message, rec *debezium.Record, decErr error, res *batchResult) (*event, *DeadLetter, error) {
	if err := decErr; err != nil {
		reason := debezium.ReasonOf(err)
		if reason == "" {
			reason = debezium.ReasonBadShape
		}
		return nil, r.deadLetter(m, reason, err), nil
	}
	switch rec.Kind {
	case debezium.Tombstone:
		res.ignored.Tombstones++
		return nil, nil, nil
	case debezium.Heartbeat:
		res.ignored.Heartbeats++
		return nil, nil, nil
	case debezium.TxMetadata:
		res.ignored.TxMetadata++
		return nil, nil, nil
	case debezium.Message:
		res.ignored.LogMessages++
		return nil, nil, nil
	}
	name := r.tableName(m.Topic)
	t, err := r.tableFor(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if t == nil {
		return nil, r.deadLetter(m, ReasonUnknownTable, fmt.Errorf("topic %s partition %d offset %d: ClickHouse table %s does not exist (and no source table to create it from)",
			m.Topic, m.Partition, m.Offset, name)), nil
	}
	if err := r.checkSchema(ctx, t, m.Topic, rec); err != nil {
		return nil, nil, err
	}
	e := &event{msg: m, t: t, op: rec.Op, snapshot: rec.Snapshot, tsMs: rec.TsMs, db: rec.DB, src: rec.Table}
	if e.tsMs == 0 {
		e.tsMs = m.Time.UnixMilli()
	}
	if e.db == "" {
		e.db = topicPrefix(m.Topic)
	}
	e.version = r.version(m, rec)
	if rec.Op == debezium.OpTruncate {
		return e, nil, nil
	}
	if err := r.fillValues(e, rec); err != nil {
		reason := ReasonConvert
		if len(rec.Key) == 0 {
			reason = ReasonMissingKey
		}
		return nil, r.deadLetter(m, reason, fmt.Errorf("topic %s partition %d offset %d table %s: %w", m.Topic, m.Partition, m.Offset, t.name, err)), nil
	}
	return e, nil, nil
}

// version is the event's _version: the source LSN, else (logged once per
// topic) the Kafka offset + 1, which orders one key's changes only within
// its partition and never against LSN-versioned rows.
func (r *runner) version(m *kafkasrc.Message, rec *debezium.Record) uint64 {
	if rec.HasLSN {
		return rec.LSN
	}
	if !r.lsnWarned[m.Topic] {
		r.lsnWarned[m.Topic] = true
		r.log.Warn("messages without a source LSN: _version falls back to the Kafka offset + 1 (orders a key's changes within its partition only; do not mix with LSN-versioned rows; add 'lsn' to the unwrap add.fields)",
			"topic", m.Topic)
	}
	return uint64(m.Offset) + 1
}

// fillValues maps the record's row and key onto the table's columns.
func (r *runner) fillValues(e *event, rec *debezium.Record) error {
	t := e.t
	e.vals = make([]val, len(t.cols))
	plan := t.planFor(rec, r.schemas)
	if plan == nil {
		return fmt.Errorf("the row has a column the table lacks") // checkSchema made sure it has every one
	}
	for j, v := range rec.Row {
		st := valPresent
		if r.ph.match(v.Raw) {
			st = valUnavailable
		}
		e.vals[plan.cols[j]] = val{raw: v.Raw, fs: plan.fs[j], state: st}
	}
	if len(rec.Key) == 0 {
		return fmt.Errorf("the message has no key: sluice needs the primary key to fill deletes and TOAST values")
	}
	lits := r.scratch.lits[:0]
	for j, k := range rec.Key {
		i, ok := t.byName[k.Name]
		if !ok {
			return fmt.Errorf("key column %q is not in the table", k.Name)
		}
		fs := r.schemas.get(k.Schema)
		lit, err := keyLiteral(&t.cols[i], k.Raw, fs)
		if err != nil {
			return err
		}
		if j > 0 {
			lits = append(lits, 0)
		}
		lits = append(lits, lit...)
		e.keyCols = append(e.keyCols, i)
		if e.vals[i].state != valPresent || string(e.vals[i].raw) == "null" {
			e.vals[i] = val{raw: k.Raw, fs: fs, state: valPresent}
		}
	}
	e.key = string(lits)
	r.scratch.lits = lits[:0]
	return nil
}

// fill completes every event's image from the row's latest state: an
// earlier event of the batch, else the key's row in the pending block (an
// earlier batch of the flush window), else its row in the block being
// written (the previous window), else the stored row in ClickHouse (read
// ahead, see prefetch.go, or now for the keys that were not).
func (r *runner) fill(ctx context.Context, t *table, evs []*event, res *batchResult, pre *prefetch, asked map[string]*event) error {
	t0 := time.Now()
	pre.wait()
	r.stages.since(&r.stages.waitAhead, t0)
	need := map[string]*event{}
	first := reuse(&r.scratch.fillFirst)
	truncAt := -1
	for i, e := range evs {
		if e.op == debezium.OpTruncate {
			truncAt = i
		}
	}
	// After a truncate (in this batch or pending in the window) ClickHouse
	// holds nothing that survives it.
	lookups := truncAt < 0 && !t.block.truncate
	wait := false // a needed key's row is in the window being written but cannot be copied
	// A row this run wrote is remembered (recent.go) unless a truncate
	// pending or being written has removed it.
	useRecent := lookups && !r.inflightTruncates(t)
	for _, e := range evs[truncAt+1:] {
		if e.op == debezium.OpTruncate || first[e.key] {
			continue
		}
		first[e.key] = true
		t.wantRecent(e)
		if _, pending := t.latest[e.key]; pending && truncAt < 0 {
			continue
		}
		if _, writing := t.written[e.key]; writing && lookups {
			if copyable(t, t.writing) {
				continue // copied from the block being written
			}
			wait = e.needsFill() || wait
		} else if useRecent && t.remembers(e) {
			continue
		}
		if e.needsFill() && lookups {
			need[e.key] = e
		}
	}
	stored := map[string]*storedRow{}
	if len(need) > 0 && !wait && !r.inflightTruncates(t) {
		if err := r.usePrefetch(pre, asked, need, stored); err != nil { // the keys looked up ahead leave need
			return err
		}
	}
	if len(need) > 0 && (wait || r.inflightTruncates(t)) {
		// The window being written truncates the table, or holds a key's
		// row in builders of an older type: ClickHouse has the state of
		// these keys only after that write.
		if err := r.waitWrite(); err != nil {
			return err
		}
	}
	if len(need) > 0 {
		t0 := time.Now()
		var more map[string]*storedRow
		cols := lookupCols(len(t.cols), need)
		err := withRetry(ctx, r.cfg.RetryTimeout, "fill lookup in "+t.name, func(ctx context.Context) error {
			var err error
			more, err = lookup(ctx, r.conn(), t, need, cols)
			return err
		})
		if err != nil {
			return err
		}
		// Added to, not replacing, the rows looked up ahead: a batch can
		// need both (keys whose window was written after the lookup ahead
		// started are looked up now).
		maps.Copy(stored, more)
		r.stages.lookups++
		r.stages.lookupKeys += len(need)
		r.stages.since(&r.stages.lookup, t0)
	}
	tr := r.rep.table(t.name)
	latest := reuse(&r.scratch.fillLatest)
	for i, e := range evs {
		if i < truncAt {
			continue // superseded by the truncate
		}
		if e.op == debezium.OpTruncate {
			t.block.truncate = true
			clear(t.latest)
			continue
		}
		prev, from := latest[e.key], fromBatch
		if prev == nil && e.needsFill() {
			prev, from = priorState(t, e, stored, useRecent)
		}
		if dl := r.resolve(e, prev, tr); dl != nil {
			e.dead = true
			res.deadLetters = append(res.deadLetters, *dl)
			continue
		}
		if e.image != nil {
			latest[e.key] = &storedRow{vals: e.image, deleted: e.isDelete()}
			if e.needsFill() && prev != nil {
				tr.countFill(from)
			}
		}
	}
	return nil
}

// priorState is the state of e's key before e's batch: its row in the
// pending block, else in the block being written, else (a delete) a row
// an earlier window of this run wrote, else what ClickHouse returned
// (stored; nil when it has no row).
func priorState(t *table, e *event, stored map[string]*storedRow, useRecent bool) (*storedRow, fillSource) {
	if ref, ok := t.latest[e.key]; ok {
		return ref.stored(srcPending, len(t.cols)), fromBatch
	}
	ref, writing := t.written[e.key]
	if writing && !t.block.truncate && copyable(t, t.writing) {
		return ref.stored(srcWriting, len(t.cols)), fromBatch
	}
	if useRecent && !writing {
		if row := t.recentRow(e); row != nil {
			return row, fromRun
		}
	}
	return stored[e.key], fromClickHouse
}

// copyable tells whether a row of the block being written can be copied
// into the table's current block: same builders (a column's type may have
// been refined since).
func copyable(t *table, blk *block) bool {
	return blk != nil && blk.layout == t.layout && len(blk.cols) == len(t.cols)
}

// writeConcurrency bounds the inserts of one window running at a time.
const writeConcurrency = 2

// writeBlock truncates the block's table when the block says so, then
// inserts its rows.
func (r *runner) writeBlock(ctx context.Context, blk *block) (written, error) {
	t := blk.t
	if blk.truncate {
		err := withRetry(ctx, r.cfg.RetryTimeout, "truncate "+t.name, func(ctx context.Context) error {
			return r.conn().Exec(ctx, "TRUNCATE TABLE "+chconn.QuoteIdent(t.name))
		})
		if err != nil {
			return written{}, err
		}
	}
	if blk.rows > 0 {
		blk.finish()
		names, data := blk.columns()
		token := blk.dedupToken()
		err := withRetry(ctx, r.cfg.RetryTimeout, fmt.Sprintf("insert %d rows into %s", blk.rows, t.name), func(ctx context.Context) error {
			if t.profile.InsertDedupToken {
				ctx = chconn.WithInsertDedupToken(ctx, token)
			}
			return r.conn().Insert(ctx, chconn.QuoteIdent(t.name), names, data)
		})
		if err != nil {
			return written{}, err
		}
	}
	touched := make(map[string]bool, len(blk.touched))
	for k := range blk.touched {
		touched[k] = true
	}
	// The block is reset by the main goroutine (waitWrite): fills of the
	// next window copy rows from it until then.
	return written{table: t.name, rows: blk.rows, superseded: blk.superseded, bytes: blk.bytes, counts: blk.counts, touched: touched, truncate: blk.truncate}, nil
}

// resolve sets e.image from e's values and the previous state.
func (r *runner) resolve(e *event, prev *storedRow, tr *TableReport) *DeadLetter {
	t := e.t
	if e.isDelete() {
		switch {
		case !e.needsFill(): // the message carries the partition and sorting keys
			e.image = markerImage(e, nil)
		case prev != nil:
			e.image = markerImage(e, prev)
		default:
			tr.DeletesWithoutRow++ // nothing stored to delete
		}
		return nil
	}
	e.image = e.vals
	if !e.needsFill() {
		return nil
	}
	e.image = append([]val(nil), e.vals...)
	alive := prev != nil && !prev.deleted
	for i, v := range e.image {
		needs := v.state == valUnavailable || v.state == valAbsent && !t.cols[i].col.Nullable && !t.cols[i].col.Array
		if !needs {
			continue
		}
		if alive {
			e.image[i] = prev.vals[i]
			continue
		}
		if v.state == valUnavailable {
			e.image = nil
			return r.deadLetter(e.msg, ReasonUnavailableValue, fmt.Errorf("topic %s partition %d offset %d table %s: column %s is the unchanged-TOAST placeholder and no stored row holds its value (set REPLICA IDENTITY FULL on the source table)",
				e.msg.Topic, e.msg.Partition, e.msg.Offset, t.name, t.cols[i].col.Name))
		}
	}
	return nil
}

// markerImage is a delete's row (_is_deleted = 1 at the delete's version):
// its key, the other columns of the partition and sorting keys from the
// row's latest state (prev), so that the marker replaces the row in its
// partition, and NULL or the type's default elsewhere (the message's other
// values may be fallbacks, see fillCols). Readers exclude markers (FINAL
// ... WHERE _is_deleted = 0, or FINAL alone on servers with
// ReplacingMergeTree(_version, _is_deleted)), so those are never read as
// data.
func markerImage(e *event, prev *storedRow) []val {
	img := make([]val, len(e.vals))
	for _, k := range e.keyCols {
		img[k] = e.vals[k]
	}
	if prev != nil {
		e.fillCols(func(i int) { img[i] = prev.vals[i] })
	}
	return img
}

// build appends the filled events to the table's pending block. A value
// that does not convert makes its message a dead letter: the row's values
// already appended are truncated away and the block goes on without it.
// Each key's last row is remembered for the fills of later batches.
func (r *runner) build(t *table, evs []*event, res *batchResult, now time.Time) {
	for _, e := range evs {
		if e.dead || e.image == nil {
			continue
		}
		err := t.block.appendRow(e, now)
		if err == nil {
			if prev, ok := t.latest[e.key]; ok && t.collapses {
				t.block.supersede(prev.row, int32(t.block.rows-1), t.markerCols)
			}
			t.latest[e.key] = rowRef{row: int32(t.block.rows - 1), deleted: e.isDelete()}
			continue
		}
		t.block.dropPartialRow()
		// The key's latest state stays what it was: its earlier row in the
		// block if any (that is what ClickHouse will hold), else ClickHouse's.
		e.dead = true
		reason := ReasonConvert
		if errors.Is(err, typemap.ErrUnavailable) {
			reason = ReasonUnavailableValue
		}
		res.deadLetters = append(res.deadLetters, *r.deadLetter(e.msg, reason,
			fmt.Errorf("topic %s partition %d offset %d table %s: %w", e.msg.Topic, e.msg.Partition, e.msg.Offset, t.name, err)))
	}
}

// write writes every block and the dead letters, each with retries; the
// caller commits only after all of it succeeded. It runs in the writer
// goroutine: it touches only the window's blocks and result. Blocks of
// different tables are written by up to writeConcurrency inserts at a
// time: 18.16 spends most of an insert writing its parts while the client
// waits, so one table's insert overlaps the next one's encoding and send.
func (r *runner) write(ctx context.Context, blocks []*block, res *batchResult) error {
	out := make([]written, len(blocks))
	errs := make([]error, len(blocks))
	// The first failure stops the other inserts: the window is not
	// committed anyway, and a frozen server must not cost one retry budget
	// per block.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, writeConcurrency)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error // the cause; the others may be its cancellation
	)
	for i, blk := range blocks {
		sem <- struct{}{}
		if wctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if out[i], errs[i] = r.writeBlock(wctx, blk); errs[i] != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = errs[i]
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	for i := range blocks {
		if errs[i] == nil && out[i].table != "" {
			res.written = append(res.written, out[i])
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if len(res.deadLetters) == 0 {
		return nil
	}
	err := withRetry(ctx, r.cfg.RetryTimeout, fmt.Sprintf("write %d dead letters to %s", len(res.deadLetters), DeadLetterTable), func(ctx context.Context) error {
		return writeDeadLetters(ctx, r.conn(), res.deadLetters)
	})
	if err != nil {
		return err
	}
	if r.cfg.DeadLetters != nil {
		if err := r.cfg.DeadLetters.Write(ctx, res.deadLetters); err != nil {
			return fmt.Errorf("replicate: dead-letter topic: %w", err)
		}
	}
	for _, d := range res.deadLetters {
		r.log.Warn("dead letter", "topic", d.Topic, "partition", d.Partition, "offset", d.Offset, "reason", d.Reason, "error", d.Error)
	}
	return nil
}
