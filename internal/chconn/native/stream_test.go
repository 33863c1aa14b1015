package native

import (
	"reflect"
	"testing"
)

// A write's data blocks stay near streamBlockBytes: long strings make
// short blocks, narrow rows stop at streamBlockRows.
func TestStreamBlockRows(t *testing.T) {
	ids := make([]int64, 10000)
	s := &stream{values: valuesOf(ids, wideStrings(10000, 3000)), scaled: make([]scaledDecimal, 2), maxRows: streamBlockRows, maxBytes: streamBlockBytes}
	if got, want := s.blockRows(10000), streamBlockBytes/3008; got != want {
		t.Errorf("3 KB strings: %d rows per block, want %d", got, want)
	}
	s = &stream{values: []reflect.Value{reflect.ValueOf(ids), {}}, scaled: []scaledDecimal{{}, {vals: ids, width: 8}}, maxRows: streamBlockRows, maxBytes: streamBlockBytes}
	if got := s.blockRows(10000); got != streamBlockRows {
		t.Errorf("narrow rows: %d rows per block, want %d", got, streamBlockRows)
	}
}
