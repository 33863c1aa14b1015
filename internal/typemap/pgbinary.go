package typemap

import (
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// BinaryColumn is a column buffer filled straight from PostgreSQL's binary
// wire format (what pgx receives), for the common scalar types: no pgx
// value, no interface boxing, no big.Int per decimal. It holds exactly what
// the Builder of the same column holds after AppendPgx of pgx's decoded
// value (same Values, same Literal, same errors: anything off the fast path
// is decoded by pgx and converted by the Builder's own conversion).
type BinaryColumn interface {
	chconn.Column
	// AppendBinary appends one value in binary format; nil is NULL.
	AppendBinary(raw []byte) error
	Reset()
	// Adjusted counts values changed by the range policy since Reset.
	Adjusted() int
}

// PostgreSQL type oids of the fast path.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidFloat4      = 700
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidUUID        = 2950
)

// NewBinaryColumn returns the fast buffer for column c whose values arrive
// in binary format with type oid, or ok=false when c takes the generic
// path (arrays, dates, intervals, other types, unexpected oids).
func NewBinaryColumn(c Column, oid uint32, p chconn.Profile, pol Policies) (BinaryColumn, bool) {
	if c.Array {
		return nil, false
	}
	switch k := c.Kind(); k {
	case KindInt16:
		if oid == oidInt2 {
			return newBin(c, intConv[int16](math.MinInt16, math.MaxInt16), oid, func(b []byte) (int16, bool) {
				return int16(binary.BigEndian.Uint16(b)), len(b) == 2
			}), true
		}
	case KindInt32:
		if oid == oidInt4 {
			return newBin(c, intConv[int32](math.MinInt32, math.MaxInt32), oid, func(b []byte) (int32, bool) {
				return int32(binary.BigEndian.Uint32(b)), len(b) == 4
			}), true
		}
	case KindInt64:
		if oid == oidInt8 {
			return newBin(c, intConv[int64](math.MinInt64, math.MaxInt64), oid, func(b []byte) (int64, bool) {
				return int64(binary.BigEndian.Uint64(b)), len(b) == 8
			}), true
		}
	case KindFloat32:
		if oid == oidFloat4 {
			return newBin(c, floatConv[float32](32), oid, func(b []byte) (float32, bool) {
				return math.Float32frombits(binary.BigEndian.Uint32(b)), len(b) == 4
			}), true
		}
	case KindFloat64:
		if oid == oidFloat8 {
			return newBin(c, floatConv[float64](64), oid, func(b []byte) (float64, bool) {
				return math.Float64frombits(binary.BigEndian.Uint64(b)), len(b) == 8
			}), true
		}
	case KindBool:
		if oid != oidBool {
			break
		}
		if p.Bool {
			return newBin(c, boolConv(), oid, func(b []byte) (bool, bool) { return len(b) == 1 && b[0] == 1, len(b) == 1 && b[0] <= 1 }), true
		}
		return newBin(c, boolUInt8Conv(), oid, func(b []byte) (uint8, bool) {
			if len(b) != 1 || b[0] > 1 {
				return 0, false
			}
			return b[0], true
		}), true
	case KindDecimal, KindNumeric, KindMoney:
		prec, scale, ok := c.decimalShape(p, pol)
		if !ok || prec > 18 || oid != oidNumeric {
			break
		}
		defScale := c.Scale
		if k == KindMoney {
			defScale = pol.MoneyScale
		}
		return &binDecimal{col: c, conv: decimalConv(prec, scale, defScale), prec: prec, scale: scale, limit: pow10u[prec]}, true
	case KindTimestamp, KindTimestampTZ:
		if oid != oidTimestamp && oid != oidTimestamptz {
			break
		}
		micros := func(b []byte) (tsValue, bool) {
			if len(b) != 8 {
				return tsValue{}, false
			}
			switch us := int64(binary.BigEndian.Uint64(b)); {
			case us == math.MaxInt64:
				return tsValue{inf: int(pgtype.Infinity)}, true
			case us == math.MinInt64:
				return tsValue{inf: int(pgtype.NegativeInfinity)}, true
			case us < pgMinMicrosY2K || us > pgMaxFastMicrosY2K:
				return tsValue{}, false // pgx's own range check decides
			default:
				return tsValue{micros: us + y2kMicros}, true
			}
		}
		if p.DateTime64 {
			cv := timestampConv(pol)
			return newBinPol(c, cv, oid, func(b []byte) (time.Time, bool, bool, error, bool) {
				ts, ok := micros(b)
				if !ok {
					return time.Time{}, false, false, nil, false
				}
				m, null, adj, err := applyRange(ts.micros, ts.inf, dt64Min, dt64Max, pol, "timestamp (µs since 1970)")
				return time.UnixMicro(m).UTC(), null, adj, err, true
			}), true
		}
		cv := epochMicrosConv(pol)
		return newBinPol(c, cv, oid, func(b []byte) (int64, bool, bool, error, bool) {
			ts, ok := micros(b)
			if !ok {
				return 0, false, false, nil, false
			}
			m, null, adj, err := applyRange(ts.micros, ts.inf, math.MinInt64, math.MaxInt64, pol, "timestamp (µs since 1970)")
			return m, null, adj, err, true
		}), true
	case KindUUID:
		if oid == oidUUID {
			return newBin(c, uuidConv(), oid, func(b []byte) (string, bool) {
				if len(b) != 16 {
					return "", false
				}
				return uuid.UUID(b).String(), true
			}), true
		}
	case KindText, KindEnum, KindJSON, KindBpchar:
		// textConv and jsonConv keep a string as it is.
		if oid != oidText && oid != oidVarchar && oid != oidBPChar {
			break
		}
		var cv conv[string]
		if k == KindJSON {
			cv = jsonConv()
		} else {
			cv = textConv()
		}
		return newBin(c, cv, oid, func(b []byte) (string, bool) { return string(b), true }), true
	}
	return nil, false
}

// binColumn holds every value (the zero value for a NULL) and the NULL
// marks; Values builds the []*T clickhouse-go wants for Nullable(T) once.
type binColumn[T any] struct {
	col      Column
	oid      uint32
	conv     conv[T]
	fast     func([]byte) (v T, null, adjusted bool, err error, ok bool)
	vals     []T
	nulls    []bool
	ptrs     []*T
	adjusted int
}

// newBin is a fast path that never adjusts: ok=false sends the value to
// the generic path.
func newBin[T any](c Column, cv conv[T], oid uint32, fast func([]byte) (T, bool)) *binColumn[T] {
	return newBinPol(c, cv, oid, func(b []byte) (T, bool, bool, error, bool) {
		v, ok := fast(b)
		return v, false, false, nil, ok
	})
}

func newBinPol[T any](c Column, cv conv[T], oid uint32, fast func([]byte) (T, bool, bool, error, bool)) *binColumn[T] {
	return &binColumn[T]{col: c, oid: oid, conv: cv, fast: fast}
}

func (b *binColumn[T]) wrap(err error) error {
	return fmt.Errorf("typemap: column %s (%s): %w", b.col.Name, b.col.Type, err)
}

func (b *binColumn[T]) AppendBinary(raw []byte) error {
	if raw == nil {
		return b.appendNull()
	}
	v, null, adj, err, ok := b.fast(raw)
	if !ok {
		// Off the fast path: exactly what the Builder does with pgx's value.
		pv, derr := binaryMap().decode(b.oid, raw)
		if derr != nil {
			return b.wrap(derr)
		}
		if pv == nil {
			return b.appendNull()
		}
		v, null, adj, err = b.conv.pgx(pv)
	}
	if err != nil {
		return b.wrap(err)
	}
	if adj {
		b.adjusted++
	}
	if null {
		return b.appendNull()
	}
	b.vals = append(b.vals, v)
	if b.col.Nullable {
		b.nulls = append(b.nulls, false)
	}
	return nil
}

func (b *binColumn[T]) appendNull() error {
	if !b.col.Nullable {
		return b.wrap(fmt.Errorf("NULL in a NOT NULL column"))
	}
	var zero T
	b.vals = append(b.vals, zero)
	b.nulls = append(b.nulls, true)
	return nil
}

func (b *binColumn[T]) Len() int { return len(b.vals) }

func (b *binColumn[T]) Reset() {
	clear(b.vals)
	b.vals = b.vals[:0]
	b.nulls = b.nulls[:0]
	clear(b.ptrs)
	b.ptrs = b.ptrs[:0]
	b.adjusted = 0
}

func (b *binColumn[T]) Adjusted() int { return b.adjusted }

// Values returns []T, or []*T for a nullable column (valid until the next
// append or Reset).
func (b *binColumn[T]) Values() any {
	if !b.col.Nullable {
		return b.vals
	}
	b.ptrs = nullPtrs(b.ptrs, b.vals, b.nulls)
	return b.ptrs
}

func (b *binColumn[T]) Literal(i int) string {
	if b.col.Nullable && b.nulls[i] {
		return "NULL"
	}
	return b.conv.literal(b.vals[i])
}

// --- numeric ---

var pow10u = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// numericScaled reads a binary numeric as an integer scaled by 10^scale
// whose magnitude is below limit (10^precision ≤ 10^18); ok=false for NaN,
// ±Infinity, more fractional digits than scale, a value that does not fit,
// or a malformed value: the generic path reports those.
func numericScaled(b []byte, scale int, limit uint64) (int64, bool) {
	if len(b) < 8 {
		return 0, false
	}
	ndigits := int(binary.BigEndian.Uint16(b[0:]))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	if sign != 0 && sign != 0x4000 || len(b) != 8+2*ndigits {
		return 0, false
	}
	var acc uint64
	for i := 0; i < ndigits; i++ {
		d := uint64(binary.BigEndian.Uint16(b[8+2*i:]))
		if d >= 10000 {
			return 0, false
		}
		if d == 0 {
			continue
		}
		// digit i is worth d * 10^(4*(weight-i)); scaled by 10^scale.
		e := 4*(weight-i) + scale
		switch {
		case e < 0:
			if e <= -4 || d%pow10u[-e] != 0 {
				return 0, false // fractional digits beyond the scale
			}
			d /= pow10u[-e]
		case e > 18:
			return 0, false
		default:
			hi, lo := bits.Mul64(d, pow10u[e])
			if hi != 0 || lo >= limit {
				return 0, false
			}
			d = lo
		}
		acc += d
		if acc >= limit {
			return 0, false
		}
	}
	if sign == 0x4000 {
		return -int64(acc), true
	}
	return int64(acc), true
}

// binDecimal holds a Decimal(p ≤ 18, s) column as integers scaled by
// 10^s: 8 bytes and no pointer per value. Values returns them as a slice
// type that is a driver.Valuer: clickhouse-go converts it to the
// []decimal.Decimal it wants when the column is appended, so the
// decimal.Decimal values exist only for the part of the block being
// encoded (the native insert appends a block in slices).
type binDecimal struct {
	col      Column
	conv     conv[decimal.Decimal]
	prec     int
	scale    int
	limit    uint64
	vals     []int64
	nulls    []bool
	adjusted int
}

func (b *binDecimal) wrap(err error) error {
	return fmt.Errorf("typemap: column %s (%s): %w", b.col.Name, b.col.Type, err)
}

func (b *binDecimal) AppendBinary(raw []byte) error {
	if raw == nil {
		return b.appendNull()
	}
	n, ok := numericScaled(raw, b.scale, b.limit)
	if !ok {
		// Off the fast path (NaN, too many digits, ...): the Builder's
		// conversion decides, and a value it accepts is exact at the scale.
		pv, err := binaryMap().decode(oidNumeric, raw)
		if err != nil {
			return b.wrap(err)
		}
		if pv == nil {
			return b.appendNull()
		}
		d, null, adj, err := b.conv.pgx(pv)
		if err != nil {
			return b.wrap(err)
		}
		if adj {
			b.adjusted++
		}
		if null {
			return b.appendNull()
		}
		scaled := d.Shift(int32(b.scale))
		if !scaled.IsInteger() || !scaled.BigInt().IsInt64() {
			return b.wrap(fmt.Errorf("%s does not fit Decimal(%d, %d)", d.String(), b.prec, b.scale))
		}
		n = scaled.IntPart()
	}
	b.vals = append(b.vals, n)
	if b.col.Nullable {
		b.nulls = append(b.nulls, false)
	}
	return nil
}

func (b *binDecimal) appendNull() error {
	if !b.col.Nullable {
		return b.wrap(fmt.Errorf("NULL in a NOT NULL column"))
	}
	b.vals = append(b.vals, 0)
	b.nulls = append(b.nulls, true)
	return nil
}

func (b *binDecimal) Len() int { return len(b.vals) }

func (b *binDecimal) Reset() {
	b.vals = b.vals[:0]
	b.nulls = b.nulls[:0]
	b.adjusted = 0
}

func (b *binDecimal) Adjusted() int { return b.adjusted }

func (b *binDecimal) Values() any {
	if !b.col.Nullable {
		return asScaled[b.scale](b.vals)
	}
	out := make(nullScaledDecimals, len(b.vals))
	for i, v := range b.vals {
		out[i] = nullScaled{v: v, null: b.nulls[i], scale: int32(b.scale)}
	}
	return out
}

// ScaledInts gives the values as integers scaled by 10^scale, for a
// stream that sends them as they are (chconn.ScaledDecimalColumn).
func (b *binDecimal) ScaledInts() ([]int64, int, []bool) {
	if !b.col.Nullable {
		return b.vals, b.scale, nil
	}
	return b.vals, b.scale, b.nulls
}

func (b *binDecimal) Literal(i int) string {
	if b.col.Nullable && b.nulls[i] {
		return "NULL"
	}
	return b.conv.literal(decimal.New(b.vals[i], -int32(b.scale)))
}

// scaledInts is a Decimal(p, S.scale()) column's values for clickhouse-go,
// which takes a driver.Valuer giving []decimal.Decimal. The scale is in
// the type, so the values stay a plain []int64 that the native insert can
// slice.
type scaledInts[S scaleOf] []int64

type scaleOf interface{ scale() int32 }

type scale0 struct{}
type scale1 struct{}
type scale2 struct{}
type scale3 struct{}
type scale4 struct{}
type scale5 struct{}
type scale6 struct{}
type scale7 struct{}
type scale8 struct{}
type scale9 struct{}
type scale10 struct{}
type scale11 struct{}
type scale12 struct{}
type scale13 struct{}
type scale14 struct{}
type scale15 struct{}
type scale16 struct{}
type scale17 struct{}
type scale18 struct{}

func (scale0) scale() int32  { return 0 }
func (scale1) scale() int32  { return 1 }
func (scale2) scale() int32  { return 2 }
func (scale3) scale() int32  { return 3 }
func (scale4) scale() int32  { return 4 }
func (scale5) scale() int32  { return 5 }
func (scale6) scale() int32  { return 6 }
func (scale7) scale() int32  { return 7 }
func (scale8) scale() int32  { return 8 }
func (scale9) scale() int32  { return 9 }
func (scale10) scale() int32 { return 10 }
func (scale11) scale() int32 { return 11 }
func (scale12) scale() int32 { return 12 }
func (scale13) scale() int32 { return 13 }
func (scale14) scale() int32 { return 14 }
func (scale15) scale() int32 { return 15 }
func (scale16) scale() int32 { return 16 }
func (scale17) scale() int32 { return 17 }
func (scale18) scale() int32 { return 18 }

// asScaled[s] views scaled integers as scaledInts of scale s (no copy).
var asScaled = [19]func([]int64) any{
	func(v []int64) any { return scaledInts[scale0](v) },
	func(v []int64) any { return scaledInts[scale1](v) },
	func(v []int64) any { return scaledInts[scale2](v) },
	func(v []int64) any { return scaledInts[scale3](v) },
	func(v []int64) any { return scaledInts[scale4](v) },
	func(v []int64) any { return scaledInts[scale5](v) },
	func(v []int64) any { return scaledInts[scale6](v) },
	func(v []int64) any { return scaledInts[scale7](v) },
	func(v []int64) any { return scaledInts[scale8](v) },
	func(v []int64) any { return scaledInts[scale9](v) },
	func(v []int64) any { return scaledInts[scale10](v) },
	func(v []int64) any { return scaledInts[scale11](v) },
	func(v []int64) any { return scaledInts[scale12](v) },
	func(v []int64) any { return scaledInts[scale13](v) },
	func(v []int64) any { return scaledInts[scale14](v) },
	func(v []int64) any { return scaledInts[scale15](v) },
	func(v []int64) any { return scaledInts[scale16](v) },
	func(v []int64) any { return scaledInts[scale17](v) },
	func(v []int64) any { return scaledInts[scale18](v) },
}

func (s scaledInts[S]) Value() (driver.Value, error) {
	var sc S
	var ints decimalInterner
	out := make([]decimal.Decimal, len(s))
	for i, v := range s {
		out[i] = ints.decimal(v, int(sc.scale()))
	}
	return out, nil
}

type nullScaled struct {
	v     int64
	null  bool
	scale int32
}

type nullScaledDecimals []nullScaled

func (s nullScaledDecimals) Value() (driver.Value, error) {
	var ints decimalInterner
	out := make([]*decimal.Decimal, len(s))
	for i, x := range s {
		if !x.null {
			d := ints.decimal(x.v, int(x.scale))
			out[i] = &d
		}
	}
	return out, nil
}

// decimalInterner shares one big.Int per recent coefficient: a
// decimal.Decimal is immutable (every operation returns a new value), so
// the column's values may point to the same coefficient. Prices repeat a
// lot; this saves an allocation per value and keeps the block small.
type decimalInterner struct {
	keys [4096]int64
	vals [4096]decimal.Decimal
	set  [4096]bool
}

func (d *decimalInterner) decimal(n int64, scale int) decimal.Decimal {
	h := uint64(n) * 0x9E3779B97F4A7C15 >> 52
	if !d.set[h] || d.keys[h] != n {
		d.keys[h], d.vals[h], d.set[h] = n, decimal.New(n, -int32(scale)), true
	}
	return d.vals[h]
}

// --- generic decoding of values off the fast path ---

type pgxMap struct {
	mu sync.Mutex
	m  *pgtype.Map
}

var binaryMapOnce = sync.OnceValue(func() *pgxMap { return &pgxMap{m: pgtype.NewMap()} })

func binaryMap() *pgxMap { return binaryMapOnce() }

// decode decodes a binary value the way pgx's Rows.Values does.
func (m *pgxMap) decode(oid uint32, raw []byte) (any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.m.TypeForOID(oid)
	if !ok {
		return nil, fmt.Errorf("no pgx codec for type oid %d", oid)
	}
	return t.Codec.DecodeValue(m.m, oid, pgtype.BinaryFormatCode, raw)
}

// time.Unix(946684800, 0): PostgreSQL's binary timestamps count from 2000.
const y2kMicros = 946684800 * 1_000_000

var (
	// pgx refuses timestamps before 4713 BC; the fast path leaves the
	// edges (and anything absurd) to it.
	pgMinMicrosY2K     = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC).UnixMicro() - y2kMicros
	pgMaxFastMicrosY2K = int64(1) << 62
)
