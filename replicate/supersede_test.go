package replicate

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/kafkasrc"
)

// change is an event of recentTable with its image set, as fill leaves it.
func change(tbl *table, offset int64, id int, version uint64, op debezium.Op, month ...int) *event {
	m := 11
	if len(month) > 0 {
		m = month[0]
	}
	vals := []val{
		{raw: []byte(strconv.Itoa(id)), state: valPresent},
		{raw: []byte(fmt.Sprintf(`"2026-%02d-0%dT00:00:00Z"`, m, id)), state: valPresent},
		{raw: []byte(`"v` + strconv.FormatUint(version, 10) + `"`), state: valPresent},
	}
	return &event{t: tbl, op: op, key: strconv.Itoa(id), keyCols: []int{0}, vals: vals, image: vals, version: version,
		msg: &kafkasrc.Message{Topic: "t", Offset: offset, Value: []byte("{}")}}
}

// TestSupersededRowsAreNotWritten: of a key's rows in one window only the
// last change is kept, unless an earlier row has a higher version (FINAL
// keeps that one, so both are written) or lies in another partition (its
// delete marker there is what removes the row stored there); on a tie the
// later row wins, as under FINAL. Compaction renumbers the keys' references.
func TestSupersededRowsAreNotWritten(t *testing.T) {
	for _, collapses := range []bool{true, false} {
		tbl := recentTable(t)
		tbl.collapses = collapses
		r := &runner{}
		evs := []*event{
			change(tbl, 0, 1, 10, debezium.OpCreate),
			change(tbl, 1, 2, 11, debezium.OpCreate),
			change(tbl, 2, 1, 12, debezium.OpUpdate), // replaces row 0
			change(tbl, 3, 3, 13, debezium.OpCreate),
			change(tbl, 4, 2, 5, debezium.OpUpdate),      // older version: row 1 stays
			change(tbl, 5, 1, 12, debezium.OpDelete),     // same version, later: replaces row 2
			change(tbl, 6, 4, 20, debezium.OpDelete, 10), // a marker in October
			change(tbl, 7, 4, 21, debezium.OpCreate, 12), // re-inserted in December: row 6 stays
		}
		r.build(tbl, evs, &batchResult{}, time.Now())
		wantSup := 2
		if !collapses {
			wantSup = 0
		}
		if tbl.block.superseded != wantSup || tbl.block.rows != 8 {
			t.Fatalf("collapses=%v: %d superseded of %d rows, want %d of 8", collapses, tbl.block.superseded, tbl.block.rows, wantSup)
		}
		tbl.compact(new([]int32))
		ids, versions := tbl.block.cols[0].Values().([]int64), tbl.block.version.vals
		want := []struct {
			id      int64
			version uint64
		}{{2, 11}, {3, 13}, {2, 5}, {1, 12}, {4, 20}, {4, 21}}
		if !collapses {
			want = []struct {
				id      int64
				version uint64
			}{{1, 10}, {2, 11}, {1, 12}, {3, 13}, {2, 5}, {1, 12}, {4, 20}, {4, 21}}
		}
		if tbl.block.rows != len(want) || len(ids) != len(want) || len(versions) != len(want) || tbl.block.deleted.Len() != len(want) ||
			tbl.block.op.Len() != len(want) || tbl.block.eventTime.Len() != len(want) || tbl.block.cols[2].Len() != len(want) {
			t.Fatalf("collapses=%v: %d rows, ids %v, versions %v, want %v", collapses, tbl.block.rows, ids, versions, want)
		}
		for i, w := range want {
			if ids[i] != w.id || versions[i] != w.version {
				t.Errorf("collapses=%v: row %d is id %d version %d, want id %d version %d", collapses, i, ids[i], versions[i], w.id, w.version)
			}
		}
		// Each key's reference is its last row, by the new numbers.
		for key, ref := range tbl.latest {
			if got := strconv.FormatInt(ids[ref.row], 10); got != key {
				t.Errorf("collapses=%v: key %s refers to row %d (id %s)", collapses, key, ref.row, got)
			}
		}
		if ref := tbl.latest["1"]; !ref.deleted || tbl.block.deleted.vals[ref.row] != 1 || tbl.block.op.Literal(int(ref.row)) != "'DELETE'" {
			t.Errorf("collapses=%v: key 1's last row is not its delete marker: %+v", collapses, ref)
		}
		if got := tbl.block.cols[2].Literal(int(tbl.latest["3"].row)); got != "'v13'" {
			t.Errorf("collapses=%v: key 3's note %s", collapses, got)
		}
	}
}

func TestVersionColumn(t *testing.T) {
	for _, tc := range []struct{ engine, full, want string }{
		{"ReplacingMergeTree", "ReplacingMergeTree(_version) PARTITION BY toYYYYMM(created_at) ORDER BY id SETTINGS index_granularity = 8192", "_version"},
		{"ReplacingMergeTree", "ReplacingMergeTree(_version, _is_deleted) PARTITION BY x ORDER BY id", "_version"},
		{"ReplicatedReplacingMergeTree", "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', _version) ORDER BY id", "_version"},
		{"ReplacingMergeTree", "ReplacingMergeTree(`_version`) ORDER BY id", "_version"},
		{"ReplacingMergeTree", "ReplacingMergeTree(updated_at) ORDER BY id", "updated_at"},
		{"ReplacingMergeTree", "ReplacingMergeTree ORDER BY id", ""},
		{"ReplacingMergeTree", "ReplacingMergeTree() ORDER BY id", ""},
		{"MergeTree", "MergeTree() PARTITION BY x ORDER BY id", ""},
		{"CollapsingMergeTree", "CollapsingMergeTree(sign) ORDER BY id", ""},
	} {
		if got := versionColumn(tc.engine, tc.full); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.full, got, tc.want)
		}
	}
}
