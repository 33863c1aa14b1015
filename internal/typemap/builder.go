package typemap

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// Builder is a column-oriented buffer of one column's values for one
// insert block. Values returns a typed slice for clickhouse-go's
// batch.Column(i).Append; Literal renders row i as SQL text (chDB).
type Builder interface {
	// AppendDebezium decodes the JSON token bytes of one Debezium value.
	// fs may be nil (schemas.enable=false). It returns ErrUnavailable,
	// appending nothing, for the unchanged-TOAST placeholder.
	AppendDebezium(raw []byte, fs *FieldSchema) error
	// AppendPgx appends a value as pgx returns it (see PGSelectExpr).
	AppendPgx(v any) error
	AppendNull() error
	Len() int
	// AppendCopy appends a copy of value i of this builder (NULL stays
	// NULL): a row filled from an earlier row of the same block.
	AppendCopy(i int) error
	// AppendCopyFrom appends a copy of value i of src, a builder made by
	// NewBuilder for the same column, profile and policies (another block
	// of the same table). It only reads src, so src may be read by another
	// goroutine meanwhile (Values excepted: it rebuilds the pointers).
	AppendCopyFrom(src Builder, i int) error
	// Truncate drops the values after the first n (n <= Len()): a caller
	// that appends a row column by column undoes a row that failed.
	Truncate(n int)
	Reset()
	Values() any
	Literal(i int) string
	// Adjusted counts values changed by the clamp or null range policy
	// since the last Reset, so callers can log them: never silent.
	Adjusted() int
}

// conv is how one Go representation T is read and printed.
type conv[T any] struct {
	// deb and pgx return null=true when the policy turned the value into NULL.
	deb     func(raw []byte, fs *FieldSchema) (v T, null bool, adjusted bool, err error)
	pgx     func(v any) (T, bool, bool, error)
	literal func(T) string
}

type builder[T any] struct {
	col         Column
	nullable    bool
	conv        conv[T]
	placeholder [][]byte
	// vals holds every value (the zero value for a NULL); nulls marks the
	// NULLs of a nullable column. Values builds the []*T that clickhouse-go
	// wants for Nullable(T) once per block, pointing into vals, instead of
	// one heap allocation per value.
	vals     []T
	nulls    []bool
	ptrs     []*T
	adjusted int
}

// NewBuilder returns the buffer for a column on a server profile.
func NewBuilder(c Column, p chconn.Profile, pol Policies) (Builder, error) {
	if c.Array {
		return newArrayBuilder(c, p, pol)
	}
	return scalarBuilder(c, p, pol)
}

func newBuilder[T any](c Column, cv conv[T], pol Policies) *builder[T] {
	return &builder[T]{col: c, nullable: c.Nullable, conv: cv, placeholder: placeholderForms(pol.Placeholder)}
}

func (b *builder[T]) wrap(err error) error {
	return fmt.Errorf("typemap: column %s (%s): %w", b.col.Name, b.col.Type, err)
}

func (b *builder[T]) put(v T, null, adjusted bool, err error) error {
	if err != nil {
		return b.wrap(err)
	}
	if adjusted {
		b.adjusted++
	}
	if null {
		return b.AppendNull()
	}
	b.vals = append(b.vals, v)
	if b.nullable {
		b.nulls = append(b.nulls, false)
	}
	return nil
}

func (b *builder[T]) AppendDebezium(raw []byte, fs *FieldSchema) error {
	raw = trimJSON(raw)
	if isNullToken(raw) {
		return b.AppendNull()
	}
	for _, ph := range b.placeholder {
		if string(raw) == string(ph) {
			return ErrUnavailable
		}
	}
	return b.put(b.conv.deb(raw, fs))
}

func (b *builder[T]) AppendPgx(v any) error {
	if v == nil {
		return b.AppendNull()
	}
	return b.put(b.conv.pgx(v))
}

func (b *builder[T]) AppendNull() error {
	if !b.nullable {
		return b.wrap(fmt.Errorf("NULL in a NOT NULL column"))
	}
	var zero T
	b.vals = append(b.vals, zero)
	b.nulls = append(b.nulls, true)
	return nil
}

func (b *builder[T]) Len() int { return len(b.vals) }

func (b *builder[T]) AppendCopy(i int) error { return b.copyFrom(b, i) }

// self is the builder behind a Builder of element type T (arrayBuilder
// embeds it).
func (b *builder[T]) self() *builder[T] { return b }

func (b *builder[T]) AppendCopyFrom(src Builder, i int) error {
	s, ok := src.(interface{ self() *builder[T] })
	if !ok {
		return b.wrap(fmt.Errorf("copy from a builder of another type (%T)", src))
	}
	return b.copyFrom(s.self(), i)
}

// checkCopy is the error of copying value i of n between builders of the
// given nullability, nil when the copy can be made.
func checkCopy(i, n int, srcNullable, dstNullable bool) error {
	if i < 0 || i >= n {
		return fmt.Errorf("copy of value %d of %d", i, n)
	}
	if srcNullable != dstNullable {
		return fmt.Errorf("copy between nullable and not nullable builders")
	}
	return nil
}

// copyFrom appends value i of s (b itself or a builder of the same column).
// Values are immutable once appended (strings, and arrays whose element
// pointers are never written again), so sharing them is safe.
func (b *builder[T]) copyFrom(s *builder[T], i int) error {
	if err := checkCopy(i, len(s.vals), s.nullable, b.nullable); err != nil {
		return b.wrap(err)
	}
	b.vals = append(b.vals, s.vals[i])
	if b.nullable {
		b.nulls = append(b.nulls, s.nulls[i])
	}
	return nil
}

func (b *builder[T]) Truncate(n int) {
	if n < 0 || n >= len(b.vals) {
		return
	}
	clear(b.vals[n:])
	b.vals = b.vals[:n]
	if b.nullable {
		b.nulls = b.nulls[:n]
	}
}

func (b *builder[T]) Reset() {
	clear(b.vals)
	b.vals = b.vals[:0]
	b.nulls = b.nulls[:0]
	clear(b.ptrs)
	b.ptrs = b.ptrs[:0]
	b.adjusted = 0
}

// Values returns []T, or []*T for a nullable column (valid until the next
// append, Truncate or Reset).
func (b *builder[T]) Values() any { return b.ValuesRange(0, len(b.vals)) }

// nullPtrs refills ptrs with a pointer to each of vals, nil where nulls
// marks a NULL (ClickHouse-go's form of a Nullable column).
func nullPtrs[T any](ptrs []*T, vals []T, nulls []bool) []*T {
	clear(ptrs)
	ptrs = ptrs[:0]
	for i := range vals {
		if nulls[i] {
			ptrs = append(ptrs, nil)
		} else {
			ptrs = append(ptrs, &vals[i])
		}
	}
	return ptrs
}

// ValuesRange is Values for rows [lo, hi) (chconn.RangeColumn), valid
// until the next call: a nullable column's pointers are made for those
// rows only.
func (b *builder[T]) ValuesRange(lo, hi int) any {
	if !b.nullable {
		return b.vals[lo:hi]
	}
	b.ptrs = nullPtrs(b.ptrs, b.vals[lo:hi], b.nulls[lo:hi])
	return b.ptrs
}

// DataSize is about the bytes of the values (chconn.RangeColumn): string
// lengths, 8 bytes for anything else.
func (b *builder[T]) DataSize() int {
	if ss, ok := any(b.vals).([]string); ok {
		n := 0
		for _, s := range ss {
			n += len(s)
		}
		return n
	}
	return 8 * len(b.vals)
}

// IsNull reports whether value i is NULL.
func (b *builder[T]) IsNull(i int) bool { return b.nullable && b.nulls[i] }

// Value returns value i (the zero value for a NULL).
func (b *builder[T]) Value(i int) T { return b.vals[i] }

func (b *builder[T]) Literal(i int) string {
	if b.nullable && b.nulls[i] {
		return "NULL"
	}
	return b.conv.literal(b.vals[i])
}

func (b *builder[T]) Adjusted() int { return b.adjusted }

// placeholderForms lists the JSON tokens Debezium uses for the
// unchanged-TOAST placeholder across column types.
func placeholderForms(ph string) [][]byte {
	if ph == "" {
		ph = DefaultPolicies().Placeholder
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(ph))
	var ints []string
	for _, c := range []byte(ph) {
		ints = append(ints, strconv.Itoa(int(c)))
	}
	return [][]byte{
		[]byte(strconv.Quote(ph)),
		[]byte(`"` + b64 + `"`),
		[]byte(`[` + strconv.Quote(ph) + `]`),
		[]byte(`["` + b64 + `"]`),
		[]byte(`[` + strings.Join(ints, ",") + `]`),
		[]byte(`["` + nameUUID(ph) + `"]`),
	}
}

// nameUUID is Java's UUID.nameUUIDFromBytes (MD5, version 3).
func nameUUID(s string) string {
	h := md5.Sum([]byte(s))
	h[6] = h[6]&0x0f | 0x30
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// --- arrays ---

// arrayConv lifts an element conv to one-dimensional arrays with nullable
// elements. A NULL array is stored as [] (ClickHouse has no
// Nullable(Array)); the checksum expressions treat both alike.
func arrayConv[E any](el conv[E]) conv[[]*E] {
	return conv[[]*E]{
		deb: func(raw []byte, fs *FieldSchema) ([]*E, bool, bool, error) {
			var out []*E
			adj := false
			err := eachElem(raw, func(e []byte) error {
				if isNullToken(e) {
					out = append(out, nil)
					return nil
				}
				v, null, a, err := el.deb(e, fs.items())
				adj = adj || a
				if err != nil {
					return err
				}
				if null {
					out = append(out, nil)
				} else {
					out = append(out, &v)
				}
				return nil
			})
			if out == nil {
				out = []*E{}
			}
			return out, false, adj, err
		},
		pgx: func(v any) ([]*E, bool, bool, error) {
			return pgxArray(v, el)
		},
		literal: func(vs []*E) string {
			var b strings.Builder
			b.WriteByte('[')
			for i, v := range vs {
				if i > 0 {
					b.WriteString(", ")
				}
				if v == nil {
					b.WriteString("NULL")
				} else {
					b.WriteString(el.literal(*v))
				}
			}
			b.WriteByte(']')
			return b.String()
		},
	}
}

type arrayBuilder[E any] struct{ *builder[[]*E] }

func (a arrayBuilder[E]) AppendNull() error { return a.put([]*E{}, false, false, nil) }

func (a arrayBuilder[E]) AppendDebezium(raw []byte, fs *FieldSchema) error {
	if isNullToken(trimJSON(raw)) {
		return a.AppendNull()
	}
	return a.builder.AppendDebezium(raw, fs)
}

func (a arrayBuilder[E]) AppendPgx(v any) error {
	if v == nil {
		return a.AppendNull()
	}
	return a.builder.AppendPgx(v)
}

func newArray[E any](c Column, el conv[E], pol Policies) Builder {
	b := newBuilder(c, arrayConv(el), pol)
	b.nullable = false
	return arrayBuilder[E]{b}
}
