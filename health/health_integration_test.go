//go:build integration

package health

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/internal/secure"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// TestCheckAndStatus runs on one pipeline of the test's own (the setup,
// a loaded database and a connector's snapshot, is the expensive part):
// first every check ok, then each check broken on purpose, one at a time,
// then the status figures against Kafka's and PostgreSQL's own.
func TestCheckAndStatus(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// A drained replicate: the group committed at the high watermarks.
	ends, err := f.endOffsets()
	if err != nil {
		t.Fatal(err)
	}
	f.commit(ends)

	t.Run("all ok", func(t *testing.T) {
		r := Check(ctx, f.config())
		logReport(t, r)
		if r.Status != OK {
			t.Fatalf("status %s, want ok", r.Status)
		}
		want := map[string]int{"postgres": 5, "kafka": 7, "connect": 2, "clickhouse": 7}
		got := map[string]int{}
		for _, it := range r.Items {
			got[it.Component]++
		}
		for c, n := range want {
			if got[c] != n {
				t.Errorf("%s: %d items, want %d (discovery of slot, publication and topics)", c, got[c], n)
			}
		}
	})

	t.Run("status", func(t *testing.T) { testStatus(t, f, ends) })
	t.Run("status causes", func(t *testing.T) { testStatusCauses(t, f) })

	t.Run("slot dropped", func(t *testing.T) {
		cfg := f.config()
		cfg.Slot = f.name + "_spare"
		if _, err := f.pg.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", cfg.Slot); err != nil {
			t.Fatal(err)
		}
		r := Check(ctx, cfg)
		if it := find(t, r, "slot"); it.Level != Warn || !strings.Contains(it.Message, "not active") {
			t.Errorf("inactive slot: %+v", it)
		}
		if _, err := f.pg.Exec(ctx, "SELECT pg_drop_replication_slot($1)", cfg.Slot); err != nil {
			t.Fatal(err)
		}
		r = Check(ctx, cfg)
		logReport(t, r)
		onlyFail(t, r, "slot", "replication slot \""+cfg.Slot+"\" does not exist")
		wantUnreachable(t, r, "")
	})

	t.Run("topic missing", func(t *testing.T) {
		cfg := f.config()
		missing := f.connector + ".public.no_such_table"
		cfg.Topics = append(f.topics(), missing)
		r := Check(ctx, cfg)
		logReport(t, r)
		onlyFail(t, r, "topic", "topic \""+missing+"\" does not exist")
		wantUnreachable(t, r, "")
	})

	t.Run("clickhouse stopped", func(t *testing.T) {
		cfg := f.config()
		cfg.ClickHouseURL = "clickhouse://default:s3cret@127.0.0.1:1/" + f.name
		r := Check(ctx, cfg)
		logReport(t, r)
		onlyFail(t, r, "reachable", "127.0.0.1:1")
		wantUnreachable(t, r, secure.CauseRefused)
		if it := find(t, r, "reachable", ClickHouse); it.Component != ClickHouse {
			t.Errorf("the failed reachable item is %s's", it.Component)
		}
		if strings.Contains(r.Endpoints[ClickHouse], "s3cret") || !strings.Contains(r.Endpoints[ClickHouse], "xxxxx") {
			t.Errorf("endpoint not masked: %s", r.Endpoints[ClickHouse])
		}
	})

	t.Run("postgres unreachable", func(t *testing.T) {
		cfg := f.config()
		cfg.PostgresDSN = "postgres://sluice:s3cret@127.0.0.1:1/" + f.name + "?sslmode=disable"
		r := Check(ctx, cfg)
		onlyFail(t, r, "reachable", "connect")
		wantUnreachable(t, r, secure.CauseRefused)
		var b strings.Builder
		_ = r.WriteText(&b)
		_ = r.WriteJSON(&b)
		if strings.Contains(b.String(), "s3cret") {
			t.Errorf("the password is printed:\n%s", b.String())
		}
	})

	// Reached but refused: the password is wrong (exit 4), or the
	// database does not exist (a finding, exit 3).
	t.Run("postgres wrong password", func(t *testing.T) {
		cfg := f.config()
		u, _ := url.Parse(cfg.PostgresDSN)
		u.User = url.UserPassword(u.User.Username(), "wrong-"+f.name)
		cfg.PostgresDSN = u.String()
		r := Check(ctx, cfg)
		logReport(t, r)
		onlyFail(t, r, "reachable", "authentication failed")
		wantUnreachable(t, r, secure.CauseAuth)
	})
	t.Run("clickhouse database missing", func(t *testing.T) {
		cfg := f.config()
		cfg.ClickHouseURL = "clickhouse://" + testenv.ClickHouseAddr() + "/no_such_db_" + f.name
		r := Check(ctx, cfg)
		logReport(t, r)
		if len(r.Failed()) == 0 {
			t.Fatal("nothing failed with a missing ClickHouse database")
		}
		wantUnreachable(t, r, "")
	})
	t.Run("connect unreachable", func(t *testing.T) {
		cfg := f.config()
		cfg.ConnectURL = "http://127.0.0.1:1"
		r := Check(ctx, cfg)
		logReport(t, r)
		if it := find(t, r, "reachable", Connect); it.Level != Fail || it.Cause != secure.CauseRefused {
			t.Errorf("connect reachable item: %+v", it)
		}
	})

	t.Run("connector paused", func(t *testing.T) {
		f.connectPut("/connectors/" + f.connector + "/pause")
		f.waitConnector("PAUSED")
		defer func() {
			f.connectPut("/connectors/" + f.connector + "/resume")
			f.waitConnector("RUNNING")
		}()
		r := Check(ctx, f.config())
		logReport(t, r)
		onlyFail(t, r, "connector", "connector is PAUSED")
		wantUnreachable(t, r, "")
		if it := find(t, r, "connector"); !strings.Contains(it.Fix, "/connectors/"+f.connector+"/resume") {
			t.Errorf("fix: %s", it.Fix)
		}
	})

	t.Run("column type changed", func(t *testing.T) {
		if err := f.ch.Exec(ctx, "ALTER TABLE orders MODIFY COLUMN total_amount Float64"); err != nil {
			t.Fatal(err)
		}
		if err := f.ch.Exec(ctx, "ALTER TABLE payments DROP COLUMN amount"); err != nil {
			t.Fatal(err)
		}
		r := Check(ctx, f.config())
		logReport(t, r)
		var failed []string
		for _, it := range r.Failed() {
			failed = append(failed, it.Target+": "+it.Message)
		}
		got := strings.Join(failed, "\n")
		if len(failed) != 2 || !strings.Contains(got, "orders: column total_amount is Float64, the contract wants Decimal(12, 2)") ||
			!strings.Contains(got, "payments: missing column amount") {
			t.Errorf("failed items:\n%s", got)
		}
	})
}

// wantUnreachable asserts that the failed items that blame the server
// are exactly one, with cause ("": none).
func wantUnreachable(t *testing.T, r *Report, cause string) {
	t.Helper()
	down := r.Unreachable()
	switch {
	case cause == "" && len(down) > 0:
		t.Errorf("items blamed on an unreachable server: %+v", down)
	case cause != "" && (len(down) != 1 || down[0].Cause != cause):
		t.Errorf("unreachable items %+v, want one with cause %q", down, cause)
	}
}

// find returns the first item of a check (of a component, when given).
func find(t *testing.T, r *Report, check string, component ...string) Item {
	t.Helper()
	for _, it := range r.Items {
		if it.Check == check && (len(component) == 0 || it.Component == component[0]) {
			return it
		}
	}
	t.Fatalf("no %s item", check)
	return Item{}
}

// onlyFail asserts that exactly one item failed: check, with msg in its
// message, and a fix.
func onlyFail(t *testing.T, r *Report, check, msg string) {
	t.Helper()
	failed := r.Failed()
	if len(failed) != 1 {
		t.Fatalf("%d items failed, want 1 (%s): %+v", len(failed), check, failed)
	}
	it := failed[0]
	if it.Check != check || !strings.Contains(it.Message, msg) || it.Fix == "" {
		t.Errorf("failed item %+v, want check %s with %q and a fix", it, check, msg)
	}
	if r.Status != Fail {
		t.Errorf("report status %s", r.Status)
	}
}

// testStatus: lag grows while churn runs and nothing replicates, matches
// what Kafka and PostgreSQL report, and drops to zero after a drain;
// ClickHouse's newest _version and cdc_timestamp are read back.
func testStatus(t *testing.T, f *fixture, drained map[tp]int64) {
	ctx := context.Background()
	cfg := f.config()
	th := Thresholds{MaxLag: 1, MaxAge: time.Minute}

	// Rows of known version and time in ClickHouse (no replicate yet).
	chTime := time.Now().Add(-time.Hour).Truncate(time.Millisecond).UTC()
	const chVersion = 123456789
	for _, tb := range shopTables {
		q := "INSERT INTO " + tb + " (_version, cdc_timestamp) SELECT toUInt64(" + itoa(chVersion-2) + " + number), toUInt64(" +
			itoa(chTime.UnixMilli()-2) + " + number) FROM system.numbers LIMIT 3"
		if err := f.ch.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	before := Status(ctx, cfg, th, nil)
	if len(before.Errors) > 0 || before.Slot == nil || len(before.Tables) != len(shopTables) {
		t.Fatalf("status: %+v", before)
	}
	for _, tb := range before.Tables {
		if tb.Lag != 0 || tb.Rows != 3 || tb.Version != chVersion || !tb.Time.Equal(chTime) {
			t.Errorf("before churn %s: lag %d rows %d version %d time %v", tb.Table, tb.Lag, tb.Rows, tb.Version, tb.Time)
		}
	}

	// Churn without replicate: the lag grows.
	done := make(chan struct{})
	go func() { defer close(done); f.script("scripts/shop/churn", "--duration", "5", "--clients", "1") }()
	// Sample every second while churn runs and until Debezium has published
	// all of it (two equal samples after churn ended): on a busy machine the
	// changes reach Kafka with a delay.
	var lags []int64
	prev := before
	churning := true
	for {
		select {
		case <-done:
			churning = false
		case <-time.After(time.Second):
		}
		r := Status(ctx, cfg, th, prev)
		lags = append(lags, total(r))
		prev = r
		n := len(lags)
		if !churning && n >= 2 && lags[n-1] == lags[n-2] && lags[n-1] > 0 {
			break
		}
		if n > 90 {
			t.Fatalf("lag still moving after 90 samples: %v", lags)
		}
	}
	t.Logf("total lag, one sample a second from the start of churn: %v", lags)
	grew := 0
	for i := 1; i < len(lags); i++ {
		if lags[i] < lags[i-1] {
			t.Errorf("lag fell without a consumer: %v", lags)
		}
		if lags[i] > lags[i-1] {
			grew++
		}
	}
	if grew < 2 {
		t.Errorf("lag did not grow step by step while churn ran: %v", lags)
	}

	// Once Debezium is done, the figures match Kafka's and PostgreSQL's own.
	r := settle(t, f, cfg, th)
	ends, err := f.endOffsets()
	if err != nil {
		t.Fatal(err)
	}
	committed := f.committed(ends)
	for _, tb := range r.Tables {
		var end, com int64
		for k, v := range ends {
			if k.topic == tb.Topic {
				end += v
				com += committed[k]
			}
		}
		if tb.End != end || tb.Committed != com || tb.Lag != end-com || tb.Lag == 0 {
			t.Errorf("%s: status end %d committed %d lag %d; Kafka end %d committed %d", tb.Table, tb.End, tb.Committed, tb.Lag, end, com)
		}
		if tb.SourceTime == nil || tb.Behind == nil || time.Duration(*tb.Behind) != tb.SourceTime.Sub(chTime) || tb.SourceLSN == 0 {
			t.Errorf("%s: behind %v, source %v lsn %d, ClickHouse %v", tb.Table, tb.Behind, tb.SourceTime, tb.SourceLSN, chTime)
		}
	}
	// Debezium confirms now and then: compare with a status taken while the
	// slot's confirmed position did not move.
	for try := 0; ; try++ {
		var confirmed string
		var lagBytes int64
		if err := f.pg.QueryRow(ctx, "SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff($2::pg_lsn, confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1",
			f.name, r.Slot.CurrentLSN).Scan(&confirmed, &lagBytes); err != nil {
			t.Fatal(err)
		}
		if confirmed == r.Slot.ConfirmedFlushLSN {
			if lagBytes != r.Slot.LagBytes {
				t.Errorf("slot: status lag %d bytes, PostgreSQL %d", r.Slot.LagBytes, lagBytes)
			}
			t.Logf("slot %s: confirmed %s, lag %d bytes (PostgreSQL agrees)", f.name, confirmed, lagBytes)
			break
		}
		if try == 5 {
			t.Fatalf("slot: status confirmed %s, PostgreSQL %s", r.Slot.ConfirmedFlushLSN, confirmed)
		}
		r = Status(ctx, cfg, th, nil)
	}
	if len(r.Breaches) < 2*len(shopTables) {
		t.Errorf("lag > 1 and an hour behind should alert on every table: %v", r.Breaches)
	}
	var b strings.Builder
	_ = r.WriteText(&b)
	t.Log("\n" + b.String())

	// A drain: the group commits at the high watermarks; lag back to zero.
	f.commit(ends)
	r = Status(ctx, cfg, Thresholds{MaxLag: 1}, nil)
	if total(r) != 0 || len(r.Breaches) != 0 {
		t.Errorf("after the drain: lag %d, breaches %v", total(r), r.Breaches)
	}
	b.Reset()
	_ = r.WriteText(&b)
	t.Log("after the drain\n" + b.String())
}

// testStatusCauses: a missing topic or table (every server answered) is an
// error without a cause, sluice status's 3; a server on a closed port is
// listed in Unreachable with its cause, the 4 that wins.
func testStatusCauses(t *testing.T, f *fixture) {
	ctx := context.Background()
	cfg := f.config()
	missing := f.connector + ".public.no_such_table"
	cfg.Topics = append(f.topics(), missing)
	r := Status(ctx, cfg, Thresholds{}, nil)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "topics do not exist: ["+missing+"]") || len(r.Unreachable) != 0 {
		t.Errorf("topic missing: errors %q, unreachable %+v", r.Errors, r.Unreachable)
	}

	cfg = f.config()
	cfg.TableMap = map[string]string{f.topics()[0]: "no_such_table"}
	r = Status(ctx, cfg, Thresholds{}, nil)
	var tableErrs []string
	for _, tb := range r.Tables {
		tableErrs = append(tableErrs, tb.Errors...)
	}
	if len(r.Errors) != 0 || len(tableErrs) != 1 || !strings.Contains(tableErrs[0], "no_such_table") || len(r.Unreachable) != 0 {
		t.Errorf("table missing: errors %q, table errors %q, unreachable %+v", r.Errors, tableErrs, r.Unreachable)
	}

	cfg = f.config()
	cfg.ClickHouseURL = "clickhouse://default:s3cret@127.0.0.1:1/" + f.name
	cfg.Topics = append(f.topics(), missing)
	r = Status(ctx, cfg, Thresholds{}, nil)
	if len(r.Errors) != 2 || len(r.Unreachable) != 1 || r.Unreachable[0].Cause != secure.CauseRefused ||
		!strings.Contains(r.Unreachable[0].Error, "127.0.0.1:1") {
		t.Errorf("clickhouse stopped (and a topic missing): errors %q, unreachable %+v", r.Errors, r.Unreachable)
	}
	var b strings.Builder
	_ = r.WriteText(&b)
	_ = r.WriteJSON(&b)
	if strings.Contains(b.String(), "s3cret") || !strings.Contains(b.String(), "1 error(s) because a server could not be reached") {
		t.Errorf("report:\n%s", b.String())
	}

	cfg = f.config()
	cfg.PostgresDSN = "postgres://sluice:s3cret@127.0.0.1:1/" + f.name + "?sslmode=disable"
	r = Status(ctx, cfg, Thresholds{}, nil)
	if len(r.Unreachable) != 1 || r.Unreachable[0].Cause != secure.CauseRefused || !strings.HasPrefix(r.Unreachable[0].Error, "postgres:") {
		t.Errorf("postgres unreachable: errors %q, unreachable %+v", r.Errors, r.Unreachable)
	}
}

// settle waits until the high watermarks stop moving (Debezium published
// the whole churn) and returns a status taken then.
func settle(t *testing.T, f *fixture, cfg Config, th Thresholds) *StatusReport {
	last := int64(-1)
	deadline := time.Now().Add(time.Minute)
	for {
		r := Status(context.Background(), cfg, th, nil)
		var end int64
		for _, tb := range r.Tables {
			end += tb.End
		}
		if end == last {
			return r
		}
		last = end
		if time.Now().After(deadline) {
			t.Fatal("the topics kept growing for a minute after churn ended")
		}
		time.Sleep(3 * time.Second)
	}
}

func total(r *StatusReport) int64 {
	var n int64
	for _, tb := range r.Tables {
		n += tb.Lag
	}
	return n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
