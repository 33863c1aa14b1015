package replicate

import (
	"reflect"
	"testing"
	"time"
)

// TestMetaColumns: the coded and epoch-second metadata columns give back
// what was added, whole, by range and as literals.
func TestMetaColumns(t *testing.T) {
	var op codeCol
	var at secCol
	ops := []string{"INSERT", "UPDATE", "INSERT", "DELETE", "SNAPSHOT", "UPDATE"}
	t0 := time.Date(2026, 11, 28, 4, 5, 6, 0, time.UTC)
	for i, s := range ops {
		op.add(s)
		at.add(t0.Add(time.Duration(i) * time.Hour))
	}
	if got := op.Values().([]string); !reflect.DeepEqual(got, ops) {
		t.Fatalf("codes give %v, want %v", got, ops)
	}
	if got := op.ValuesRange(2, 5).([]string); !reflect.DeepEqual(got, ops[2:5]) {
		t.Fatalf("range gives %v, want %v", got, ops[2:5])
	}
	if len(op.dict) != 4 || op.DataSize() != 6+6+6+6+8+6 {
		t.Fatalf("dictionary %v, size %d", op.dict, op.DataSize())
	}
	if got := op.Literal(3); got != "'DELETE'" {
		t.Fatalf("literal %s", got)
	}
	times := at.ValuesRange(1, 3).([]time.Time)
	if len(times) != 2 || !times[0].Equal(t0.Add(time.Hour)) || !times[1].Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("times %v", times)
	}
	if got := at.Literal(0); got != "'2026-11-28 04:05:06'" {
		t.Fatalf("literal %s", got)
	}
	op.reset()
	at.reset()
	if op.Len() != 0 || at.Len() != 0 || op.DataSize() != 0 {
		t.Fatal("reset left rows")
	}
}
