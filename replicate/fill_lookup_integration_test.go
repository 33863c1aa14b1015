//go:build integration

package replicate

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// TestFillJoinsRowsLookedUpAheadAndAtFillTime pins the interleaving that
// timing makes rare in end-to-end runs: one batch whose fills need a row
// looked up ahead (key 1) and a row looked up at fill time (key 2, e.g. its
// window was written after the lookup ahead started). Both rows are in
// ClickHouse, so both unchanged-TOAST updates must be filled from it; a fill
// that kept only one lookup's rows made the other a dead letter.
func TestFillJoinsRowsLookedUpAheadAndAtFillTime(t *testing.T) {
	conn, _ := testDB(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE docs (id Int64, body String, _version UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version) ORDER BY id",
		"INSERT INTO docs SELECT toInt64(number + 1), concat('body ', toString(number + 1)), 1, 0 FROM numbers(2)",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tbl, err := loadTable(ctx, conn, "docs", nil, ddl.Options{Policies: typemap.DefaultPolicies()})
	if err != nil || tbl == nil {
		t.Fatalf("load table: %v", err)
	}
	idCol, bodyCol := tbl.byName["id"], tbl.byName["body"]
	update := func(id int) *event {
		e := &event{msg: &kafkasrc.Message{Topic: "docs", Offset: int64(id)}, t: tbl, op: debezium.OpUpdate,
			vals: make([]val, len(tbl.cols)), keyCols: []int{idCol}}
		e.vals[idCol] = val{raw: []byte(strconv.Itoa(id)), state: valPresent}
		e.vals[bodyCol] = val{raw: []byte(`"__debezium_unavailable_value"`), state: valUnavailable}
		if e.key, err = keyLiteral(&tbl.cols[idCol], e.vals[idCol].raw, nil); err != nil {
			t.Fatal(err)
		}
		return e
	}
	ahead, atFill := update(1), update(2)

	// The lookup ahead asked for key 1 only.
	pre := &prefetch{keys: map[string]*event{ahead.key: ahead}, done: make(chan struct{}), started: true}
	pre.rows, pre.err = lookup(ctx, conn, tbl.lookupCopy(), pre.keys, lookupCols(len(tbl.cols), pre.keys))
	close(pre.done)
	if pre.err != nil || pre.rows[ahead.key] == nil {
		t.Fatalf("lookup ahead: rows %v, err %v", pre.rows, pre.err)
	}

	r := &runner{cfg: Config{CH: conn, RetryTimeout: 10 * time.Second, Now: time.Now}, rep: newReport("test", "test", time.Now()), ph: newPlaceholders("")}
	res := &batchResult{}
	if err := r.fill(ctx, tbl, []*event{ahead, atFill}, res, pre, pre.keys); err != nil {
		t.Fatalf("fill: %v", err)
	}
	for _, dl := range res.deadLetters {
		t.Errorf("dead letter at offset %d: %s", dl.Offset, dl.Error)
	}
	for id, e := range map[int]*event{1: ahead, 2: atFill} {
		if e.image == nil {
			t.Errorf("key %d: no row image", id)
			continue
		}
		if got, want := string(e.image[bodyCol].raw), strconv.Quote("body "+strconv.Itoa(id)); got != want {
			t.Errorf("key %d: body filled with %s, want %s", id, got, want)
		}
	}
	if got := r.rep.table("docs").FilledFromClickHouse; got != 2 {
		t.Errorf("filled from ClickHouse %d, want 2", got)
	}
}
