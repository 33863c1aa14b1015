//go:build integration

package verify

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func TestSwapAndNullDetectedNative(t *testing.T) {
	swapAndNull(t, connectPG(t), connectCH(t))
}

// swapSQL: an integer key (text checksummed per segment) and a text key
// (text hashed per row), with the same values.
const swapSQL = `
CREATE TABLE swap (id bigint PRIMARY KEY, n bigint, t text);
INSERT INTO swap VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, NULL), (4, 40, 'd'),
  (5, 50, 'e'), (6, 60, 'f'), (7, 70, ''), (8, 80, 'h');
CREATE TABLE swapk (k text PRIMARY KEY, n bigint, t text);
INSERT INTO swapk SELECT 'k' || id, n, t FROM swap;
`

// swapAndNull plants the differences a linear or text-joining checksum
// misses: one column's values swapped between two rows of the same
// segment (the segment's count and the multiset of each column's values
// stay the same), NULL turned into ” and ” into NULL. Two segments, so
// the first pass must see them: the leaf compare only runs on segments
// whose digests differ.
func swapAndNull(t *testing.T, pg *pgx.Conn, ch chconn.Conn) {
	schema := pgSchema(t, pg, swapSQL)
	tables := readCatalog(t, pg, schema)
	db := chDatabase(t, ch, tables)
	for _, tb := range tables {
		load(t, pg, ch, db, tb, typemap.DefaultPolicies(), 100)
	}
	opts := Options{Segments: 2}
	if rep := runVerify(t, pg, ch, db, tables, opts); rep.Verdict != Equal {
		t.Fatalf("verdict %s before any change, want equal", rep.Verdict)
	}
	swap, swapk := tableNamed(t, tables, "swap"), tableNamed(t, tables, "swapk")
	for _, p := range []struct {
		tb        string
		where     string
		col, expr string
	}{
		{"swap", "id = 1", "n", "20"}, {"swap", "id = 2", "n", "10"}, // [1, 5)
		{"swap", "id = 5", "t", "'f'"}, {"swap", "id = 6", "t", "'e'"}, // [5, 9)
		{"swap", "id = 3", "t", "''"}, {"swap", "id = 7", "t", "NULL"},
		{"swapk", "k = 'k1'", "n", "20"}, {"swapk", "k = 'k2'", "n", "10"},
		{"swapk", "k = 'k5'", "t", "'f'"}, {"swapk", "k = 'k6'", "t", "'e'"},
		{"swapk", "k = 'k3'", "t", "''"}, {"swapk", "k = 'k7'", "t", "NULL"},
	} {
		tb := swap
		if p.tb == "swapk" {
			tb = swapk
		}
		chCopyRow(t, ch, db, tb, p.where, map[string]string{p.col: p.expr}, 200, false)
	}
	rep := runVerify(t, pg, ch, db, tables, opts)
	want := "swap 1 values_differ n\nswap 2 values_differ n\nswap 3 values_differ t\n" +
		"swap 5 values_differ t\nswap 6 values_differ t\nswap 7 values_differ t\n"
	got := diffSummary(rep)
	// Text keys come in key-hash order: compare as sets.
	wantK := "swapk k1 values_differ n\nswapk k2 values_differ n\nswapk k3 values_differ t\n" +
		"swapk k5 values_differ t\nswapk k6 values_differ t\nswapk k7 values_differ t\n"
	if sortLines(got) != sortLines(want+wantK) {
		t.Errorf("diffs:\n%s\nwant:\n%s%s", got, want, wantK)
	}
}
