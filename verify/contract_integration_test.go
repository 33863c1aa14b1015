//go:build integration

package verify

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/chconn/native"
	"github.com/sluice-cdc/sluice/internal/testenv"
	"github.com/sluice-cdc/sluice/internal/typemap"
)

func connectCH(t *testing.T) chconn.Conn {
	t.Helper()
	testenv.RequireClickHouse(t)
	ch, err := native.Open(context.Background(), "clickhouse://default@"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

func TestContractChecksumNative(t *testing.T) {
	pg := connectPG(t)
	contractChecksum(t, pg, connectCH(t))
}

// contractChecksum loads every contract type into ClickHouse and checks
// that verify finds the tables equal, that the checksum is the one in
// testdata (so 18.16 and 26.x agree: both tests compare with the same
// file), and that planted single-value differences are found by column.
func contractChecksum(t *testing.T, pg *pgx.Conn, ch chconn.Conn) {
	schema := pgSchema(t, pg, contractSQL)
	tables := readCatalog(t, pg, schema)
	db := chDatabase(t, ch, tables)
	contract, kv, wide := tableNamed(t, tables, "contract"), tableNamed(t, tables, "kv"), tableNamed(t, tables, "wide")
	for _, tb := range tables {
		load(t, pg, ch, db, tb, typemap.DefaultPolicies(), 100)
	}

	rep := runVerify(t, pg, ch, db, tables, Options{})
	if rep.Verdict != Equal {
		t.Fatalf("verdict %s, want equal", rep.Verdict)
	}
	want, err := os.ReadFile("testdata/contract_checksum.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range rep.Tables {
		got += r.Table + " " + r.PGChecksum + "\n"
	}
	if got != string(want) {
		t.Errorf("checksums on %s:\n%s\nwant (testdata/contract_checksum.txt):\n%s", ch.Profile(), got, want)
	}

	// Rows 4 and 5 differ only by values swapped between text columns and
	// inside an array: their integer inputs are alike, so what tells them
	// apart is the text: the per-segment row text (integer key) must
	// differ, and so must the per-row hash with the text inputs.
	ts, err := newTableSQL(contract, db, ch.Profile(), typemap.DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	if !ts.orderedText() {
		t.Fatal("contract has an integer key and text columns, yet its text is not checksummed per segment")
	}
	var text4, text5 string
	var h4, h5 int64
	ctx := context.Background()
	for id, dst := range map[int]*string{4: &text4, 5: &text5} {
		if err := pg.QueryRow(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE id = %d", ts.pgRowText(), ts.pgFrom, id)).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	if text4 == text5 {
		t.Error("rows 4 and 5 (values swapped between text columns and inside an array) have the same row text")
	}
	ins := ts.hashes[1:] // without id
	perRow := pgRowHashOf(ins, pgInputExprs(ins))
	for id, dst := range map[int]*int64{4: &h4, 5: &h5} {
		if err := pg.QueryRow(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE id = %d", perRow, ts.pgFrom, id)).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	if h4 == h5 {
		t.Error("rows 4 and 5 hash alike with their text hashed per row")
	}

	// Plant differences in ClickHouse: NULL -> '', a swapped pair, an
	// array element order, a decimal and a timestamp off by one unit.
	chCopyRow(t, ch, db, contract, "id = 2", map[string]string{"c_text2": "''"}, 200, false)
	chCopyRow(t, ch, db, contract, "id = 1", map[string]string{"c_text": "c_text2", "c_text2": "c_text"}, 200, false)
	chCopyRow(t, ch, db, contract, "id = 4", map[string]string{"c_tags": "arrayReverse(c_tags)"}, 200, false)
	ts1 := "c_tstz + 1"
	if ch.Profile().DateTime64 {
		ts1 = "addMicroseconds(c_tstz, 1)"
	}
	chCopyRow(t, ch, db, contract, "id = 3", map[string]string{"c_num": "c_num + toDecimal64(0.01, 2)", "c_tstz": ts1}, 200, false)
	chCopyRow(t, ch, db, kv, "k = 'key 7' AND n = 1007", map[string]string{"v": "concat(v, 'x')"}, 200, false)
	// Keys spanning the whole int64 range fall back to key-hash buckets.
	chCopyRow(t, ch, db, wide, "id = 0", map[string]string{"v": "'x'"}, 200, false)
	rep = runVerify(t, pg, ch, db, tables, Options{})
	if rep.Verdict != Differs {
		t.Fatalf("verdict %s, want differs", rep.Verdict)
	}
	got = diffSummary(rep)
	wantDiffs := "contract 1 values_differ c_text,c_text2\n" +
		"contract 2 values_differ c_text2\n" +
		"contract 3 values_differ c_num,c_tstz\n" +
		"contract 4 values_differ c_tags\n" +
		"kv key 7,1007 values_differ v\n" +
		"wide 0 values_differ v\n"
	if got != wantDiffs {
		t.Errorf("diffs:\n%s\nwant:\n%s", got, wantDiffs)
	}
}

// diffSummary lists table, key, kind and columns of every difference.
func diffSummary(rep *Report) string {
	var b strings.Builder
	for _, r := range rep.Tables {
		for _, d := range r.Diffs {
			b.WriteString(r.Name() + " " + strings.Join(d.Key, ",") + " " + d.Kind)
			if len(d.Columns) > 0 {
				b.WriteString(" " + strings.Join(d.Columns, ","))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
