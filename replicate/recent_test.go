package replicate

import (
	"strconv"
	"testing"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

// recentTable is a table keyed by id and partitioned by created_at, with
// builders for a server with DateTime64.
func recentTable(t *testing.T) *table {
	t.Helper()
	tbl := &table{name: "t", markerCols: []int{0, 1}, profile: chconn.Profile{DateTime64: true, Date32: true},
		pol: typemap.DefaultPolicies(), latest: map[string]rowRef{}, written: map[string]rowRef{}}
	for _, c := range []typemap.Column{{Name: "id", Type: "int8"}, {Name: "created_at", Type: "timestamptz"}, {Name: "note", Type: "text", Nullable: true}} {
		b, err := typemap.NewBuilder(c, tbl.profile, tbl.pol)
		if err != nil {
			t.Fatal(err)
		}
		tbl.cols = append(tbl.cols, column{col: c, b: b})
	}
	tbl.block = newBlock(tbl)
	return tbl
}

// writeRows appends one row per id to a new block, as written: each id's
// row becomes its latest state in t.written (deleted ids as markers).
func writeRows(t *testing.T, tbl *table, created string, ids []int, deleted bool) *block {
	t.Helper()
	blk := newBlock(tbl)
	clear(tbl.written)
	tbl.writing = blk
	for _, id := range ids {
		for i, raw := range []string{strconv.Itoa(id), strconv.Quote(created), `"note"`} {
			if err := blk.cols[i].AppendDebezium([]byte(raw), nil); err != nil {
				t.Fatal(err)
			}
		}
		tbl.written[strconv.Itoa(id)] = rowRef{row: int32(blk.rows), deleted: deleted}
		blk.rows++
	}
	return blk
}

func deleteOf(tbl *table, id int) *event {
	return &event{t: tbl, op: debezium.OpDelete, key: strconv.Itoa(id), keyCols: []int{0}}
}

// remembered returns the created_at literal a delete of id would be filled
// with from the run's memory, or "" when the run does not remember id.
func remembered(t *testing.T, tbl *table, id int) (created string, deleted bool) {
	t.Helper()
	row := tbl.recentRow(deleteOf(tbl, id))
	if row == nil {
		return "", false
	}
	v := row.vals[1]
	if v.state != valRow || row.vals[2].state != valAbsent {
		t.Fatalf("id %d: created_at %v, note %v: want a row copy and nothing else", id, v, row.vals[2])
	}
	return tbl.sourceBlock(v.src).cols[1].Literal(int(v.row)), row.deleted
}

func TestRecentRows(t *testing.T) {
	tbl := recentTable(t)
	const jan, feb = "2025-01-15T10:00:00Z", "2025-02-20T10:00:00Z"

	// Nothing is kept before the run sees a delete of the table.
	tbl.rememberWritten(writeRows(t, tbl, jan, []int{1, 2}, false))
	if c, _ := remembered(t, tbl, 1); c != "" {
		t.Fatalf("id 1 remembered (%s) before any delete", c)
	}
	tbl.wantRecent(&event{t: tbl, op: debezium.OpUpdate})
	if tbl.recent != nil {
		t.Fatal("an update started remembering")
	}
	tbl.wantRecent(deleteOf(tbl, 9))
	if tbl.recent == nil {
		t.Fatal("a delete did not start remembering")
	}

	tbl.rememberWritten(writeRows(t, tbl, jan, []int{1, 2}, false))
	tbl.rememberWritten(writeRows(t, tbl, feb, []int{2}, false)) // a later window moves id 2
	tbl.rememberWritten(writeRows(t, tbl, feb, []int{3}, true))  // id 3 was deleted
	for id, want := range map[int]string{1: "'2025-01-15 10:00:00.000000'", 2: "'2025-02-20 10:00:00.000000'", 3: "'2025-02-20 10:00:00.000000'", 4: ""} {
		got, deleted := remembered(t, tbl, id)
		if got != want || deleted != (id == 3) {
			t.Errorf("id %d: remembered %q deleted %v, want %q deleted %v", id, got, deleted, want, id == 3)
		}
	}
	if tbl.recentRow(&event{t: tbl, op: debezium.OpUpdate, key: "1"}) != nil {
		t.Error("an update was given the remembered row (only deletes' marker columns are kept)")
	}

	// Builders of another layout cannot be copied from: nothing is found.
	tbl.layout++
	if c, _ := remembered(t, tbl, 1); c != "" {
		t.Errorf("id 1 remembered (%s) across a builder change", c)
	}
	tbl.layout--

	// A truncate forgets everything; so does a failed window (forgetRecent).
	blk := writeRows(t, tbl, feb, []int{5}, false)
	blk.truncate = true
	tbl.rememberWritten(blk)
	if tbl.recent != nil {
		t.Error("still remembering after a truncate")
	}
}

func TestRecentRowsGenerations(t *testing.T) {
	tbl := recentTable(t)
	tbl.wantRecent(deleteOf(tbl, 0))
	const created = "2025-03-01T00:00:00Z"
	n := 2*recentGenRows + 100
	// Windows of 1024 keys: a generation (a multiple of 1024 rows) ends
	// with a window, whatever order a window's keys are taken in.
	for lo := 0; lo < n; lo += 1024 {
		var ids []int
		for id := lo; id < min(lo+1024, n); id++ {
			ids = append(ids, id)
		}
		tbl.rememberWritten(writeRows(t, tbl, created, ids, false))
	}
	// Two generations are kept: the oldest rows are forgotten (a lookup
	// finds them), the newer ones are found, in either generation.
	for _, id := range []int{0, recentGenRows - 1} {
		if c, _ := remembered(t, tbl, id); c != "" {
			t.Errorf("id %d still remembered (%s) after two generations", id, c)
		}
	}
	for _, id := range []int{recentGenRows, 2*recentGenRows - 1, n - 1} {
		if c, _ := remembered(t, tbl, id); c == "" {
			t.Errorf("id %d forgotten; want it in the current or the old generation", id)
		}
	}
	if rows := tbl.recent.cur.rows() + tbl.recent.old.rows(); rows > 2*recentGenRows {
		t.Errorf("%d rows kept, bound %d", rows, 2*recentGenRows)
	}
}
