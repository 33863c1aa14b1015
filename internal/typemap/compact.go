package typemap

import (
	"encoding/base64"
	"fmt"
	"math"
	"unsafe"

	"github.com/shopspring/decimal"
)

// Compact builders for the two kinds of values that dominate replicate's
// blocks. The generic builder keeps a string as its own heap object behind
// a 16-byte header, and a decimal as a *big.Int (three objects, ~64 bytes):
// a window of the shop's tables took about twice its JSON size in memory,
// and the GC scanned every one of those pointers. These keep values in
// pointer-free arrays, so the same memory holds about twice the rows (the
// windows, and so ClickHouse's parts, get larger) and the GC has nothing
// to scan in them.

// strBuilder keeps a string column's values in one byte arena.
type strBuilder struct {
	col         Column
	nullable    bool
	conv        conv[string]
	plain       bool // text: a JSON string is unquoted straight into the arena
	placeholder [][]byte
	buf         []byte
	ends        []uint32 // value i is buf[ends[i-1]:ends[i]]
	nulls       []bool
	views       []string // Values(): views into buf
	ptrs        []*string
	adjusted    int
}

func newStrBuilder(c Column, cv conv[string], plain bool, pol Policies) *strBuilder {
	return &strBuilder{col: c, nullable: c.Nullable, conv: cv, plain: plain, placeholder: placeholderForms(pol.Placeholder)}
}

func (b *strBuilder) wrap(err error) error {
	return fmt.Errorf("typemap: column %s (%s): %w", b.col.Name, b.col.Type, err)
}

// reserve makes room for n more bytes, growing the arena by a quarter
// rather than append's doubling: blocks are kept for reuse at their
// largest size, and the arena is most of their memory.
func (b *strBuilder) reserve(n int) error {
	need := len(b.buf) + n
	if need > math.MaxUint32 {
		return b.wrap(fmt.Errorf("more than 4 GiB of text in one block"))
	}
	if need > cap(b.buf) {
		grown := make([]byte, len(b.buf), max(need, cap(b.buf)+cap(b.buf)/4, 4096))
		copy(grown, b.buf)
		b.buf = grown
	}
	return nil
}

// ended records the value appended to the arena since the last one.
func (b *strBuilder) ended() error {
	if len(b.buf) > math.MaxUint32 {
		return b.wrap(fmt.Errorf("more than 4 GiB of text in one block"))
	}
	b.ends = append(b.ends, uint32(len(b.buf)))
	if b.nullable {
		b.nulls = append(b.nulls, false)
	}
	return nil
}

func (b *strBuilder) push(v []byte) error {
	if err := b.reserve(len(v)); err != nil {
		return err
	}
	b.buf = append(b.buf, v...)
	return b.ended()
}

func (b *strBuilder) put(v string, null, adjusted bool, err error) error {
	if err != nil {
		return b.wrap(err)
	}
	if adjusted {
		b.adjusted++
	}
	if null {
		return b.AppendNull()
	}
	return b.push(unsafe.Slice(unsafe.StringData(v), len(v)))
}

func (b *strBuilder) AppendDebezium(raw []byte, fs *FieldSchema) error {
	raw = trimJSON(raw)
	if isNullToken(raw) {
		return b.AppendNull()
	}
	for _, ph := range b.placeholder {
		if string(raw) == string(ph) {
			return ErrUnavailable
		}
	}
	if b.plain && isStringToken(raw) {
		// Unquoted straight into the arena (textConv's decoding).
		if err := b.reserve(len(raw)); err != nil {
			return err
		}
		buf, err := appendUnquoted(b.buf, raw)
		if err != nil {
			return b.wrap(err)
		}
		b.buf = buf
		return b.ended()
	}
	return b.put(b.conv.deb(raw, fs))
}

func (b *strBuilder) AppendPgx(v any) error {
	if v == nil {
		return b.AppendNull()
	}
	return b.put(b.conv.pgx(v))
}

func (b *strBuilder) AppendNull() error {
	if !b.nullable {
		return b.wrap(fmt.Errorf("NULL in a NOT NULL column"))
	}
	b.ends = append(b.ends, uint32(len(b.buf)))
	b.nulls = append(b.nulls, true)
	return nil
}

func (b *strBuilder) Len() int { return len(b.ends) }

func (b *strBuilder) bytesAt(i int) []byte {
	lo, hi := b.bounds(i)
	return b.buf[lo:hi]
}

// bounds is where value i lies in the arena.
func (b *strBuilder) bounds(i int) (lo, hi uint32) {
	if i > 0 {
		lo = b.ends[i-1]
	}
	return lo, b.ends[i]
}

func (b *strBuilder) AppendCopy(i int) error { return b.copyFrom(b, i) }

func (b *strBuilder) AppendCopyFrom(src Builder, i int) error {
	s, ok := src.(*strBuilder)
	if !ok {
		return b.wrap(fmt.Errorf("copy from a builder of another type (%T)", src))
	}
	return b.copyFrom(s, i)
}

// copyFrom appends value i of s (b itself or a builder of the same column);
// it only reads s.
func (b *strBuilder) copyFrom(s *strBuilder, i int) error {
	if err := checkCopy(i, len(s.ends), s.nullable, b.nullable); err != nil {
		return b.wrap(err)
	}
	if s.nullable && s.nulls[i] {
		return b.AppendNull()
	}
	if s == b {
		// Make room first (reserve may move buf), then copy from buf into
		// itself: the value lies below len, the copy goes after it.
		lo, hi := b.bounds(i)
		if err := b.reserve(int(hi - lo)); err != nil {
			return err
		}
		b.buf = append(b.buf, b.buf[lo:hi]...)
		return b.ended()
	}
	return b.push(s.bytesAt(i))
}

func (b *strBuilder) Truncate(n int) {
	if n < 0 || n >= len(b.ends) {
		return
	}
	end := uint32(0)
	if n > 0 {
		end = b.ends[n-1]
	}
	b.buf = b.buf[:end]
	b.ends = b.ends[:n]
	if b.nullable {
		b.nulls = b.nulls[:n]
	}
}

func (b *strBuilder) Reset() {
	b.buf = b.buf[:0]
	b.ends = b.ends[:0]
	b.nulls = b.nulls[:0]
	// The per-data-block views are dropped, not kept: a few allocations
	// per insert against MBs of pointers live (and scanned) between
	// writes in every block of every table.
	b.views, b.ptrs = nil, nil
	b.adjusted = 0
}

// Values returns []string, or []*string for a nullable column. The strings
// are views of the builder's memory: valid until the next append,
// Truncate or Reset, like the slices of the generic builder.
func (b *strBuilder) Values() any { return b.ValuesRange(0, len(b.ends)) }

func (b *strBuilder) Literal(i int) string {
	if b.nullable && b.nulls[i] {
		return "NULL"
	}
	return b.conv.literal(string(b.bytesAt(i)))
}

func (b *strBuilder) Adjusted() int { return b.adjusted }

// scaledBuilder keeps a Decimal(p ≤ 18, s) column as integers scaled by
// 10^s; chconn's native writer sends them as they are on the wire
// (chconn.ScaledDecimalColumn).
type scaledBuilder struct {
	col         Column
	nullable    bool
	conv        conv[decimal.Decimal] // decimalConv: every check and error
	prec, scale int
	defScale    int
	placeholder [][]byte
	vals        []int64
	nulls       []bool
	adjusted    int
}

func newScaledBuilder(c Column, cv conv[decimal.Decimal], prec, scale, defScale int, pol Policies) *scaledBuilder {
	return &scaledBuilder{col: c, nullable: c.Nullable, conv: cv, prec: prec, scale: scale, defScale: defScale,
		placeholder: placeholderForms(pol.Placeholder)}
}

func (b *scaledBuilder) wrap(err error) error {
	return fmt.Errorf("typemap: column %s (%s): %w", b.col.Name, b.col.Type, err)
}

func (b *scaledBuilder) push(v int64) {
	b.vals = append(b.vals, v)
	if b.nullable {
		b.nulls = append(b.nulls, false)
	}
}

func (b *scaledBuilder) put(d decimal.Decimal, null, adjusted bool, err error) error {
	if err != nil {
		return b.wrap(err)
	}
	if adjusted {
		b.adjusted++
	}
	if null {
		return b.AppendNull()
	}
	// decimalConv checked the scale and the precision: it fits an int64.
	b.push(d.Shift(int32(b.scale)).IntPart())
	return nil
}

func (b *scaledBuilder) AppendDebezium(raw []byte, fs *FieldSchema) error {
	raw = trimJSON(raw)
	if isNullToken(raw) {
		return b.AppendNull()
	}
	for _, ph := range b.placeholder {
		if string(raw) == string(ph) {
			return ErrUnavailable
		}
	}
	if v, ok := b.fast(raw, fs); ok {
		b.push(v)
		return nil
	}
	return b.put(b.conv.deb(raw, fs))
}

// fast decodes Debezium's usual form, base64 bytes of at most 8 bytes with
// the scale in the schema, without big.Int. Anything else, or a value that
// does not fit, takes the general path (and its error).
func (b *scaledBuilder) fast(raw []byte, fs *FieldSchema) (int64, bool) {
	if !isStringToken(raw) || fs.typ() != "bytes" {
		return 0, false
	}
	src, err := schemaScale(fs, b.defScale)
	if err != nil || src < 0 || src > 18 {
		return 0, false
	}
	body := raw[1 : len(raw)-1]
	var buf [12]byte
	if len(body) == 0 || len(body) > 16 {
		return 0, false
	}
	n, err := base64.StdEncoding.Decode(buf[:], body)
	if err != nil || n == 0 || n > 8 {
		return 0, false
	}
	v := int64(0)
	if buf[0]&0x80 != 0 {
		v = -1 // sign extension
	}
	for _, c := range buf[:n] {
		v = v<<8 | int64(c)
	}
	for ; src < b.scale; src++ {
		if v > math.MaxInt64/10 || v < math.MinInt64/10 {
			return 0, false
		}
		v *= 10
	}
	for ; src > b.scale; src-- {
		if v%10 != 0 {
			return 0, false
		}
		v /= 10
	}
	limit := int64(1)
	for i := 0; i < b.prec; i++ {
		limit *= 10
	}
	if v >= limit || v <= -limit {
		return 0, false
	}
	return v, true
}

func (b *scaledBuilder) AppendPgx(v any) error {
	if v == nil {
		return b.AppendNull()
	}
	return b.put(b.conv.pgx(v))
}

func (b *scaledBuilder) AppendNull() error {
	if !b.nullable {
		return b.wrap(fmt.Errorf("NULL in a NOT NULL column"))
	}
	b.vals = append(b.vals, 0)
	b.nulls = append(b.nulls, true)
	return nil
}

func (b *scaledBuilder) Len() int { return len(b.vals) }

func (b *scaledBuilder) AppendCopy(i int) error { return b.copyFrom(b, i) }

func (b *scaledBuilder) AppendCopyFrom(src Builder, i int) error {
	s, ok := src.(*scaledBuilder)
	if !ok || s.scale != b.scale {
		return b.wrap(fmt.Errorf("copy from a builder of another type (%T)", src))
	}
	return b.copyFrom(s, i)
}

func (b *scaledBuilder) copyFrom(s *scaledBuilder, i int) error {
	if err := checkCopy(i, len(s.vals), s.nullable, b.nullable); err != nil {
		return b.wrap(err)
	}
	if s.nullable && s.nulls[i] {
		return b.AppendNull()
	}
	b.push(s.vals[i])
	return nil
}

func (b *scaledBuilder) Truncate(n int) {
	if n < 0 || n >= len(b.vals) {
		return
	}
	b.vals = b.vals[:n]
	if b.nullable {
		b.nulls = b.nulls[:n]
	}
}

func (b *scaledBuilder) Reset() {
	b.vals = b.vals[:0]
	b.nulls = b.nulls[:0]
	b.adjusted = 0
}

func (b *scaledBuilder) decimal(i int) decimal.Decimal {
	return decimal.New(b.vals[i], int32(-b.scale))
}

// Values returns []decimal.Decimal, or []*decimal.Decimal for a nullable
// column, made on each call (writers that know ScaledInts do not call it).
func (b *scaledBuilder) Values() any {
	if !b.nullable {
		out := make([]decimal.Decimal, len(b.vals))
		for i := range b.vals {
			out[i] = b.decimal(i)
		}
		return out
	}
	out := make([]*decimal.Decimal, len(b.vals))
	for i := range b.vals {
		if !b.nulls[i] {
			d := b.decimal(i)
			out[i] = &d
		}
	}
	return out
}

// ScaledInts implements chconn.ScaledDecimalColumn.
func (b *scaledBuilder) ScaledInts() ([]int64, int, []bool) {
	if !b.nullable {
		return b.vals, b.scale, nil
	}
	return b.vals, b.scale, b.nulls
}

func (b *scaledBuilder) Literal(i int) string {
	if b.nullable && b.nulls[i] {
		return "NULL"
	}
	return b.conv.literal(b.decimal(i))
}

func (b *scaledBuilder) Adjusted() int { return b.adjusted }

// ValuesRange is Values for rows [lo, hi) (chconn.RangeColumn): views of
// the arena, valid until the next call.
func (b *strBuilder) ValuesRange(lo, hi int) any {
	clear(b.views)
	b.views = b.views[:0]
	start := uint32(0)
	if lo > 0 {
		start = b.ends[lo-1]
	}
	for _, end := range b.ends[lo:hi] {
		b.views = append(b.views, unsafe.String(unsafe.SliceData(b.buf[start:end]), int(end-start)))
		start = end
	}
	if !b.nullable {
		return b.views
	}
	b.ptrs = nullPtrs(b.ptrs, b.views, b.nulls[lo:hi])
	return b.ptrs
}

// DataSize is the bytes of the values (chconn.RangeColumn).
func (b *strBuilder) DataSize() int { return len(b.buf) }
