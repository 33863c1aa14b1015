// Package replicate is the library behind `sluice replicate`: it reads
// Debezium change topics from Kafka in bounded runs and writes them into
// ClickHouse ReplacingMergeTree tables (created and evolved by package ddl).
//
// # Stages
//
// Kafka is read one batch at a time (bounded by BatchMessages and
// BatchBytes: the raw messages in memory, plus kafkasrc's read-ahead of at
// most 4 MB per partition). Each batch goes through decode, fill and build
// into the tables' pending blocks, and its messages are released. The
// batches collect in a flush window until it holds FlushRows rows or about
// FlushBytes of values and dead letters, FlushInterval has passed, the
// plan is drained or a bound is reached; then write and commit run for the
// whole window. ClickHouse 18.16 pays per insert (one part per touched
// monthly partition, ~0.5 s under load), so one insert per table per
// window instead of per Kafka batch is what makes replicate fast.
//
//  1. read: kafkasrc (design B: plan without joining, join, fetch up to the
//     high watermark seen at plan time). A plan with no lag returns at once
//     with Status "idle" and Joined false: the group is never joined.
//  2. decode/route: debezium.Decoder (envelope and unwrap shapes, with and
//     without schemas); topic <prefix>.<schema>.<table> → ClickHouse table
//     <table> (TableMap overrides). Tombstones, heartbeats, transaction
//     records and logical messages are counted and skipped. A new column in
//     a message (or a new row schema) evolves the table through ddl before
//     anything is written (a pending window is written and committed
//     first, so no block mixes old and new columns); a refused change
//     (type change, drop) stops the run with ddl's message and nothing of
//     the batch committed.
//  3. fill: deletes carry only the key under REPLICA IDENTITY DEFAULT and
//     unchanged TOAST columns carry the placeholder. A delete is written as
//     a marker row (_is_deleted = 1 at the delete's version) that must
//     land where the row is: the non-key columns its partition and sorting
//     keys read (system.tables; the shop's: created_at; a delete's own
//     non-key values are not trusted, under DEFAULT they are Debezium's
//     fallbacks such as the epoch), every placeholder, and every NOT NULL
//     column an insert or update lacks are taken from the row's latest
//     state: an earlier event for
//     the key in the same batch, else the key's row in the pending block
//     (an earlier batch of the window: the value is copied from that row),
//     else its row in the block being written (the previous window, copied
//     the same way), else, for a delete, the row of an earlier window this
//     run wrote (recent.go: the marker columns of the last 32,768-65,536
//     keys written per table, once the run has seen a delete of the table;
//     forgotten on a truncate, a failed window, a rejoin and a new drain;
//     filled_from_run), else the stored row (`SELECT <those columns> FROM t
//     WHERE pk IN (…) ORDER BY _version DESC LIMIT 1 BY pk`: the latest
//     version without FINAL, 500 keys a query, only for keys that need a
//     fill, started while the next batches are decoded: see Concurrency).
//     A marker's other columns are NULL or the type's default: readers
//     exclude markers (the e2e tests also check the live keys partition by
//     partition, as background merges collapse them). When a key
//     expression reads something sluice cannot name (a table made by
//     hand), markers carry the whole stored row, as before. A delete that
//     needs a stored row ClickHouse does not have is counted as
//     deletes_without_row and not written. A placeholder with no stored
//     row is a dead letter (unavailable_value). A row that became a dead
//     letter in build leaves the key's latest state as it was (its earlier
//     row in the block, else ClickHouse's).
//     A truncate for a table with pending rows flushes the window first;
//     after a pending truncate no stored row is read for that table.
//     REPLICA IDENTITY FULL is the alternative for TOAST: Debezium 3.6.1
//     then sends the full value of an unchanged TOAST column (in the
//     unwrapped row and in the envelope's before and after), so updates
//     need no lookup (TestToastReplicaIdentityFull: filled_from_clickhouse
//     0; under DEFAULT the same update carries the placeholder and is
//     filled).
//  4. build: rows are appended to one block per table, column-oriented
//     (typemap builders plus the metadata columns). A value that does not
//     convert makes its message a dead letter (convert_error): the values
//     of that row already appended are truncated away.
//     Superseded rows: in a ReplacingMergeTree(_version) table (what ddl
//     makes; read from system.tables' engine_full) the merges and FINAL
//     keep one row per key, the highest _version, the last inserted on a
//     tie. So when a key changes again in the same window, its earlier
//     row in the block is marked superseded and dropped before the insert
//     (block.compact): the key's last change is written, with its own
//     cdc_operation (an insert then an update in one window is written as
//     the update; an insert then a delete as the delete's marker). An
//     earlier row with a higher version than the later one (out-of-order
//     delivery) is kept, as FINAL would keep it, and so is an earlier row
//     in another partition or with other sorting-key values than the
//     later one (a delete then a re-insert with a new created_at: the
//     delete's marker is what removes the row stored in the old
//     partition; a merge replaces rows only within a partition). Tables
//     whose keys read columns sluice cannot name (markers carry the whole
//     row) keep every row. When the window reaches
//     its row or byte bound with an eighth or more of its rows superseded,
//     it is compacted and goes on filling (runner.makeRoom): more changes
//     per window in the same memory, so fewer and larger parts. Counts:
//     tables[].inserted/updated/deleted/snapshot are changes read, rows
//     are rows written, superseded the changes dropped this way. Tables of
//     any other engine (a MergeTree kept as a change log) get every row.
//     What stays visible without FINAL changes accordingly: a query that
//     counts versions sees one per key and window instead of one per change
//     (the merges would have left one per key anyway).
//  5. write (per window): TRUNCATE (op t) and the blocks, then the dead
//     letters, each retried with exponential backoff and jitter on
//     transient errors only, within RetryTimeout; inserts carry an
//     insert_deduplication_token derived from the table and the Kafka
//     ranges of the block when the server supports it (22.2+). A block is
//     sent as several data blocks of at most 8192 rows and about 2 MB
//     within one INSERT (bounded client buffers, which the connection pool
//     keeps; the server squashes them into the same parts). The blocks of
//     a window's tables are inserted two at a time.
//  6. commit: only after every block and dead letter of the window is
//     written, the offsets of the window's last batch, which cover every
//     batch of the window. A failure anywhere before leaves the window
//     uncommitted; the next run re-reads it, and the rows collapse by
//     _version under FINAL. SIGTERM: the window in hand is written and
//     committed (within ShutdownTimeout), then the run stops.
//
// # Concurrency
//
// Three goroutines, one owner each:
//
//   - reader: owns the kafkasrc Source's reading and the Debezium decoder
//     (runner.dec). It calls ReadBatch, runs every message through the
//     decoder (predecode.go) and hands the batch and its records over an
//     unbuffered channel, so at most one batch is read ahead while the
//     main goroutine processes the previous one. The Source is shared with
//     commits and rejoins through a mutex (srcMu). Message memory comes
//     from kafkasrc's slabs; the main goroutine hands a batch's slabs back
//     (Batch.Release) once it is built into the blocks, and dead letters
//     copy their bytes.
//   - main: route the decoded records, fill, build into the tables' blocks (the window being
//     built). A decoded batch joins the lookahead queue (runner.queue, at
//     most LookaheadBatches): the ClickHouse lookups of its fills run in the
//     background (prefetch.go: at most one per table; the keys of the
//     batches queued while it runs go into the table's next one) while the
//     next batches are read and decoded, instead of stopping the main
//     goroutine. The head of the queue is filled and built as soon as its
//     lookups are done, or when the queue is full. When the window is full it is handed to the writer
//     and the tables switch to their other (spare) block: double-buffered
//     builders, so at most one window is being written and one built.
//   - writer (one per window, at most one at a time): writes the window's
//     blocks and dead letters, then commits the offsets of its last batch
//     (under srcMu). The next window is handed over only after the previous
//     one finished, so commits happen strictly after the write of everything
//     they cover, and in order. The main goroutine collects the outcome
//     (report, dead-letter limit, errors) between batches.
//
// A fill of a key held by the window being written copies the row from
// that window's block (the writer only reads it; the main goroutine resets
// it after the write); only a fill in a table the window being written
// truncates (or whose column type was refined since) waits for that write.
// A lookup started ahead stays valid until the fill: ClickHouse's state of
// a key changes only when a window holding it is written, and a key is
// asked only when no block in memory and no batch queued before its own
// holds it (so no window written before its fill holds it); keys the fill
// needs that were not looked up ahead are looked up then. Schema
// evolution, the dead-letter limit, a bound, SIGTERM and the end of the
// plan flush synchronously: finish the queued batches (a truncate after
// pending rows and the dead-letter limit write the window without them),
// wait for the window being written, write and commit the one being built. SIGTERM stops the reader (a batch read ahead is simply
// not committed), writes and commits the windows in hand within
// ShutdownTimeout, leaves the group and exits 130.
//
// A lost generation (an overlapping run joined or left, a session expired)
// is not a failure: the reader is stopped, the window being written
// finishes (its rows stay: durable and idempotent by _version) but nothing
// is committed with the old generation, the window being built (and the
// batch decoded ahead) is dropped,
// the Source rejoins (kafkasrc.Source.Rejoin: cg.Next) and reading goes on
// from the group's committed offsets; re-read rows collapse under FINAL.
// The report counts generations and rejoins; at most 50 rejoins a drain.
//
// Every ClickHouse attempt (insert, truncate, lookup, DDL) has a deadline:
// the remaining retry budget, at least 15 s. clickhouse-go turns it into
// socket deadlines, so a frozen server fails the attempt (exit 4 once the
// budget is spent) instead of blocking for the driver's 300 s read
// timeout; native.Open sets a 60 s read timeout for calls without one.
//
// # Performance (1M-event shop backlog, 2.5 GB, 18.16, shared 2-core machine)
//
// Measured with scripts/bench/gen's copies of the shop topics (see the
// commit messages for the figures of each step). Before: the block was
// rebuilt from scratch for every dead letter (quadratic: 88% of CPU with
// the shop's pre-1970 birth dates on 18.16) and every 10000-message batch
// made 5 inserts of ~19 parts each. After: rows are truncated, not
// rebuilt; nullable builders keep values in place (no allocation per
// value); one insert per table per flush window; the Go memory limit is
// set to 200 MB (GOMEMLIMIT overrides) so the heap stays under 300 MB RSS.
//
//	run (same machine, load 6-10)          msg/s    MB/s   peak RSS  CPU s
//	before, 200k events                     1,489     3.8   240 MB    46.6
//	row truncate, 200k events              10,389    26.2   218 MB     3.5
//	+ flush windows, 200k events     10,700-23,500  27-59   246-286 MB 3.4-5.7
//	+ flush windows, 1,017,240 events      10,069    24.6   256 MB    31.4
//	baselines in that invocation: kcat to /dev/null 99,000 msg/s (10.3 s);
//	clickhouse-client inserting the same rows from Native files: ~1M rows
//	in 2.0 s. Stage wall times of the 1M run: read 27 s, decode 12.5 s,
//	fill 12 s, build 13 s, write 33 s (35 inserts), commit 0.1 s.
//
// Read-ahead and background writes (perfrep.public copies, first 300,000
// events, before and after in one invocation while the integration suite
// loaded the same ClickHouse; --cpuprofile on):
//
//	run                                    msg/s   wall s  peak RSS  CPU s
//	before (one goroutine)                 3,889    77.4   233 MB     5.5
//	reader + writer goroutines             5,388    55.9   345 MB    11.6
//	stage wall times after: read 0.7 s (was 6.5), decode 6.5, fill 31.9
//	(of which waiting for the window being written: most of 37.4 s),
//	build 6.6, write 38.5 (was 46.6, now overlapped), commit 0.06.
//
// ClickHouse's insert time bounds the run on this machine: the fill of the
// next window needs the state of keys (vehicles' TOAST placeholders,
// deletes) held by the window being written, so it waits for that write in
// most windows. Serving those fills from the block being written (a
// cross-block copy in typemap) would remove the wait. The memory limit is
// now 160 MB (was 200) for the second window; the 345 MB above was
// measured at 200 MB.
//
// Default bounds for peak RSS < 300 MB (all 1,017,240 perfrep events,
// 2.5 GB, 160 MB memory limit, after the drain-end fix; load 5-7):
//
//	--batch-bytes / --flush-bytes     msg/s   wall s  peak RSS  CPU s
//	32 MB / 48 MB (old defaults)     12,178    83.6   339 MB    41.6
//	16 MB / 32 MB                    16,080    63.3   309 MB    40.3
//	 8 MB / 16 MB (defaults)          9,982   101.9   206 MB    17.7
//
// Smaller windows mean more inserts (write 63 s instead of 19-25 s);
// raise both bounds where memory allows.
//
// Fills from the block being written, lookups ahead, two inserts at a time
// (scripts/bench/gen's 1,031,980 events, 2.56 GB, several builds drained
// one after the other from the same topics, stage times from the log; the
// machine was shared, load 3-6, so compare within a group only):
//
//	build (default bounds unless said)   wall s  peak RSS  CPU s  fill s  write s  wait for write s
//	before (c60e74c)                       52.4   195 MB    22.4    42.3     26.7     25.9
//	+ fills from the block being written,
//	  lookups ahead                        74.5   264 MB    45.6    10.0     68.7     38.1
//	+ two inserts at a time                46.4   282 MB    42.5    14.4     37.4      5.3
//	+ insert data blocks <= ~2 MB          52.4   200 MB    27.8    16.2     42.5     17.5
//	  same, --batch-bytes 4 MB (default)   48.5   179 MB    22.7    23.4     42.8      7.8
//	  4 MB / --flush-bytes 32 MB           55.7   244 MB    39.1    21.8     39.8      8.7
//	  4 MB / 64 MB, --flush-rows 400000    50.2   354 MB    56.9    11.2     26.4      0.6
//
// Fills no longer wait for the window being written (wait for write
// 25.9 s → 5-8 s) and 95% of the lookups run ahead. What stopped the
// first build from gaining: CPU doubled because the live heap met the
// 160 MB memory limit and the GC ran nearly all the time; --memprofile
// showed 71 MB of clickhouse-go encode buffers (8192-row data blocks of
// 3 KB strings, kept by every pooled connection), now bounded at ~2 MB a
// data block. What bounds the run now is ClickHouse 18.16 itself on the
// shared cores: the inserts (write 40 s for 1M rows, whether in 63 or 119
// inserts) and ~200 FINAL lookups (~100 ms each; the deletes of this
// backlog refer to rows one copy of the shop back, about 200 MB of events
// earlier, out of any window's reach). The same build, one generated
// backlog (1,044,027 events), three batch sizes one after the other (load
// 4-5.4; ClickHouse's insert time varied from run to run):
//
//	--batch-bytes      wall s  msg/s   peak RSS  CPU s  write s  wait for lookups ahead s
//	4 MB (default)      33.4   31,264  179 MB    16.8     23.2     16.7
//	8 MB                61.2   17,048  202 MB    25.4     58.8     13.9
//	16 MB               98.4   10,608  238 MB    50.8     87.7     12.2
//
// scripts/bench/replicate at the defaults: 24,995 events/s (41.8 s), peak
// RSS 178 MB; kcat 198,108/s; clickhouse-client 484,220 rows/s (load
// 3.6-5.1). Issue 4's target (half the slower baseline, ~99,000/s) is not
// met: the main goroutine now mostly waits for the lookups ahead (24 s of
// 42 s, 371 FINAL queries of ~80 ms) and the writer for 18.16's inserts.
//
// Lookahead queue, lookups without FINAL, markers with the partition
// column only, 200 MB memory limit (scripts/bench/gen's 1,191,486 events,
// 2.96 GB, drained by each build one after the other from the same topics
// (--reuse); another engineer's verify benchmarks loaded ClickHouse and
// PostgreSQL throughout, load 3.5-8, so compare within a row's neighbours):
//
//	build                                  wall s  user s  peak RSS  lookups ahead  wait for them s  write s
//	one batch ahead (--lookahead-batches 1),
//	  lookups of every column, no FINAL      79.2    24.6   197 MB        528            21.3          72.2
//	  queue of 6 batches                     77.7    40.3   241 MB        390             3.5          66.6
//	+ markers look up created_at only        81.1    39.5   216 MB        388             0.4          72.1
//	  same, 3 queued                         48.4    33.1   203 MB        519             1.2          29.7
//	  3 queued, 200 MB memory limit (now)    50.4    20.8   224 MB        404             3.0          44.9
//	  same, --flush-bytes 32 MB              37.3    32.0   258 MB        364             0.1          20.4
//
// The first run of the session, on a quiet machine (load 2.5), waited 21 of
// 33 s for the lookups ahead (477 FINAL queries of 60 ms: on the shop's
// small tables every lookup read about every granule of every column).
// Now the lookups hide behind decoding and read one column, and what bounds
// a run here is ClickHouse 18.16's cost per part: every insert writes one
// part per touched monthly partition (19 for this backlog), 15-80 ms each
// on this machine depending on its load (20 INSERT ... SELECTs of 3,000
// shop orders each took 30.9 s, one INSERT of all 62,000 took 0.43 s), so
// the writer's time follows the number of windows: --flush-bytes 32 MB
// halves it where memory allows. clickhouse-client's baseline inserts the
// same rows as one INSERT per table. scripts/bench/replicate on the final
// build with the machine otherwise idle (load 2.2): 1,063,616 events in
// 18.9 s, 56,216 events/s, peak RSS 225 MB; kcat 227,755 msg/s;
// clickhouse-client 483,480 rows/s (start of the session: 30,690 events/s
// against kcat's 208,604).
//
// Session 4 (scripts/bench/gen's 1,063,616 events, 2.64 GB; each row one
// build after another on the same topics; ClickHouse's data on tmpfs
// unless said, see below):
//
//	build                                        wall s  user s  peak RSS  ClickHouse CPU s
//	start (5e7b46e), data on disk                22.5-58    18-19   219-233 MB      -
//	start, data on tmpfs                           19.1     15.5   224 MB        15.4
//	+ message slabs reused (kafkasrc)              15.6     10.8   224 MB          -
//	+ JSON decoded by the reader goroutine       14.9-15.4  11.5   223 MB        15.4
//	+ compact builders, per-chunk views          13.2-13.8   9.8   223 MB          -
//	+ 32 MB windows, 250 MiB limit (defaults)    11.5-12.6   9.8-10.4  267-274 MB  10.1
//
// Tried and dropped: building a batch's tables in parallel goroutines (no
// gain: both cores are busy, sluice ~11 s and ClickHouse ~10 s of CPU in a
// 12 s run); 6 batches ahead (the wait for lookups fell from 1.5 to 0.75 s
// but the GC took more); 8 MB batches; a reader channel of 2 batches;
// keeping 8 free slabs instead of 32 (slabs allocated afresh: 16.6 s user).
//
// On this machine an 18.16 insert mostly creates files: a part is a
// directory of two files per column, and the root file system (ext4
// without a journal) skips recently deleted inodes one by one when it
// allocates one (perf: ext4_create -> recently_deleted, 58% of all CPU
// samples during a run). After other runs dropped their databases a part
// took ~45 ms (one INSERT of 6,500 orders over 19 months: 0.9 s; over one
// month: 0.08 s). The same build then took 16-54 s with the data on disk
// and 12-13 s on tmpfs, so the benchmark prints which it ran on
// (SLUICE_CH_DATA_DIR in scripts/stack.md).
//
// Session 5 (scripts/bench/gen's 1,201,528-1,246,648 events, 3.0-3.1 GB;
// ClickHouse on tmpfs; alternating runs of each build, the stack otherwise
// idle; CPU s are sluice's user+sys and ClickHouse's):
//
//	build                                      wall s     sluice CPU s  ClickHouse CPU s  GC cycles
//	start (885c480)                            18.7-19.6  16.9-17.2     16.0-16.5            -
//	no fill lookups at all (a measuring hack)  10.1-11.0  10.7-11.5      7.5-7.9             58
//	+ deletes filled from rows the run wrote   12.7-13.7  13.5-16.3      9.4-10.6         104-115
//	  (recent.go, 32,768 rows a generation)
//	+ 8-byte row references in t.latest and    11.0-15.2  11.3-15.4      8.6-10.6          87-94
//	  t.written (26.7 MB of maps live before)
//	+ per-data-block views dropped after each  12.8-15.3  13.6-16.3      9.2-10.8          76-81
//	  write, per-batch maps reused             13.2-15.1  13.6-15.8      9.6-11.0          73
//
// The ~400 lookups ahead were ~40% of ClickHouse's CPU (each opens every
// part of the table) and kept the main goroutine waiting 2.4-3.2 s. With
// them gone what remains is ClickHouse's cost per part (TCPHandler time is
// mostly the kernel creating part files and faulting in fresh memory) and
// merges, and sluice's GC: at ~23 ms of CPU a cycle, every MB kept live
// costs CPU under the 250 MiB limit. Tried and dropped, each measured in
// GC cycles and CPU: the recent rows in a map of strings (187 cycles at
// 131,072 rows a generation: 20 s of CPU); reusing events' value slices
// (+1-2 s: clearing pooled memory that holds pointers); doubling string
// arenas while small (fewer bytes allocated, more slack live: 129 cycles
// instead of 106); 40 MB windows (ClickHouse -1 to -1.5 s, GC +1.5 to
// +2.5 s, still so at 73 cycles); one batch ahead instead of three (86-90
// cycles instead of 111-115, no change in wall time within the noise).
// scripts/bench/replicate after the cache: 86,400-93,000 events/s,
// 0.35-0.46x of kcat's faster run (192,000-244,000 msg/s); at the end of
// the session 95,800-97,000 events/s, 0.42-0.44x (kcat 220,000-231,000),
// and 71,500-79,300 events/s, 0.36-0.40x when the machine was slower
// after a CI run (kcat 196,900-207,800, clickhouse-client 10-20% slower);
// peak RSS 276-281 MB.
//
// Session 6 (the same 1,246,648-event backlog; alternating runs of each
// build, CPU as above). Where ClickHouse's CPU went: perf showed 62% in
// inserts (most of it the kernel creating, stat-ing and unlinking part
// files) and 35% in background merges, so it followed the number of
// parts, i.e. of windows; 64 MB windows without the memory limit cut it
// by 3 s, but two such windows do not fit in 300 MB. 30% of the rows
// written were a key's earlier change that a later one in the same window
// replaced, which a ReplacingMergeTree drops at the next merge anyway:
//
//	build                                          wall s     sluice CPU s  ClickHouse CPU s  windows
//	start (889ceed)                                13.0-17.2  13.5-16.5     9.3-11.6            18
//	+ superseded rows dropped before the insert    13.9-14.6  15.0-16.0     8.9-9.0             18
//	+ a full window compacted when a quarter is    10.2-14.2  12.2-17.2     4.5-5.9             11
//	  superseded (makeRoom), row plans (plan.go)   10.8-11.7  12.3-14.2     4.7-4.9             11
//	+ compacted from an eighth                     10.2-12.3  13.1-15.6     3.1-3.7              7
//
// scripts/bench/replicate: 0.45x, 0.49x, 0.52x of kcat with makeRoom at a
// quarter; at an eighth 0.53x, 0.52x, 0.65x, 0.54x, 0.60x, 0.50x (99,100-
// 137,100 events/s in 9.1-12.6 s against kcat's faster run, 178,900-
// 255,500 msg/s), and 0.47x in a run where kcat itself took 11.2 s then
// 7.0 s; with 40-byte values (a block selector instead of a pointer:
// 2.19 GB allocated instead of 2.53, 58-62 GC cycles instead of 65-69)
// 0.49x and 0.53x. Peak RSS 275-284 MB. GOGC=400 under the same limit:
// 55-59 GC cycles instead of 64-68, wall time unchanged within the noise. Tried and dropped: building a batch's tables in
// parallel goroutines (a batch mostly holds one table: build time
// unchanged); building a table's columns on two goroutines (the helper
// got 22% of the work: both cores are busy, build 4.31 s against 4.39);
// the placeholder test moved to the reader goroutine (no change within
// the noise); not keeping the spare block's capacity (regrowing it cost
// sluice 2 s of CPU, ClickHouse saved 1.5 s); writing each window
// synchronously with 48-64 MB windows (25-45% slower: no overlap); 48 and
// 56 MB windows (366-607 GC cycles at the limit); 40 MB windows
// (ClickHouse -1.5 s, but 100 GC cycles: too near the limit to be a
// default).
//
// # Versions
//
// _version is the change's source LSN (source.lsn or __lsn). Messages
// without one (unwrap without lsn in add.fields, incremental snapshots)
// fall back to the Kafka offset + 1, logged once per topic: that orders one
// key's changes within its partition (Debezium keys by primary key), but
// not against rows versioned by LSN, nor across a re-created topic.
// cdc_timestamp is the source commit time (ts_ms), else the Kafka record
// time; cdc_source_db falls back to the topic prefix; event_time is the
// processing time of the batch.
//
// # Dead letters
//
// Poison messages go to the ClickHouse table sluice_dead_letters in the
// target database (created if missing): run_id, topic, partition, offset,
// key, value (raw), reason, error, received_at. Reasons: the decoder's
// (malformed_json, bad_shape, bad_schema, bad_key, bad_metadata,
// missing_op, unknown_op, missing_row), convert_error, unknown_table,
// missing_key, unavailable_value. They are written in the same flush as
// the blocks, before the commit; optionally also to a Kafka topic.
// MaxDeadLetters (default 1000; 0 stops at the first, negative: no limit)
// stops the run after the batch that crossed it was written and committed.
//
// # Report (JSON, stable)
//
//	run_id, group           the run and its consumer group
//	status                  idle | drained | max_messages | max_duration | interrupted | failed
//	error                   the error text when status is failed or interrupted
//	started_at, finished_at, duration_seconds
//	joined                  false when the group was never joined (idle run)
//	generations             consumer group generations this run took part in
//	rejoins                 joins after a lost generation with uncommitted records (re-read)
//	cycles                  drains done (more than one with --follow)
//	messages, bytes         Kafka messages read and committed, their payload bytes
//	messages_per_second, rows_written, rows_per_second
//	lag_left                sum of partitions[].lag_left
//	partitions[]            topic, partition, assigned, start_offset, committed_offset,
//	                        target_offset (high watermark at plan time), lag_left, messages
//	tables[]                table, inserted, updated, deleted, snapshot, rows, superseded, blocks, bytes,
//	                        filled_from_clickhouse, filled_in_batch, filled_from_run, deletes_without_row,
//	                        truncates, columns_added
//	ignored                 tombstones, heartbeats, tx_metadata, log_messages
//	dead_letters, dead_letters_by_reason{reason: count}
//	touched_partitions[]    {table, partition}: toYYYYMM ids written, for analytics refreshes
//
// # Exit codes (cmd_replicate.go)
//
// 0 drained, bound reached or idle; 3 finished with dead letters; 1 failed
// (nothing committed past the last durable write; also the dead-letter
// limit); 2 usage; 4 a server unreachable; 130 interrupted by SIGINT or
// SIGTERM after writing and committing the batch in hand (bounded by
// ShutdownTimeout).
package replicate
