package snapshot

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Point is the consistent view every worker imports.
type Point struct {
	// LSN is L in text form (e.g. 0/16B3748); Version is L as a number, the
	// _version of every snapshot row.
	LSN     string
	Version uint64
	// SnapshotID is what pg_export_snapshot returned.
	SnapshotID string
	// Time is now() of the exporting transaction (cdc_timestamp).
	Time time.Time
	// Database is current_database() (cdc_source_db).
	Database string
	// Waited is how long in-flight transactions delayed the export.
	Waited time.Duration
}

// ParseLSN turns PostgreSQL's X/Y text form into the UInt64 version.
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("snapshot: LSN %q: want X/Y", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("snapshot: LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("snapshot: LSN %q: %w", s, err)
	}
	return h<<32 | l, nil
}

// exportPoint chooses L, waits for every transaction that held an xid at L
// to end, then begins the exporting transaction on conn (see doc.go). The
// returned transaction must stay open until every worker imported it.
func exportPoint(ctx context.Context, conn *pgx.Conn, timeout, poll time.Duration, log *slog.Logger) (pgx.Tx, Point, error) {
	var p Point
	var xmax string
	// L is the WAL insert position minus one: the insert position is where
	// the next WAL record will start, so every change record inserted after
	// L was read starts above L, as (a) in doc.go needs (strictly: a change
	// at exactly L would tie with the snapshot rows, and ReplacingMergeTree
	// keeps either). pg_current_wal_lsn() is the write position, which
	// trails the insert position by the WAL still in the buffers (with
	// synchronous_commit=off up to a wal_writer_delay's worth): a lower L
	// makes replicate re-apply more changes the snapshot already holds, and
	// two runs could read the same L when nothing was written between them,
	// so a rerun's rows would tie with the interrupted run's. With the insert
	// position every run is above the previous one: this statement assigns
	// an xid, so its commit inserts a WAL record after L.
	//
	// X is the next xid after L was read, taken by assigning one: a
	// snapshot's xmax is only latestCompletedXid+1, so a transaction whose
	// xid is at or above it can be running and would be missed (see doc.go).
	// The target list is evaluated left to right: L first.
	err := conn.QueryRow(ctx, `SELECT (pg_current_wal_insert_lsn() - 1)::text, pg_current_xact_id()::text`).Scan(&p.LSN, &xmax)
	if err != nil {
		return nil, p, fmt.Errorf("snapshot: read the current WAL position: %w", err)
	}
	if p.Version, err = ParseLSN(p.LSN); err != nil {
		return nil, p, err
	}
	start := time.Now()
	if err := waitForXmin(ctx, conn, xmax, timeout, poll, log); err != nil {
		return nil, p, err
	}
	p.Waited = time.Since(start)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, p, fmt.Errorf("snapshot: begin the exporting transaction: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT pg_export_snapshot(), now(), current_database()`).Scan(&p.SnapshotID, &p.Time, &p.Database)
	if err != nil {
		_ = tx.Rollback(ctx)
		return nil, p, fmt.Errorf("snapshot: export the snapshot: %w", err)
	}
	p.Time = p.Time.UTC()
	return tx, p, nil
}

// waitForXmin polls until no transaction older than xmax is running.
func waitForXmin(ctx context.Context, conn *pgx.Conn, xmax string, timeout, poll time.Duration, log *slog.Logger) error {
	deadline := time.Now().Add(timeout)
	lastLog := time.Time{}
	for {
		var done bool
		err := conn.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::text::xid8`, xmax).Scan(&done)
		if err != nil {
			return fmt.Errorf("snapshot: wait for transactions older than xid %s: %w", xmax, err)
		}
		if done {
			return nil
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			log.Info("snapshot waits for transactions that were running at the snapshot LSN", "blocking", blockers(ctx, conn, xmax))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("snapshot: transactions older than xid %s still running after %s (%s); end them or raise --wait-timeout",
				xmax, timeout, blockers(ctx, conn, xmax))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("snapshot: wait for running transactions: %w", ctx.Err())
		case <-time.After(poll):
		}
	}
}

// blockers names the sessions and prepared transactions holding an xid
// below xmax, for the log line and the timeout error.
func blockers(ctx context.Context, conn *pgx.Conn, xmax string) string {
	rows, err := conn.Query(ctx, `
WITH x AS (SELECT (xip::text::bigint % 4294967296)::text AS xid
           FROM pg_snapshot_xip(pg_current_snapshot()) AS xip
           WHERE xip < $1::text::xid8)
SELECT 'pid ' || a.pid || ' (' || coalesce(a.usename, '?') || ', ' || coalesce(a.state, '?') ||
       ', since ' || coalesce(to_char(a.xact_start, 'HH24:MI:SS'), '?') || ')'
FROM pg_stat_activity a JOIN x ON a.backend_xid::text = x.xid
UNION ALL
SELECT 'prepared transaction ' || quote_literal(p.gid)
FROM pg_prepared_xacts p JOIN x ON p.transaction::text = x.xid`, xmax)
	if err != nil {
		return "unknown: " + err.Error()
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "unknown: " + err.Error()
	}
	if len(names) == 0 {
		return "none visible"
	}
	return strings.Join(names, ", ")
}
