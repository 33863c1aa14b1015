// Package snapshot copies PostgreSQL tables into their ClickHouse
// ReplacingMergeTree tables from one consistent view of the source, so that
// the rows it writes and the change events replicate writes later collapse
// to the right final row under FINAL.
//
// # One view for every table and worker
//
// A coordinator connection opens a REPEATABLE READ transaction and exports
// its snapshot (pg_export_snapshot); every worker opens its own REPEATABLE
// READ transaction and imports it (SET TRANSACTION SNAPSHOT). All chunks of
// all tables therefore see exactly the same committed transactions.
//
// # The snapshot version L
//
// Every snapshot row is written with _version = L, a WAL position (pg_lsn -
// '0/0'), the same unit as the LSN replicate writes for a change event.
// ReplacingMergeTree keeps the highest version, so the snapshot is correct
// when (a) every change missing from the snapshot has LSN > L and (b) every
// change in the snapshot with LSN > L is superseded by or equal to the
// snapshot row.
//
// Reading L just before exporting is not enough: a
// transaction that started before L and commits after the export wrote
// changes with LSN < L that the snapshot does not see; they would lose to
// the snapshot row (a lost update). So the coordinator:
//
//  1. reads L = pg_current_wal_insert_lsn() - 1 and then X =
//     pg_current_xact_id() in one autocommit statement: the next WAL
//     record starts above L, so (a) is strict, and every run's L is above
//     the previous run's (the statement's commit record is inserted after
//     L); X is a freshly assigned xid, so every xid assigned before L was
//     read is below X;
//  2. waits, bounded by Options.WaitTimeout, until
//     pg_snapshot_xmin(pg_current_snapshot()) >= X, i.e. every transaction
//     that held an xid at L has ended, logging the pids that block it;
//  3. then BEGIN ISOLATION LEVEL REPEATABLE READ and pg_export_snapshot().
//
// X is not pg_snapshot_xmax(pg_current_snapshot()): PostgreSQL sets a
// snapshot's xmax to latestCompletedXid + 1, and a transaction whose xid is
// at or above that is running but absent from the snapshot's xip list, so
// waiting on that xmax can return while such a transaction is still open
// (TestWaitsForRunningTransaction caught exactly this). Assigning X costs
// one xid per run.
//
// A transaction that commits after the export did not hold an xid at L (it
// would have ended in step 2), so all of its changes are written after L:
// LSN > L, (a) holds. A change in the snapshot with LSN > L belongs to a
// transaction that committed before the export; its event carries the row
// as of that change, and any later change to the row before the export has
// a still higher LSN, so the highest event equals the snapshot row: (b)
// holds. Transactions without an xid at L (read-only so far) write nothing
// before L, which is why xids are the right thing to wait for. A prepared
// (two-phase) transaction blocks the wait until it is resolved; the timeout
// turns that into an error naming it instead of a hang.
//
// # Chunks
//
// A table with a single integer primary key is split into key ranges of
// about Options.ChunkRows rows from min/max read in the snapshot; any other
// table into ctid (page) ranges, which PostgreSQL 14+ scans with a TID
// range scan. The first and last chunk are open-ended, so a chunk plan can
// never miss a row. Rows are read with pgx's binary protocol; the common
// scalar types are decoded from the wire format straight into column
// buffers (typemap.BinaryColumn: decimals up to 18 digits as scaled
// integers, no big.Int), the others through pgx into the same typemap
// builders replicate uses. A worker's block collects one table's rows
// across chunks; its inserter goroutine writes it while the worker reads
// the next block. ClickHouse makes one part per partition per squashed
// insert block, and on this machine creating a part's files (one .bin and
// one .mrk per column) was most of the server's insert time, so parts
// should be few and large. On a connection that streams
// (chconn.Streamer, the native protocol) each worker keeps one INSERT per
// table open for up to Options.InsertRows rows (8M) and sends its blocks
// of Options.StreamRows rows (64k) into it; the insert asks the server to
// gather Options.SquashRows rows (8M; min_insert_block_size_rows, default
// 1M) per squashed block, so min_insert_block_size_bytes (256 MB) decides
// and bounds the server's memory, while the client holds only a few small
// blocks. The 2M order_items then make 38 parts instead of 57 with 1M-row
// squashing (95 with the earlier 500k-row inserts), about 15% less time.
// Ending an insert (the server writes its last parts) happens in the
// background while the next rows go into a new one. Elsewhere (chDB)
// every block of Options.BatchRows rows is an insert of its own. At most
// max(2, workers) blocks (two per worker when streaming) exist at a time,
// which bounds memory; a chunk is counted done once the insert holding its
// last rows has ended.
//
// # Clean reloads and interrupted runs
//
// Options.Truncate empties the ClickHouse table before L is chosen: an
// event replicate wrote before the TRUNCATE is older than the snapshot and
// in it, one written after survives. Readers see an empty, then growing,
// table until the run ends. (A swap through a shadow table was not chosen:
// events replicate writes into the live table during the load would be
// lost at the swap unless replicate is paused.)
//
// A run is not resumed: rerunning snapshots every chunk again at a new,
// higher L. Rows an interrupted run wrote are duplicates of the same keys
// with a lower version, so FINAL shows the newer ones. A row deleted in
// PostgreSQL between the two runs stays from the first run until
// replicate's delete event (LSN > the first L) removes it, or --truncate
// is used.
package snapshot
