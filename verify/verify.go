// Package verify compares what ClickHouse holds with what PostgreSQL holds,
// table by table, without downloading either: each database computes a row
// count and an order-independent checksum over normalized rows (the type
// contract's checksum forms, internal/typemap/norm.go), per segment of the
// primary-key space. Tables that differ are narrowed down by recursing
// into the segments whose digests differ, until segments are small enough
// to compare row by row, which names each differing key and its kind.
//
// ClickHouse is read through FINAL with delete markers excluded, so it is
// compared as the replicated state, not as the parts it happens to hold.
package verify

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// Options shape a comparison. Zero values take the defaults.
type Options struct {
	// Database is the ClickHouse database holding the replicated tables.
	Database string
	// Policies are the type-contract policies the data was written with.
	Policies typemap.Policies
	// MaxDiffs bounds the differing keys listed per table (default 100);
	// the search stops once it is reached.
	MaxDiffs int
	// Segments is the fan-out of the first pass (default 256), SubSegments
	// that of every later level (default 32); LeafRows is the size under
	// which a segment is compared row by row (default 1000).
	Segments, SubSegments, LeafRows int
	// PGConnections is how many PostgreSQL sessions share the first pass
	// over a table with an integer key, each over a run of its segments
	// (default 2): hashing is CPU-bound, and one PostgreSQL backend uses
	// one core. The extra sessions are opened from the given connection's
	// configuration.
	PGConnections int
	// AsOf, when set, is a source LSN: a differing key whose ClickHouse
	// version (_version, the LSN of its last change) is later than AsOf
	// changed after the compared point and is reported as in flight.
	AsOf *uint64
	// LagWait, when positive, re-reads the differing keys once ClickHouse
	// holds a change at or past the source LSN of the start (at most after
	// LagWait) and keeps as differences only those that still differ:
	// replication lag settles, real differences stay.
	LagWait time.Duration
	// Months, when given, compares each table per calendar month (UTC,
	// YYYY-MM) of its partition column; PerMonth compares every month
	// found on either side.
	Months   []string
	PerMonth bool
	// Partition maps a table to its partition column (as ddl --partition);
	// default created_at.
	Partition map[string]string
	Log       *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = 100
	}
	if o.Segments <= 1 {
		o.Segments = 256
	}
	if o.SubSegments <= 1 {
		o.SubSegments = 32
	}
	if o.LeafRows <= 0 {
		o.LeafRows = 1000
	}
	if o.PGConnections <= 0 {
		o.PGConnections = 2
	}
	if o.Policies == (typemap.Policies{}) {
		o.Policies = typemap.DefaultPolicies()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Status is the verdict of one table, or of the whole run.
type Status string

const (
	Equal   Status = "equal"
	Differs Status = "differs"
	Error   Status = "error" // could not compare
)

// Kinds of differences.
const (
	MissingInClickHouse = "missing_in_clickhouse"
	ExtraInClickHouse   = "extra_in_clickhouse"
	ValuesDiffer        = "values_differ"
)

// Diff is one differing primary key.
type Diff struct {
	// Key holds the key columns' values as PostgreSQL (or, for rows only in
	// ClickHouse, ClickHouse) prints them.
	Key     []string `json:"key"`
	Kind    string   `json:"kind"`
	Columns []string `json:"columns,omitempty"`
	// Version is the ClickHouse _version of the row, when ClickHouse has one
	// (also for a deleted row).
	Version uint64 `json:"clickhouse_version,omitempty"`
	// Reason says why an in-flight difference does not count.
	Reason string `json:"reason,omitempty"`
}

// TableResult is the verdict on one table (or one month of it).
type TableResult struct {
	Table      string        `json:"table"`
	Month      string        `json:"month,omitempty"`
	Status     Status        `json:"status"`
	PGRows     int64         `json:"postgres_rows"`
	CHRows     int64         `json:"clickhouse_rows"`
	PGChecksum string        `json:"postgres_checksum"`
	CHChecksum string        `json:"clickhouse_checksum"`
	Diffs      []Diff        `json:"diffs,omitempty"`
	Truncated  bool          `json:"truncated,omitempty"`
	InFlight   []Diff        `json:"in_flight,omitempty"`
	Queries    int           `json:"segment_queries"`
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
}

// Name is table or table@month.
func (r TableResult) Name() string {
	if r.Month != "" {
		return r.Table + "@" + r.Month
	}
	return r.Table
}

// Report is the outcome of a run.
type Report struct {
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// SourceLSN is pg_current_wal_lsn() when the run started.
	SourceLSN string        `json:"source_lsn"`
	AsOf      string        `json:"as_of,omitempty"`
	Verdict   Status        `json:"verdict"`
	Tables    []TableResult `json:"tables"`
}

// verdict: any difference makes the run "differs" (a definite finding
// wins over an incomplete one), else any error makes it "error".
func verdict(tables []TableResult) Status {
	v := Equal
	for _, t := range tables {
		switch {
		case t.Status == Differs:
			return Differs
		case t.Status == Error:
			v = Error
		}
	}
	return v
}

// Run compares every table. It sets TimeZone and enable_sort on the
// PostgreSQL session. Per-table failures are reported in the result
// (status error) and the other tables are still compared; the returned
// error is only for failures of the whole run.
func Run(ctx context.Context, pg *pgx.Conn, ch chconn.Conn, tables []ddl.Table, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	rep := &Report{Started: time.Now()}
	if opts.AsOf != nil {
		rep.AsOf = FormatLSN(*opts.AsOf)
	}
	// Month bounds and date literals are UTC. The planner expects as many
	// segment buckets as rows and would sort them (spilling to disk) rather
	// than hash a few hundred groups: no sorts on this session.
	if err := prepareSession(ctx, pg); err != nil {
		return nil, err
	}
	if err := pg.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&rep.SourceLSN); err != nil {
		return nil, fmt.Errorf("verify: PostgreSQL: read the current LSN: %w", err)
	}
	v := &verifier{pg: pg, ch: ch, opts: opts, pgConns: []*pgx.Conn{pg}}
	defer v.closeExtra()
	v.openExtra(ctx)
	v.sourceLSN, _ = ParseLSN(rep.SourceLSN)
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rep.Tables = append(rep.Tables, v.table(ctx, t)...)
	}
	rep.Verdict = verdict(rep.Tables)
	rep.Duration = time.Since(rep.Started)
	return rep, nil
}

// prepareSession sets what every verify session needs: UTC, no sorts
// (see Run), and no parallel plans, which could feed an aggregate its
// input out of order (tableSQL.pgSegmentDigestSQL relies on that order);
// verify runs its own sessions in parallel instead.
func prepareSession(ctx context.Context, pg *pgx.Conn) error {
	if _, err := pg.Exec(ctx, "SET TimeZone = 'UTC'; SET enable_sort = off; SET max_parallel_workers_per_gather = 0"); err != nil {
		return fmt.Errorf("verify: PostgreSQL: %w", err)
	}
	return nil
}

// openExtra opens the extra first-pass sessions. A server that refuses
// them (connection limits) only makes the first pass slower.
func (v *verifier) openExtra(ctx context.Context) {
	for len(v.pgConns) < v.opts.PGConnections {
		c, err := pgx.ConnectConfig(ctx, v.pg.Config())
		if err == nil {
			if err = prepareSession(ctx, c); err != nil {
				c.Close(ctx)
			}
		}
		if err != nil {
			v.opts.Log.Warn("could not open another PostgreSQL session; the first pass uses fewer", "sessions", len(v.pgConns), "error", err)
			return
		}
		v.pgConns = append(v.pgConns, c)
	}
}

func (v *verifier) closeExtra() {
	for _, c := range v.pgConns[1:] {
		c.Close(context.Background())
	}
}

type verifier struct {
	pg *pgx.Conn
	// pgConns are pg and the extra sessions of the first pass.
	pgConns   []*pgx.Conn
	ch        chconn.Conn
	opts      Options
	sourceLSN uint64 // pg_current_wal_lsn() at the start
}

// table compares one table, per month when asked.
func (v *verifier) table(ctx context.Context, t ddl.Table) []TableResult {
	ts, err := newTableSQL(t, v.opts.Database, v.ch.Profile(), v.opts.Policies)
	if err != nil {
		return []TableResult{failed(TableResult{Table: t.Name}, err)}
	}
	if len(v.opts.Months) == 0 && !v.opts.PerMonth {
		return []TableResult{v.unit(ctx, ts, "")}
	}
	col, months, err := v.months(ctx, ts)
	if err != nil {
		return []TableResult{failed(TableResult{Table: t.Name}, err)}
	}
	var out []TableResult
	for _, m := range months {
		mts := *ts
		if mts.pgMonth, mts.chMonth, err = monthFilters(col, m, v.ch.Profile()); err != nil {
			out = append(out, failed(TableResult{Table: t.Name, Month: m}, err))
			continue
		}
		out = append(out, v.unit(ctx, &mts, m))
	}
	return out
}

func failed(r TableResult, err error) TableResult {
	r.Status, r.Error = Error, err.Error()
	return r
}

// unit compares one table or one month of it.
func (v *verifier) unit(ctx context.Context, ts *tableSQL, month string) TableResult {
	start := time.Now()
	r := TableResult{Table: ts.table.Name, Month: month}
	err := v.compare(ctx, ts, &r)
	r.Duration = time.Since(start)
	if err != nil {
		return failed(r, err)
	}
	r.Status = Equal
	digestsDiffer := r.PGRows != r.CHRows || r.PGChecksum != r.CHChecksum
	// Digests that differ only through in-flight keys are equal as of the
	// compared point; digests that differ with no key found stay a
	// difference (a row changed between the passes, or worse).
	if len(r.Diffs) > 0 || digestsDiffer && len(r.InFlight) == 0 {
		r.Status = Differs
	}
	v.opts.Log.Info("verified", "table", r.Name(), "status", r.Status, "postgres_rows", r.PGRows,
		"clickhouse_rows", r.CHRows, "diffs", len(r.Diffs), "in_flight", len(r.InFlight), "duration", r.Duration)
	return r
}

func (v *verifier) compare(ctx context.Context, ts *tableSQL, r *TableResult) error {
	root, empty, err := v.root(ctx, ts)
	if err != nil || empty {
		r.PGChecksum, r.CHChecksum = digest{}.String(), digest{}.String()
		return err
	}
	pgD, chD, children, err := v.digests(ctx, ts, root, v.opts.Segments, true, r)
	if err != nil {
		return err
	}
	var pgTotal, chTotal digest
	for _, d := range pgD {
		pgTotal = pgTotal.add(d)
	}
	for _, d := range chD {
		chTotal = chTotal.add(d)
	}
	r.PGRows, r.CHRows = pgTotal.count, chTotal.count
	r.PGChecksum, r.CHChecksum = pgTotal.String(), chTotal.String()
	if pgTotal == chTotal {
		return nil
	}
	var leaves []segment
	for j, c := range children {
		if pgD[j] == chD[j] {
			continue
		}
		if leaves, err = v.explore(ctx, ts, c, max(pgD[j].count, chD[j].count), r, leaves); err != nil {
			return err
		}
		if r.Truncated {
			break
		}
	}
	return v.settle(ctx, ts, leaves, r)
}

// root is the whole key space: the integer key's range, or every hash.
func (v *verifier) root(ctx context.Context, ts *tableSQL) (segment, bool, error) {
	if !ts.intKey {
		return segment{mod: 1}, false, nil
	}
	var pgMin, pgMax *string
	var chRows [][]string
	err := both(
		func() error { return v.pg.QueryRow(ctx, ts.pgBoundsSQL()).Scan(&pgMin, &pgMax) },
		func() (err error) { chRows, err = v.ch.Query(ctx, ts.chBoundsSQL()); return err },
	)
	if err != nil {
		return segment{}, false, err
	}
	var lo, hi int64
	have := false
	widen := func(minS, maxS string) error {
		a, err1 := strconv.ParseInt(minS, 10, 64)
		b, err2 := strconv.ParseInt(maxS, 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("verify: key bounds of %s: %w", ts.table.Name, err)
		}
		if !have || a < lo {
			lo = a
		}
		if !have || b > hi {
			hi = b
		}
		have = true
		return nil
	}
	if pgMin != nil && pgMax != nil {
		if err := widen(*pgMin, *pgMax); err != nil {
			return segment{}, false, err
		}
	}
	if len(chRows) == 1 && chRows[0][0] != "0" {
		if err := widen(chRows[0][1], chRows[0][2]); err != nil {
			return segment{}, false, err
		}
	}
	if have && (hi-lo < 0 || hi == 1<<63-1) {
		// The range does not fit int64 arithmetic: bucket by key hash.
		ts.intKey = false
		return segment{mod: 1}, false, nil
	}
	return segment{lo: lo, hi: hi + 1}, !have, nil
}

// both runs a PostgreSQL and a ClickHouse step concurrently.
func both(pgStep, chStep func() error) error {
	done := make(chan error, 1)
	go func() { done <- chStep() }()
	errPG := pgStep()
	errCH := <-done
	if errPG != nil {
		errPG = fmt.Errorf("PostgreSQL: %w", errPG)
	}
	if errCH != nil {
		errCH = fmt.Errorf("ClickHouse: %w", errCH)
	}
	return errors.Join(errPG, errCH)
}

// digest is a count and the two order-independent aggregates of the row
// hashes: their sum modulo 2^64 and their xor; plus, for tables whose text
// is checksummed per segment (tableSQL.orderedText), the MD5 of the
// segment's text (xor-folded when segments are added up).
type digest struct {
	count    int64
	sum, xor uint64
	text     [md5.Size]byte
}

func (d digest) add(o digest) digest {
	t := d.text
	for i := range t {
		t[i] ^= o.text[i]
	}
	return digest{count: d.count + o.count, sum: d.sum + o.sum, xor: d.xor ^ o.xor, text: t}
}

func (d digest) String() string {
	if d.text == ([md5.Size]byte{}) {
		return fmt.Sprintf("%016x%016x", d.sum, d.xor)
	}
	return fmt.Sprintf("%016x%016x%x", d.sum, d.xor, d.text)
}

// setText reads a segment text MD5 in hex ("" for none).
func (d *digest) setText(h string) error {
	if h == "" {
		return nil
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != md5.Size {
		return fmt.Errorf("segment text checksum %q is not an MD5", h)
	}
	copy(d.text[:], b)
	return nil
}

var two64 = new(big.Int).Lsh(big.NewInt(1), 64)

// pgSum reduces PostgreSQL's exact numeric sum of signed hashes to uint64.
func pgSum(s string) (uint64, error) {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return 0, fmt.Errorf("verify: checksum sum %q is not an integer", s)
	}
	return n.Mod(n, two64).Uint64(), nil
}

// digests computes the digest of every child of s on both sides, indexed
// like the returned children. spread runs the PostgreSQL side over all
// sessions (the first pass).
func (v *verifier) digests(ctx context.Context, ts *tableSQL, s segment, n int, spread bool, r *TableResult) (pgD, chD []digest, children []segment, err error) {
	children, pgBucket, chBucket := ts.split(s, n)
	pgD, chD = make([]digest, len(children)), make([]digest, len(children))
	r.Queries++
	sessions := 1
	if spread && ts.intKey && len(children) > 1 {
		// Other keys are bucketed by hash: a run of buckets is no range.
		sessions = len(v.pgConns)
	}
	work := v.pgWork(ts, s, children, pgBucket, sessions)
	var chSQL []string
	for _, r := range ts.chRuns(s, children) {
		chSQL = append(chSQL, ts.chDigestSQL(r, chBucket))
	}
	v.opts.Log.Debug("segment digests", "table", ts.table.Name, "segment", s.String(), "postgres_sessions", len(work), "clickhouse_queries", len(chSQL), "postgres_sql", work[0].queries[0], "clickhouse_sql", chSQL[0])
	start := time.Now()
	var pgTime, chTime time.Duration
	err = both(
		func() error { defer func() { pgTime = time.Since(start) }(); return v.pgDigestsOn(ctx, work, pgD) },
		func() error { defer func() { chTime = time.Since(start) }(); return v.chDigests(ctx, chSQL, chD) },
	)
	v.opts.Log.Debug("segment digests done", "table", ts.table.Name, "segment", s.String(), "postgres", pgTime, "clickhouse", chTime)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("verify: %s segment %s: %w", ts.table.Name, s, err)
	}
	return pgD, chD, children, nil
}

// pgBatch is one session's share of a digest step: either one GROUP BY
// query over a range of children, or one query per child (orderedText),
// first the child at index first.
type pgBatch struct {
	queries []string
	grouped bool
	first   int
}

// pgWork splits the digests of s's children into at most sessions
// batches of consecutive children.
func (v *verifier) pgWork(ts *tableSQL, s segment, children []segment, pgBucket string, sessions int) []pgBatch {
	if sessions <= 1 || len(children) < 2 {
		if !ts.orderedText() {
			return []pgBatch{{queries: []string{ts.pgDigestSQL(s, pgBucket)}, grouped: true}}
		}
		sessions = 1
	}
	per := (len(children) + sessions - 1) / sessions
	var out []pgBatch
	for i := 0; i < len(children); i += per {
		run := children[i:min(i+per, len(children))]
		if !ts.orderedText() {
			r := segment{lo: run[0].lo, hi: run[len(run)-1].hi}
			out = append(out, pgBatch{queries: []string{ts.pgDigestSQL(r, pgBucket)}, grouped: true})
			continue
		}
		b := pgBatch{first: i}
		for _, c := range run {
			b.queries = append(b.queries, ts.pgSegmentDigestSQL(c))
		}
		out = append(out, b)
	}
	return out
}

// pgDigestsOn runs the batches concurrently, one per session. Their
// children are disjoint, so each fills its own elements of out.
func (v *verifier) pgDigestsOn(ctx context.Context, work []pgBatch, out []digest) error {
	errs := make(chan error, len(work))
	for i, b := range work {
		go func() {
			if b.grouped {
				errs <- pgDigests(ctx, v.pgConns[i], b.queries[0], out)
				return
			}
			errs <- pgSegmentDigests(ctx, v.pgConns[i], b.queries, out[b.first:b.first+len(b.queries)])
		}()
	}
	var all []error
	for range work {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// pgSegmentDigests sends one query per segment as a single batch (one
// round trip) and reads their digests into out, in order.
func pgSegmentDigests(ctx context.Context, pg *pgx.Conn, queries []string, out []digest) error {
	batch := &pgx.Batch{}
	for _, q := range queries {
		batch.Queue(q)
	}
	br := pg.SendBatch(ctx, batch)
	for i := range queries {
		var count, xor int64
		var sum, text string
		if err := br.QueryRow().Scan(&count, &sum, &xor, &text); err != nil {
			br.Close()
			return err
		}
		s, err := pgSum(sum)
		if err != nil {
			br.Close()
			return err
		}
		out[i] = digest{count: count, sum: s, xor: uint64(xor)}
		if err := out[i].setText(text); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

func pgDigests(ctx context.Context, pg *pgx.Conn, q string, out []digest) error {
	rows, err := pg.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var bucket, count, xor int64
		var sum string
		if err := rows.Scan(&bucket, &count, &sum, &xor); err != nil {
			return err
		}
		if bucket < 0 || bucket >= int64(len(out)) {
			return fmt.Errorf("bucket %d outside 0..%d", bucket, len(out)-1)
		}
		s, err := pgSum(sum)
		if err != nil {
			return err
		}
		out[bucket] = digest{count: count, sum: s, xor: uint64(xor)}
	}
	return rows.Err()
}

// chDigests runs the queries one after the other; their buckets are
// disjoint.
func (v *verifier) chDigests(ctx context.Context, queries []string, out []digest) error {
	for _, q := range queries {
		if err := v.chDigestsOf(ctx, q, out); err != nil {
			return err
		}
	}
	return nil
}

func (v *verifier) chDigestsOf(ctx context.Context, q string, out []digest) error {
	rows, err := v.ch.Query(ctx, q)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if len(row) != 4 && len(row) != 5 {
			return fmt.Errorf("digest row has %d columns", len(row))
		}
		bucket, err1 := strconv.ParseInt(row[0], 10, 64)
		count, err2 := strconv.ParseInt(row[1], 10, 64)
		sum, err3 := strconv.ParseUint(row[2], 10, 64)
		xor, err4 := strconv.ParseUint(row[3], 10, 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return err
		}
		if bucket < 0 || bucket >= int64(len(out)) {
			return fmt.Errorf("bucket %d outside 0..%d", bucket, len(out)-1)
		}
		out[bucket] = digest{count: count, sum: sum, xor: xor}
		if len(row) == 5 {
			if err := out[bucket].setText(row[4]); err != nil {
				return err
			}
		}
	}
	return nil
}

// explore narrows a differing segment down to its differing keys,
// depth first in key order, and returns the leaf segments it compared.
func (v *verifier) explore(ctx context.Context, ts *tableSQL, s segment, rows int64, r *TableResult, leaves []segment) ([]segment, error) {
	if rows <= int64(v.opts.LeafRows) || !ts.canSplit(s) {
		r.Queries++
		diffs, err := v.leaf(ctx, ts, s)
		if err != nil {
			return leaves, err
		}
		v.record(r, diffs)
		return append(leaves, s), nil
	}
	pgD, chD, children, err := v.digests(ctx, ts, s, v.opts.SubSegments, false, r)
	if err != nil {
		return leaves, err
	}
	for j, c := range children {
		if pgD[j] == chD[j] {
			continue
		}
		if leaves, err = v.explore(ctx, ts, c, max(pgD[j].count, chD[j].count), r, leaves); err != nil || r.Truncated {
			return leaves, err
		}
	}
	return leaves, nil
}

// record files diffs as differences or, past the as-of point, in flight,
// and stops the search at MaxDiffs.
func (v *verifier) record(r *TableResult, diffs []Diff) {
	for _, d := range diffs {
		if v.opts.AsOf != nil && d.Version > *v.opts.AsOf {
			d.Reason = fmt.Sprintf("ClickHouse version %s is after --as-of %s", FormatLSN(d.Version), FormatLSN(*v.opts.AsOf))
			r.InFlight = append(r.InFlight, d)
			continue
		}
		if len(r.Diffs) >= v.opts.MaxDiffs {
			r.Truncated = true
			return
		}
		r.Diffs = append(r.Diffs, d)
	}
}

// leafRow is one row of a leaf read.
type leafRow struct {
	key     []string
	hashes  []string
	version uint64
	deleted bool
}

// leaf compares a segment row by row.
func (v *verifier) leaf(ctx context.Context, ts *tableSQL, s segment) ([]Diff, error) {
	var pgRows, chRows map[string]leafRow
	var order []string
	err := both(
		func() (err error) { pgRows, order, err = v.pgLeaf(ctx, ts, s); return err },
		func() (err error) { chRows, err = v.chLeaf(ctx, ts, s); return err },
	)
	if err != nil {
		return nil, fmt.Errorf("verify: %s segment %s rows: %w", ts.table.Name, s, err)
	}
	var diffs []Diff
	for _, k := range order {
		p, c := pgRows[k], chRows[k]
		_, inCH := chRows[k]
		switch {
		case !inCH || c.deleted:
			diffs = append(diffs, Diff{Key: p.key, Kind: MissingInClickHouse, Version: c.version})
		default:
			var cols []string
			for i := range p.hashes {
				if p.hashes[i] != c.hashes[i] {
					cols = append(cols, ts.table.Columns[i].Name)
				}
			}
			if len(cols) > 0 {
				diffs = append(diffs, Diff{Key: p.key, Kind: ValuesDiffer, Columns: cols, Version: c.version})
			}
		}
	}
	var extra []string
	for k, c := range chRows {
		if _, inPG := pgRows[k]; !inPG && !c.deleted {
			extra = append(extra, k)
		}
	}
	sortKeys(ts, extra)
	for _, k := range extra {
		diffs = append(diffs, Diff{Key: chRows[k].key, Kind: ExtraInClickHouse, Version: chRows[k].version})
	}
	return diffs, nil
}

// sortKeys orders keys numerically for integer keys, else as text.
func sortKeys(ts *tableSQL, keys []string) {
	less := func(a, b string) bool { return a < b }
	if ts.intKey {
		less = func(a, b string) bool {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return x < y
		}
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && less(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

func (v *verifier) pgLeaf(ctx context.Context, ts *tableSQL, s segment) (map[string]leafRow, []string, error) {
	q := ts.pgLeafSQL(s)
	if ts.intKey {
		q += " ORDER BY " + ts.pgFrom + "." + pgIdent(ts.keyName())
	}
	rows, err := v.pg.Query(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	nk, nc := len(ts.keyCols), len(ts.norms)
	out := map[string]leafRow{}
	var order []string
	for rows.Next() {
		vals := make([]string, 1+nk+nc)
		dest := make([]any, len(vals))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, err
		}
		out[vals[0]] = leafRow{key: vals[1 : 1+nk], hashes: vals[1+nk:]}
		order = append(order, vals[0])
	}
	return out, order, rows.Err()
}

func (v *verifier) chLeaf(ctx context.Context, ts *tableSQL, s segment) (map[string]leafRow, error) {
	rows, err := v.ch.Query(ctx, ts.chLeafSQL(s))
	if err != nil {
		return nil, err
	}
	nk, nc := len(ts.keyCols), len(ts.norms)
	out := map[string]leafRow{}
	for _, row := range rows {
		if len(row) != 3+nk+nc {
			return nil, fmt.Errorf("row has %d columns, want %d", len(row), 3+nk+nc)
		}
		ver, err := strconv.ParseUint(row[1+nk+nc], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("_version %q: %w", row[1+nk+nc], err)
		}
		out[row[0]] = leafRow{key: row[1 : 1+nk], hashes: row[1+nk : 1+nk+nc], version: ver, deleted: row[2+nk+nc] != "0"}
	}
	return out, nil
}

// settle waits LagWait and compares the leaves again: a key that no longer
// differs was replication lag and moves to InFlight; keys that differ only
// now are new changes and are not added.
func (v *verifier) settle(ctx context.Context, ts *tableSQL, leaves []segment, r *TableResult) error {
	if v.opts.LagWait <= 0 || len(r.Diffs) == 0 {
		return nil
	}
	v.opts.Log.Info("differences found; waiting for replication lag before re-checking them",
		"table", r.Name(), "diffs", len(r.Diffs), "wait", v.opts.LagWait)
	if err := v.waitForReplication(ctx, ts); err != nil {
		return err
	}
	still := map[string]Diff{}
	for _, s := range leaves {
		diffs, err := v.leaf(ctx, ts, s)
		if err != nil {
			return err
		}
		for _, d := range diffs {
			still[strings.Join(d.Key, "\x00")] = d
		}
	}
	var keep []Diff
	for _, d := range r.Diffs {
		if now, ok := still[strings.Join(d.Key, "\x00")]; ok {
			keep = append(keep, now)
			continue
		}
		d.Reason = fmt.Sprintf("equal again after waiting %s for replication", v.opts.LagWait)
		r.InFlight = append(r.InFlight, d)
	}
	r.Diffs = keep
	return nil
}

// waitForReplication waits until the ClickHouse table holds a change at
// or past the source LSN read when the run started (replication has
// caught up with the compared point), polling each second, or until
// LagWait has passed: a table without recent writes never gets there.
func (v *verifier) waitForReplication(ctx context.Context, ts *tableSQL) error {
	deadline := time.Now().Add(v.opts.LagWait)
	q := fmt.Sprintf("SELECT toString(max(%s)) FROM %s", chconn.QuoteIdent(ddl.ColVersion), strings.TrimSuffix(ts.chFrom, " FINAL"))
	for {
		if rows, err := v.ch.Query(ctx, q); err == nil && len(rows) == 1 && v.sourceLSN > 0 {
			if ver, err := strconv.ParseUint(rows[0][0], 10, 64); err == nil && ver >= v.sourceLSN {
				v.opts.Log.Info("replication reached the compared point", "table", ts.table.Name, "clickhouse_version", FormatLSN(ver))
				return nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(left, time.Second)):
		}
	}
}

// months lists the months to compare and returns the partition column.
func (v *verifier) months(ctx context.Context, ts *tableSQL) (typemap.Column, []string, error) {
	name, _, err := ddl.PartitionColumn(ts.table, ddl.Options{Partition: v.opts.Partition})
	if err != nil {
		return typemap.Column{}, nil, err
	}
	if name == "" {
		return typemap.Column{}, nil, fmt.Errorf("verify: table %s has no monthly partition column (set --partition %s=COLUMN)", ts.table.Name, ts.table.Name)
	}
	col, _ := ts.table.Column(name)
	if len(v.opts.Months) > 0 {
		return col, v.opts.Months, nil
	}
	var pgMin, pgMax *string
	var chRows [][]string
	err = both(
		func() error {
			return v.pg.QueryRow(ctx, fmt.Sprintf("SELECT to_char(min(%[1]s), 'YYYY-MM'), to_char(max(%[1]s), 'YYYY-MM') FROM %[2]s", pgIdent(name), ts.pgFrom)).Scan(&pgMin, &pgMax)
		},
		func() (err error) {
			chRows, err = v.ch.Query(ctx, chMonthRangeSQL(col, ts, v.ch.Profile()))
			return err
		},
	)
	if err != nil {
		return col, nil, fmt.Errorf("verify: months of %s: %w", ts.table.Name, err)
	}
	var bounds []string
	if pgMin != nil && pgMax != nil {
		bounds = append(bounds, *pgMin, *pgMax)
	}
	if len(chRows) == 1 && chRows[0][0] != "0" {
		for _, yyyymm := range chRows[0][1:] {
			if len(yyyymm) == 6 {
				bounds = append(bounds, yyyymm[:4]+"-"+yyyymm[4:])
			}
		}
	}
	return col, monthRange(bounds), nil
}

func chMonthRangeSQL(c typemap.Column, ts *tableSQL, p chconn.Profile) string {
	q := chconn.QuoteIdent(c.Name)
	conv := func(agg string) string {
		// year*100 + month as ddl partitions by it (Int32 days, Int64 µs on legacy servers)
		return "toString(" + typemap.MonthExpr(c, agg+"("+q+")", p) + ")"
	}
	return fmt.Sprintf("SELECT count(), %s, %s FROM %s WHERE %s = 0", conv("min"), conv("max"), ts.chFrom, chconn.QuoteIdent(ddl.ColIsDeleted))
}

// FormatLSN prints an LSN as PostgreSQL does (hi/lo in hex).
func FormatLSN(n uint64) string { return fmt.Sprintf("%X/%X", n>>32, uint32(n)) }

// ParseLSN reads 16/B374D848 or a decimal number.
func ParseLSN(s string) (uint64, error) {
	if hi, lo, ok := strings.Cut(s, "/"); ok {
		h, err1 := strconv.ParseUint(hi, 16, 32)
		l, err2 := strconv.ParseUint(lo, 16, 32)
		if err := errors.Join(err1, err2); err != nil {
			return 0, fmt.Errorf("verify: LSN %q: want HI/LO in hex or a decimal number", s)
		}
		return h<<32 | l, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("verify: LSN %q: want HI/LO in hex or a decimal number", s)
	}
	return n, nil
}
