package replicate

import (
	"slices"
	"testing"

	"github.com/sluice-cdc/sluice/internal/debezium"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func TestKeyExprColumns(t *testing.T) {
	cols := map[string]int{"id": 0, "created_at": 1, "odd col": 2, "region": 3}
	for expr, want := range map[string][]string{
		"toYYYYMM(toDateTime(intDiv(created_at, 1000000), 'UTC'))": {"created_at"},
		"id":                                   {"id"},
		"region, id":                           {"region", "id"},
		"(toYYYYMMDD(`odd col`), region)":      {"odd col", "region"},
		"cityHash64(other)":                    nil, // reads no column sluice knows: markers carry the whole row
		"toYYYYMM(created_at), 'id'":           {"created_at"},
		"toYYYYMM(`unterminated":               nil,
		"intDiv(id, 1000000) % 16, created_at": {"id", "created_at"},
	} {
		if got := keyExprColumns(expr, cols); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", expr, got, want)
		}
	}
}

// TestMarkerImage: a delete becomes a marker with its key, the partition
// column of the stored row (never the message's: under REPLICA IDENTITY
// DEFAULT its NOT NULL values are fallbacks such as the epoch) and NULL or
// defaults elsewhere.
func TestMarkerImage(t *testing.T) {
	tbl := &table{name: "t", markerCols: []int{0, 1}, cols: []column{
		{col: typemap.Column{Name: "id", Type: "int8"}},
		{col: typemap.Column{Name: "created_at", Type: "timestamptz"}},
		{col: typemap.Column{Name: "note", Type: "text", Nullable: true}},
		{col: typemap.Column{Name: "qty", Type: "int4"}},
	}}
	present := func(s string) val { return val{raw: []byte(s), state: valPresent} }
	del := &event{t: tbl, op: debezium.OpDelete, keyCols: []int{0},
		vals: []val{present("7"), present(`"1970-01-01T00:00:00.000000Z"`), present("null"), present("0")}}
	if !del.needsFill() {
		t.Fatal("a delete must need the stored row's partition column")
	}
	var need []int
	del.fillCols(func(i int) { need = append(need, i) })
	if !slices.Equal(need, []int{1}) {
		t.Errorf("fill columns %v, want [1] (created_at only)", need)
	}
	prev := &storedRow{vals: []val{{}, present(`"2025-03-01T10:15:30Z"`), {}, {}}}
	img := markerImage(del, prev)
	if string(img[0].raw) != "7" || string(img[1].raw) != `"2025-03-01T10:15:30Z"` {
		t.Errorf("key %q, partition column %q: want 7 and the stored row's", img[0].raw, img[1].raw)
	}
	if img[2].state != valAbsent || img[3].state != valAbsent {
		t.Errorf("note %v, qty %v: want absent (NULL, default), not the message's fallbacks", img[2], img[3])
	}

	// Partitioned and sorted by the key alone: nothing to look up.
	tbl.markerCols = []int{0}
	if del.needsFill() {
		t.Error("a table keyed and partitioned by the key needs no stored row")
	}
	if img = markerImage(del, nil); string(img[0].raw) != "7" || img[1].state != valAbsent {
		t.Errorf("marker %v: want the key and defaults", img)
	}

	tbl.markerCols, tbl.markerAll = nil, true
	need = nil
	del.fillCols(func(i int) { need = append(need, i) })
	if !slices.Equal(need, []int{1, 2, 3}) {
		t.Errorf("unknown keys: fill columns %v, want every non-key column", need)
	}
}
