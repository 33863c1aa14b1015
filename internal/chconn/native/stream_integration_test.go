//go:build integration

package native

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/testenv"
)

// ints and scaled are test columns: plain Int64 values, and Decimal
// values offered as scaled integers (the stream's wire shortcut).
type ints []int64

func (c ints) Len() int             { return len(c) }
func (c ints) Values() any          { return []int64(c) }
func (c ints) Literal(i int) string { return fmt.Sprint(c[i]) }

type scaled struct {
	v     []int64
	scale int
}

func (c scaled) Len() int                           { return len(c.v) }
func (c scaled) Values() any                        { panic("the stream must use ScaledInts") }
func (c scaled) Literal(i int) string               { panic("unused") }
func (c scaled) ScaledInts() ([]int64, int, []bool) { return c.v, c.scale, nil }

// One stream, many writes: every row arrives once, decimals exact, and
// SquashRows reaches the server (18.16 takes settings as typed varints):
// 3000 rows in blocks of 300 with 1000-row squashing make 3 parts.
func TestInsertStream(t *testing.T) {
	testenv.RequireClickHouse(t)
	ctx := context.Background()
	conn, err := Open(ctx, "clickhouse://default@"+testenv.ClickHouseAddr()+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	table := fmt.Sprintf("sluice_stream_%08x", rand.Uint32())
	if err := conn.Exec(ctx, "CREATE TABLE "+table+" (id Int64, d32 Decimal(9, 2), d64 Decimal(18, 4)) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table) })

	cols := []string{"id", "d32", "d64"}
	// An aborted stream releases its connection; the server may keep the
	// rows it received (18.16 takes the closed connection as the end of
	// the data), which are whole blocks. They go to another table.
	other := table + "_aborted"
	if err := conn.Exec(ctx, "CREATE TABLE "+other+" AS "+table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+other) })
	aborted, err := conn.InsertStream(ctx, other, cols, chconn.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := aborted.Write(ctx, []chconn.Column{ints{-1}, scaled{[]int64{1}, 2}, scaled{[]int64{1}, 4}}); err != nil {
		t.Fatal(err)
	}
	aborted.Abort()

	st, err := conn.InsertStream(ctx, table, cols, chconn.StreamOptions{SquashRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]decimal.Decimal{}
	for b := 0; b < 10; b++ {
		id, d32, d64 := make(ints, 300), make([]int64, 300), make([]int64, 300)
		for i := range id {
			n := int64(b*300 + i)
			id[i], d32[i], d64[i] = n, (n*7919)%1999999999-999999999, (n*104729)%1999999999999999999-999999999999999999
			want[fmt.Sprint(n)] = [2]decimal.Decimal{decimal.New(d32[i], -2), decimal.New(d64[i], -4)}
		}
		if err := st.Write(ctx, []chconn.Column{id, scaled{d32, 2}, scaled{d64, 4}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT toString(id), toString(d32), toString(d64) FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Errorf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		w, ok := want[r[0]]
		if !ok {
			t.Errorf("unexpected id %s", r[0])
			continue
		}
		for i, s := range r[1:] {
			if got, err := decimal.NewFromString(s); err != nil || !got.Equal(w[i]) {
				t.Errorf("id %s column %d: %s, want %s", r[0], i+1, s, w[i])
			}
		}
		delete(want, r[0])
	}
	parts, err := conn.Query(ctx, "SELECT toString(count()) FROM system.parts WHERE database = currentDatabase() AND table = '"+table+"' AND active")
	if err != nil {
		t.Fatal(err)
	}
	if parts[0][0] != "3" {
		t.Errorf("%s parts, want 3 (1000-row squashing of 300-row blocks)", parts[0][0])
	}
}
