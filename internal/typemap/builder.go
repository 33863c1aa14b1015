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
	vals        []T
	ptrs        []*T
	adjusted    int
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
	if b.nullable {
		b.ptrs = append(b.ptrs, &v)
	} else {
		b.vals = append(b.vals, v)
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
	b.ptrs = append(b.ptrs, nil)
	return nil
}

func (b *builder[T]) Len() int {
	if b.nullable {
		return len(b.ptrs)
	}
	return len(b.vals)
}

func (b *builder[T]) Reset() {
	b.vals = b.vals[:0]
	clear(b.ptrs)
	b.ptrs = b.ptrs[:0]
	b.adjusted = 0
}

func (b *builder[T]) Values() any {
	if b.nullable {
		return b.ptrs
	}
	return b.vals
}

func (b *builder[T]) Literal(i int) string {
	if b.nullable {
		if b.ptrs[i] == nil {
			return "NULL"
		}
		return b.conv.literal(*b.ptrs[i])
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
