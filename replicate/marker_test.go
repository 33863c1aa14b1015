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

// TestMarkerImage: a key-only delete (REPLICA IDENTITY DEFAULT) becomes a
// marker with its key, the partition column of the stored row, NULL in
// nullable columns and defaults elsewhere; a delete carrying the partition
// column (REPLICA IDENTITY FULL) needs no stored row and keeps its values.
func TestMarkerImage(t *testing.T) {
	tbl := &table{name: "t", markerCols: []int{0, 1}, cols: []column{
		{col: typemap.Column{Name: "id", Type: "int8"}},
		{col: typemap.Column{Name: "created_at", Type: "timestamptz"}},
		{col: typemap.Column{Name: "note", Type: "text", Nullable: true}},
		{col: typemap.Column{Name: "qty", Type: "int4"}},
	}}
	present := func(s string) val { return val{raw: []byte(s), state: valPresent} }
	keyOnly := &event{t: tbl, op: debezium.OpDelete, keyCols: []int{0},
		vals: []val{present("7"), present("null"), {}, {}}}
	if !keyOnly.needsFill() {
		t.Fatal("a key-only delete must need the stored row's partition column")
	}
	var need []int
	keyOnly.fillCols(func(i int) { need = append(need, i) })
	if !slices.Equal(need, []int{1}) {
		t.Errorf("fill columns %v, want [1] (created_at only)", need)
	}
	prev := &storedRow{vals: []val{{}, present(`"2025-03-01T10:15:30Z"`), {}, {}}}
	img := markerImage(keyOnly, prev)
	if string(img[0].raw) != "7" || string(img[1].raw) != `"2025-03-01T10:15:30Z"` {
		t.Errorf("key %q, partition column %q: want 7 and the stored row's", img[0].raw, img[1].raw)
	}
	if img[2].state != valAbsent || img[3].state != valAbsent {
		t.Errorf("note %v, qty %v: want absent (NULL, default)", img[2], img[3])
	}

	full := &event{t: tbl, op: debezium.OpDelete, keyCols: []int{0},
		vals: []val{present("8"), present(`"2025-04-01T00:00:00Z"`), present(`"x"`), present("3")}}
	if full.needsFill() {
		t.Fatal("a delete carrying its partition column needs no stored row")
	}
	img = markerImage(full, nil)
	for i, want := range []string{"8", `"2025-04-01T00:00:00Z"`, `"x"`, "3"} {
		if string(img[i].raw) != want {
			t.Errorf("column %d: %q, want %q", i, img[i].raw, want)
		}
	}

	tbl.markerCols, tbl.markerAll = nil, true
	need = nil
	full.fillCols(func(i int) { need = append(need, i) })
	if !slices.Equal(need, []int{1, 2, 3}) {
		t.Errorf("unknown keys: fill columns %v, want every non-key column", need)
	}
}
