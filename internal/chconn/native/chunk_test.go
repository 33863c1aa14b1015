package native

import (
	"reflect"
	"strings"
	"testing"
)

// wideStrings is a string column of n values of size bytes each.
func wideStrings(n, size int) []string {
	col := make([]string, n)
	for i := range col {
		col[i] = strings.Repeat("x", size)
	}
	return col
}

// valuesOf is the reflect form of an insert's columns.
func valuesOf(cols ...any) []reflect.Value {
	values := make([]reflect.Value, len(cols))
	for i, col := range cols {
		values[i] = reflect.ValueOf(col)
	}
	return values
}

// TestChunkRows: wide string rows make small data blocks (bounded client
// buffers), narrow rows keep 8192-row blocks.
func TestChunkRows(t *testing.T) {
	s := "y"
	narrow := make([]*string, 10000)
	for i := range narrow {
		narrow[i] = &s
	}
	ints := make([]int64, 10000)
	for _, c := range []struct {
		cols []any
		want int
	}{
		{[]any{wideStrings(10000, 3000), ints}, (2 << 20) / 3008},
		{[]any{narrow, ints}, insertChunkRows},
		{[]any{ints}, insertChunkRows},
	} {
		if got := rowsWithin(valuesOf(c.cols...), 10000, insertChunkRows, insertChunkBytes, nil, nil); got != c.want {
			t.Errorf("rowsWithin = %d, want %d", got, c.want)
		}
	}
	if got := rowsWithin(nil, 0, insertChunkRows, insertChunkBytes, nil, nil); got != insertChunkRows {
		t.Errorf("rowsWithin of no rows = %d", got)
	}
}
