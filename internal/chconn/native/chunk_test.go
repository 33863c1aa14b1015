package native

import (
	"reflect"
	"strings"
	"testing"
)

// TestChunkRows: wide string rows make small data blocks (bounded client
// buffers), narrow rows keep 8192-row blocks.
func TestChunkRows(t *testing.T) {
	wide := make([]string, 10000)
	for i := range wide {
		wide[i] = strings.Repeat("x", 3000)
	}
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
		{[]any{wide, ints}, (2 << 20) / 3008},
		{[]any{narrow, ints}, insertChunkRows},
		{[]any{ints}, insertChunkRows},
	} {
		values := make([]reflect.Value, len(c.cols))
		for i, col := range c.cols {
			values[i] = reflect.ValueOf(col)
		}
		if got := chunkRows(values, 10000); got != c.want {
			t.Errorf("chunkRows = %d, want %d", got, c.want)
		}
	}
	if got := chunkRows(nil, 0); got != insertChunkRows {
		t.Errorf("chunkRows of no rows = %d", got)
	}
}
