package health

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// openPostgres connects within the configured timeout.
func openPostgres(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	pc, err := pgx.ParseConfig(cfg.PostgresDSN)
	if err != nil {
		// pgx's parse errors can quote the DSN; print only its masked form.
		return nil, fmt.Errorf("postgres: cannot parse DSN %s", RedactDSN(cfg.PostgresDSN))
	}
	if pc.ConnectTimeout == 0 || pc.ConnectTimeout > cfg.Timeout {
		pc.ConnectTimeout = cfg.Timeout
	}
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return conn, nil
}

// slotInfo is one row of pg_replication_slots, with the WAL positions
// computed on the server.
type slotInfo struct {
	Name, Plugin, Type, Database string
	Active                       bool
	ActivePID                    *int32
	WALStatus                    *string // reserved, extended, unreserved, lost (PostgreSQL 13+)
	RestartLSN, ConfirmedLSN     *string
	CurrentLSN                   string
	// RetainedBytes is current - restart_lsn: WAL kept for the slot.
	RetainedBytes *int64
	// LagBytes is current - confirmed_flush_lsn: WAL the consumer has not
	// confirmed yet.
	LagBytes *int64
	// CurrentDatabase is the database the DSN connects to.
	CurrentDatabase string
}

const slotQuery = `
SELECT s.slot_name, coalesce(s.plugin, ''), s.slot_type, coalesce(s.database, ''), s.active, s.active_pid,
       s.wal_status, s.restart_lsn::text, s.confirmed_flush_lsn::text, pg_current_wal_lsn()::text,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint,
       current_database()
FROM pg_replication_slots s WHERE s.slot_name = $1`

// readSlot returns the slot, or nil when it does not exist.
func readSlot(ctx context.Context, pg *pgx.Conn, name string) (*slotInfo, error) {
	var s slotInfo
	err := pg.QueryRow(ctx, slotQuery, name).Scan(&s.Name, &s.Plugin, &s.Type, &s.Database, &s.Active, &s.ActivePID,
		&s.WALStatus, &s.RestartLSN, &s.ConfirmedLSN, &s.CurrentLSN, &s.RetainedBytes, &s.LagBytes, &s.CurrentDatabase)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read replication slot %s: %w", name, err)
	}
	return &s, nil
}

// checkPostgres checks reachability, wal_level, the slot, its retained WAL
// and the publication. It returns the open connection (nil when
// unreachable) for the ClickHouse contract check; the caller closes it.
func checkPostgres(ctx context.Context, cfg Config, refs []TableRef) (*pgx.Conn, []Item) {
	if cfg.PostgresDSN == "" {
		return nil, []Item{item(Postgres, "reachable", "", Skip, "no PostgreSQL DSN given (--pg-dsn)", "")}
	}
	pg, err := openPostgres(ctx, cfg)
	if err != nil {
		return nil, []Item{withCause(item(Postgres, "reachable", "", Fail, err.Error(),
			"check host, port, user and password of --pg-dsn and pg_hba.conf; is PostgreSQL running?"), err)}
	}
	var version, db string
	if err := pg.QueryRow(ctx, "SELECT current_setting('server_version'), current_database()").Scan(&version, &db); err != nil {
		pg.Close(context.WithoutCancel(ctx))
		return nil, []Item{withCause(item(Postgres, "reachable", "", Fail, "postgres: "+err.Error(), "check the role's privileges"), err)}
	}
	items := []Item{item(Postgres, "reachable", "", OK, fmt.Sprintf("PostgreSQL %s, database %s", version, db), "")}
	items = append(items, walLevelItem(ctx, pg))
	items = append(items, slotItems(ctx, pg, cfg)...)
	items = append(items, publicationItems(ctx, pg, cfg, refs)...)
	return pg, items
}

func walLevelItem(ctx context.Context, pg *pgx.Conn) Item {
	var lvl string
	if err := pg.QueryRow(ctx, "SHOW wal_level").Scan(&lvl); err != nil {
		return withCause(item(Postgres, "wal_level", "", Fail, "postgres: SHOW wal_level: "+err.Error(), ""), err)
	}
	if lvl != "logical" {
		return item(Postgres, "wal_level", "", Fail, fmt.Sprintf("wal_level is %s: logical decoding is off", lvl),
			"ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL")
	}
	return item(Postgres, "wal_level", "", OK, "logical", "")
}

// slotItems checks the slot and its retained WAL. An inactive slot is a
// warning, not a failure: a connector restarting or rebalancing leaves it
// inactive for a moment, and the danger of a long pause (retained WAL) has
// its own item; a paused or failed connector fails the connector check.
func slotItems(ctx context.Context, pg *pgx.Conn, cfg Config) []Item {
	if cfg.Slot == "" {
		return []Item{item(Postgres, "slot", "", Skip, "no slot given (--slot, or --connector with --connect-url to discover it)", "")}
	}
	s, err := readSlot(ctx, pg, cfg.Slot)
	if err != nil {
		return []Item{withCause(item(Postgres, "slot", cfg.Slot, Fail, err.Error(), "grant the role pg_monitor or superuser"), err)}
	}
	if s == nil {
		return []Item{item(Postgres, "slot", cfg.Slot, Fail, fmt.Sprintf("replication slot %q does not exist: Debezium cannot stream changes", cfg.Slot),
			"restart the Debezium connector (it creates the slot; changes made meanwhile are lost: re-snapshot), or SELECT pg_create_logical_replication_slot('"+cfg.Slot+"', 'pgoutput')")}
	}
	var slot Item
	switch {
	case s.Type != "logical":
		slot = item(Postgres, "slot", cfg.Slot, Fail, fmt.Sprintf("slot %q is a %s slot, Debezium needs a logical one", s.Name, s.Type), "use the connector's own logical slot (slot.name)")
	case s.Database != s.CurrentDatabase:
		slot = item(Postgres, "slot", cfg.Slot, Fail, fmt.Sprintf("slot %q belongs to database %s, not %s", s.Name, s.Database, s.CurrentDatabase), "point --pg-dsn at the connector's database.dbname")
	case s.WALStatus != nil && *s.WALStatus == "lost":
		slot = item(Postgres, "slot", cfg.Slot, Fail, fmt.Sprintf("slot %q lost its WAL (max_slot_wal_keep_size): it can no longer stream", s.Name),
			"drop the slot, restart the connector and re-snapshot (sluice snapshot)")
	case !s.Active:
		slot = item(Postgres, "slot", cfg.Slot, Warn, fmt.Sprintf("slot %q (%s) exists but is not active: no consumer streams from it", s.Name, s.Plugin),
			"start or resume the Debezium connector that uses it")
	default:
		pid := ""
		if s.ActivePID != nil {
			pid = fmt.Sprintf(", pid %d", *s.ActivePID)
		}
		slot = item(Postgres, "slot", cfg.Slot, OK, fmt.Sprintf("logical (%s), active%s", s.Plugin, pid), "")
	}
	return []Item{slot, retainedItem(s, cfg.MaxRetainedWAL)}
}

func retainedItem(s *slotInfo, max int64) Item {
	if s.RetainedBytes == nil {
		return item(Postgres, "retained_wal", s.Name, Warn, "slot has no restart_lsn yet", "wait for the connector to start streaming")
	}
	status := ""
	if s.WALStatus != nil {
		status = ", wal_status " + *s.WALStatus
	}
	msg := fmt.Sprintf("%s retained (restart_lsn %s, current %s%s)", Bytes(*s.RetainedBytes), deref(s.RestartLSN), s.CurrentLSN, status)
	switch {
	case s.WALStatus != nil && *s.WALStatus == "unreserved":
		return item(Postgres, "retained_wal", s.Name, Fail, msg+": the WAL will be removed at the next checkpoint",
			"get the connector streaming now, or raise max_slot_wal_keep_size")
	case max > 0 && *s.RetainedBytes > max:
		return item(Postgres, "retained_wal", s.Name, Warn, fmt.Sprintf("%s, over %s", msg, Bytes(max)),
			"the connector is not confirming: check it is running and committing offsets (heartbeat.interval.ms helps on quiet databases)")
	}
	return item(Postgres, "retained_wal", s.Name, OK, msg, "")
}

func publicationItems(ctx context.Context, pg *pgx.Conn, cfg Config, refs []TableRef) []Item {
	if cfg.Publication == "" {
		return []Item{item(Postgres, "publication", "", Skip, "no publication given (--publication, or --connector with --connect-url to discover it)", "")}
	}
	var all, ins, upd, del bool
	err := pg.QueryRow(ctx, "SELECT puballtables, pubinsert, pubupdate, pubdelete FROM pg_publication WHERE pubname = $1", cfg.Publication).
		Scan(&all, &ins, &upd, &del)
	if errors.Is(err, pgx.ErrNoRows) {
		return []Item{item(Postgres, "publication", cfg.Publication, Fail, fmt.Sprintf("publication %q does not exist: the slot decodes nothing", cfg.Publication),
			"restart the connector with publication.autocreate.mode=filtered, or CREATE PUBLICATION "+quoteIdent(cfg.Publication)+" FOR TABLE ...")}
	}
	if err != nil {
		return []Item{withCause(item(Postgres, "publication", cfg.Publication, Fail, "postgres: read publication: "+err.Error(), ""), err)}
	}
	if !(ins && upd && del) {
		return []Item{item(Postgres, "publication", cfg.Publication, Warn,
			fmt.Sprintf("publication publishes insert=%t update=%t delete=%t: some changes are not captured", ins, upd, del),
			"ALTER PUBLICATION "+quoteIdent(cfg.Publication)+" SET (publish = 'insert, update, delete, truncate')")}
	}
	published, err := publishedTables(ctx, pg, cfg.Publication)
	if err != nil {
		return []Item{withCause(item(Postgres, "publication", cfg.Publication, Fail, err.Error(), ""), err)}
	}
	var missing []string
	for _, r := range refs {
		if !published[r.SourceSchema+"."+r.SourceTable] {
			missing = append(missing, r.SourceSchema+"."+r.SourceTable)
		}
	}
	if len(missing) > 0 {
		return []Item{item(Postgres, "publication", cfg.Publication, Fail,
			fmt.Sprintf("publication does not publish %s: their changes are not captured", strings.Join(missing, ", ")),
			"ALTER PUBLICATION "+quoteIdent(cfg.Publication)+" ADD TABLE "+strings.Join(missing, ", "))}
	}
	what := plural(len(published), "table")
	if all {
		what = "all tables"
	}
	return []Item{item(Postgres, "publication", cfg.Publication, OK, "publishes "+what+" (insert, update, delete)", "")}
}

func publishedTables(ctx context.Context, pg *pgx.Conn, pub string) (map[string]bool, error) {
	rows, err := pg.Query(ctx, "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", pub)
	if err != nil {
		return nil, fmt.Errorf("postgres: tables of publication %s: %w", pub, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			return nil, fmt.Errorf("postgres: tables of publication %s: %w", pub, err)
		}
		out[s+"."+t] = true
	}
	return out, rows.Err()
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// Bytes prints a byte count in binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= unit
		if f < unit && f > -unit {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f PiB", f/unit)
}
