package snapshot

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/ddl"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func TestParseLSN(t *testing.T) {
	for in, want := range map[string]uint64{"0/0": 0, "0/16B3748": 0x16B3748, "1/0": 1 << 32, "FFFFFFFF/FFFFFFFF": 1<<64 - 1} {
		if got, err := ParseLSN(in); err != nil || got != want {
			t.Errorf("ParseLSN(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "16B3748", "x/1", "1/100000000"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q): no error", bad)
		}
	}
}

func TestChunksOpenEnded(t *testing.T) {
	job := &tableJob{Table: ddl.Table{Name: "t"}}
	got := chunksFromBounds(job, []cut{{"id", "10"}, {"id", "20"}})
	want := []string{"id < 10", "id >= 10 AND id < 20", "id >= 20"}
	if len(got) != len(want) {
		t.Fatalf("%d chunks, want %d", len(got), len(want))
	}
	for i, c := range got {
		if c.Cond != want[i] || c.Index != i {
			t.Errorf("chunk %d: %q, want %q", i, c.Cond, want[i])
		}
	}
	if one := chunksFromBounds(job, nil); len(one) != 1 || one[0].Cond != "" {
		t.Errorf("no cuts: %+v, want one whole-table chunk", one)
	}
}

func TestSelectSQL(t *testing.T) {
	tb := ddl.Table{Schema: "s", Name: "we\"ird", Columns: []typemap.Column{
		{Name: "id", Type: "int8"},
		{Name: "m", Type: "money"},
		{Name: "j", Type: "jsonb", Array: true},
		{Name: "st", Type: "order_status", EnumLabels: []string{"a"}},
		{Name: "c", Type: "citext"},
		{Name: "v", Type: "varchar"},
	}}
	got := selectSQL(tb, "id >= 5", "x > 1")
	want := `SELECT "id", "m"::numeric, "j"::text[], "st"::text, "c"::text, "v" FROM "s"."we""ird" WHERE id >= 5 AND (x > 1)`
	if got != want {
		t.Errorf("selectSQL:\n got %s\nwant %s", got, want)
	}
	if got := selectSQL(tb, "", ""); strings.Contains(got, "WHERE") {
		t.Errorf("no conditions: %s", got)
	}
}

func TestOptionsRefuseWhereWithTruncate(t *testing.T) {
	o := DefaultOptions()
	o.Where, o.Truncate = "id > 1", true
	if err := o.validate(); err == nil {
		t.Error("--where with --truncate accepted")
	}
}
