package typemap

import "time"

// Keeper is a Builder that can drop values in place: replicate writes only
// a key's last change of a flush window and drops the rows it replaced.
type Keeper interface {
	// Keep drops every value i with !keep[i] (len(keep) == Len()), keeping
	// the order of the others. Row numbers held by callers change.
	Keep(keep []bool)
	// Same tells whether values i and j are equal (two NULLs are).
	Same(i, j int) bool
}

var (
	_ Keeper = (*builder[int64])(nil)
	_ Keeper = (*strBuilder)(nil)
	_ Keeper = (*scaledBuilder)(nil)
	_ Keeper = arrayBuilder[int32]{}
)

// KeepSlice keeps s[i] where keep[i], in order, zeroing the tail so that
// dropped pointers are not kept alive.
func KeepSlice[T any](s []T, keep []bool) []T {
	n := 0
	for i := range s {
		if keep[i] {
			s[n] = s[i]
			n++
		}
	}
	clear(s[n:])
	return s[:n]
}

func (b *builder[T]) Same(i, j int) bool {
	if b.nullable && (b.nulls[i] || b.nulls[j]) {
		return b.nulls[i] == b.nulls[j]
	}
	switch v := any(b.vals).(type) {
	case []int64:
		return v[i] == v[j]
	case []int32:
		return v[i] == v[j]
	case []time.Time:
		return v[i].Equal(v[j])
	case []string:
		return v[i] == v[j]
	}
	return b.Literal(i) == b.Literal(j)
}

func (b *scaledBuilder) Same(i, j int) bool {
	if b.nullable && (b.nulls[i] || b.nulls[j]) {
		return b.nulls[i] == b.nulls[j]
	}
	return b.vals[i] == b.vals[j]
}

func (b *strBuilder) Same(i, j int) bool {
	if b.nullable && (b.nulls[i] || b.nulls[j]) {
		return b.nulls[i] == b.nulls[j]
	}
	return string(b.bytesAt(i)) == string(b.bytesAt(j))
}

func (b *builder[T]) Keep(keep []bool) {
	b.vals = KeepSlice(b.vals, keep)
	if b.nullable {
		b.nulls = KeepSlice(b.nulls, keep)
	}
}

func (b *scaledBuilder) Keep(keep []bool) {
	b.vals = KeepSlice(b.vals, keep)
	if b.nullable {
		b.nulls = KeepSlice(b.nulls, keep)
	}
}

// Keep moves the kept values down the arena; a run of kept values moves
// as one copy.
func (b *strBuilder) Keep(keep []bool) {
	w := uint32(0)     // arena bytes kept so far
	n := 0             // values kept so far
	start := uint32(0) // start of value i
	runFrom, runTo := uint32(0), uint32(0)
	flush := func() {
		if runTo > runFrom {
			copy(b.buf[w:], b.buf[runFrom:runTo])
			w += runTo - runFrom
		}
	}
	for i, end := range b.ends {
		if keep[i] {
			if start != runTo { // not adjacent to the pending run
				flush()
				runFrom = start
			}
			runTo = end
			b.ends[n] = w + (runTo - runFrom)
			if b.nullable {
				b.nulls[n] = b.nulls[i]
			}
			n++
		}
		start = end
	}
	flush()
	b.buf = b.buf[:w]
	b.ends = b.ends[:n]
	if b.nullable {
		b.nulls = b.nulls[:n]
	}
}
