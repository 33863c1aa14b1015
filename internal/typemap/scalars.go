package typemap

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

func build[T any](c Column, cv conv[T], pol Policies) Builder {
	if c.Array {
		return newArray(c, cv, pol)
	}
	return newBuilder(c, cv, pol)
}

func scalarBuilder(c Column, p chconn.Profile, pol Policies) (Builder, error) {
	return builderFor(c, p, pol)
}

func newArrayBuilder(c Column, p chconn.Profile, pol Policies) (Builder, error) {
	return builderFor(c, p, pol)
}

func builderFor(c Column, p chconn.Profile, pol Policies) (Builder, error) {
	switch c.Kind() {
	case KindInt16:
		return build(c, intConv[int16](math.MinInt16, math.MaxInt16), pol), nil
	case KindInt32:
		return build(c, intConv[int32](math.MinInt32, math.MaxInt32), pol), nil
	case KindInt64:
		return build(c, intConv[int64](math.MinInt64, math.MaxInt64), pol), nil
	case KindBool:
		if p.Bool {
			return build(c, boolConv(), pol), nil
		}
		return build(c, boolUInt8Conv(), pol), nil
	case KindFloat32:
		return build(c, floatConv[float32](32), pol), nil
	case KindFloat64:
		return build(c, floatConv[float64](64), pol), nil
	case KindDecimal, KindNumeric, KindMoney:
		defScale := c.Scale
		if c.Kind() == KindMoney {
			defScale = pol.MoneyScale
		}
		if prec, scale, ok := c.decimalShape(p, pol); ok {
			if prec <= 18 && !c.Array {
				return newScaledBuilder(c, decimalConv(prec, scale, defScale), prec, scale, defScale, pol), nil
			}
			return build(c, decimalConv(prec, scale, defScale), pol), nil
		}
		return buildStr(c, numericTextConv(defScale), false, pol), nil
	case KindUUID:
		return buildStr(c, uuidConv(), false, pol), nil
	case KindBytes:
		return buildStr(c, bytesConv(), false, pol), nil
	case KindJSON:
		return buildStr(c, jsonConv(), true, pol), nil
	case KindInet:
		return buildStr(c, inetConv(), true, pol), nil
	case KindDate:
		if p.Date32 {
			return build(c, dateConv(pol), pol), nil
		}
		return build(c, epochDaysConv(pol), pol), nil
	case KindTime:
		return build(c, microsConv(debTimeMicros, pgxTimeMicros), pol), nil
	case KindInterval:
		return build(c, microsConv(debIntervalMicros, pgxIntervalMicros), pol), nil
	case KindTimestamp, KindTimestampTZ:
		if p.DateTime64 {
			return build(c, timestampConv(pol), pol), nil
		}
		return build(c, epochMicrosConv(pol), pol), nil
	}
	return buildStr(c, textConv(), true, pol), nil
}

// buildStr is build for string values: scalars go into one arena
// (compact.go); plain tells that the conv's Debezium decoding is JSON
// string unquoting, which the arena builder does in place.
func buildStr(c Column, cv conv[string], plain bool, pol Policies) Builder {
	if c.Array {
		return newArray(c, cv, pol)
	}
	return newStrBuilder(c, cv, plain, pol)
}

// --- integers, booleans, floats ---

func intConv[T int16 | int32 | int64](lo, hi int64) conv[T] {
	return conv[T]{
		deb: func(raw []byte, _ *FieldSchema) (T, bool, bool, error) {
			n, err := debInt(raw, lo, hi)
			return T(n), false, false, err
		},
		pgx: func(v any) (T, bool, bool, error) {
			n, err := pgxInt(v)
			if err == nil && (n < lo || n > hi) {
				err = fmt.Errorf("integer %d out of range", n)
			}
			return T(n), false, false, err
		},
		literal: func(v T) string { return strconv.FormatInt(int64(v), 10) },
	}
}

func pgxInt(v any) (int64, error) {
	switch x := v.(type) {
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("pgx value %T is not an integer", v)
}

func pgxBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		return strconv.ParseBool(x)
	}
	return false, fmt.Errorf("pgx value %T is not a boolean", v)
}

func boolConv() conv[bool] {
	return conv[bool]{
		deb: func(raw []byte, _ *FieldSchema) (bool, bool, bool, error) {
			b, err := debBool(raw)
			return b, false, false, err
		},
		pgx: func(v any) (bool, bool, bool, error) {
			b, err := pgxBool(v)
			return b, false, false, err
		},
		literal: func(b bool) string { return strconv.FormatBool(b) },
	}
}

func boolUInt8Conv() conv[uint8] {
	u := func(b bool) uint8 {
		if b {
			return 1
		}
		return 0
	}
	return conv[uint8]{
		deb: func(raw []byte, _ *FieldSchema) (uint8, bool, bool, error) {
			b, err := debBool(raw)
			return u(b), false, false, err
		},
		pgx: func(v any) (uint8, bool, bool, error) {
			b, err := pgxBool(v)
			return u(b), false, false, err
		},
		literal: func(b uint8) string { return strconv.Itoa(int(b)) },
	}
}

func floatConv[T float32 | float64](bits int) conv[T] {
	return conv[T]{
		deb: func(raw []byte, _ *FieldSchema) (T, bool, bool, error) {
			f, err := debFloat(raw, bits)
			return T(f), false, false, err
		},
		pgx: func(v any) (T, bool, bool, error) {
			switch x := v.(type) {
			case float32:
				return T(x), false, false, nil
			case float64:
				return T(x), false, false, nil
			}
			return 0, false, false, fmt.Errorf("pgx value %T is not a float", v)
		},
		literal: func(f T) string { return floatLiteral(float64(f), bits) },
	}
}

func floatLiteral(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// --- decimals ---

func decimalConv(prec, scale, defScale int) conv[decimal.Decimal] {
	fit := func(d decimal.Decimal, special string, err error) (decimal.Decimal, bool, bool, error) {
		if err != nil {
			return d, false, false, err
		}
		if special != "" {
			return d, false, false, fmt.Errorf("numeric %s cannot be stored in Decimal(%d, %d); use the string numeric policy", special, prec, scale)
		}
		d, err = fitDecimal(d, prec, scale)
		return d, false, false, err
	}
	return conv[decimal.Decimal]{
		deb: func(raw []byte, fs *FieldSchema) (decimal.Decimal, bool, bool, error) {
			return fit(debDecimal(raw, fs, defScale))
		},
		pgx:     func(v any) (decimal.Decimal, bool, bool, error) { return fit(pgxDecimal(v)) },
		literal: func(d decimal.Decimal) string { return d.StringFixed(int32(scale)) },
	}
}

// numericTextConv keeps numerics exactly as canonical text: no exponent,
// no trailing fractional zeros ("1.5", "-2", "0"), or NaN/Infinity.
func numericTextConv(defScale int) conv[string] {
	text := func(d decimal.Decimal, special string, err error) (string, bool, bool, error) {
		if err != nil || special != "" {
			return special, false, false, err
		}
		return d.String(), false, false, nil
	}
	return conv[string]{
		deb: func(raw []byte, fs *FieldSchema) (string, bool, bool, error) {
			return text(debDecimal(raw, fs, defScale))
		},
		pgx:     func(v any) (string, bool, bool, error) { return text(pgxDecimal(v)) },
		literal: chconn.QuoteString,
	}
}

// --- strings ---

func pgxText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", fmt.Errorf("pgx value %T is not text", v)
}

func textConv() conv[string] {
	return conv[string]{
		deb: func(raw []byte, _ *FieldSchema) (string, bool, bool, error) {
			if isStringToken(raw) {
				s, err := unquote(raw)
				return s, false, false, err
			}
			// Types sluice does not know arrive as other JSON: keep the text.
			return string(raw), false, false, nil
		},
		pgx: func(v any) (string, bool, bool, error) {
			s, err := pgxText(v)
			return s, false, false, err
		},
		literal: chconn.QuoteString,
	}
}

func jsonConv() conv[string] {
	c := textConv()
	c.pgx = func(v any) (string, bool, bool, error) {
		if s, err := pgxText(v); err == nil {
			return s, false, false, nil
		}
		// pgx decodes json into Go values; select json::text to keep
		// PostgreSQL's own text (key order, spacing).
		b, err := json.Marshal(v)
		return string(b), false, false, err
	}
	return c
}

func inetConv() conv[string] {
	c := textConv()
	c.pgx = func(v any) (string, bool, bool, error) {
		s, err := pgxInet(v)
		return s, false, false, err
	}
	return c
}

func uuidConv() conv[string] {
	return conv[string]{
		deb: func(raw []byte, _ *FieldSchema) (string, bool, bool, error) {
			s, err := unquote(raw)
			if err != nil {
				return "", false, false, err
			}
			u, err := uuid.Parse(s)
			return u.String(), false, false, err
		},
		pgx: func(v any) (string, bool, bool, error) {
			s, err := pgxUUID(v)
			return s, false, false, err
		},
		literal: chconn.QuoteString,
	}
}

func bytesConv() conv[string] {
	return conv[string]{
		deb: func(raw []byte, fs *FieldSchema) (string, bool, bool, error) {
			s, err := unquote(raw)
			if err != nil {
				return "", false, false, err
			}
			if fs.typ() == "string" {
				return "", false, false, fmt.Errorf("bytea arrives as text: set binary.handling.mode=bytes")
			}
			b, err := decodeBase64(s)
			return string(b), false, false, err
		},
		pgx: func(v any) (string, bool, bool, error) {
			if b, ok := v.([]byte); ok {
				return string(b), false, false, nil
			}
			return "", false, false, fmt.Errorf("pgx value %T is not bytea", v)
		},
		literal: chconn.QuoteBytes,
	}
}

// --- temporal ---

// Ranges of ClickHouse's temporal columns, in days or microseconds.
var (
	date32Min = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400   // 1900-01-01
	date32Max = time.Date(2299, 12, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400 // 2299-12-31
	dt64Min   = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	dt64Max   = time.Date(2299, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
)

// applyRange enforces the out-of-range policy on v (or ±infinity).
func applyRange(v int64, inf int, lo, hi int64, pol Policies, what string) (int64, bool, bool, error) {
	if inf == 0 && v >= lo && v <= hi {
		return v, false, false, nil
	}
	switch pol.OutOfRange {
	case RangeClamp:
		if inf > 0 || (inf == 0 && v > hi) {
			return hi, false, true, nil
		}
		return lo, false, true, nil
	case RangeNull:
		return 0, true, true, nil
	}
	if inf != 0 {
		return 0, false, false, fmt.Errorf("%s is ±infinity, outside the ClickHouse range (out-of-range policy: error; choose clamp or null)", what)
	}
	return 0, false, false, fmt.Errorf("%s %d is outside the ClickHouse range (out-of-range policy: error; choose clamp or null)", what, v)
}

// dateConv stores Date32 values (1900-01-01 … 2299-12-31).
func dateConv(pol Policies) conv[time.Time] {
	finish := func(days int64, inf int, err error) (time.Time, bool, bool, error) {
		if err != nil {
			return time.Time{}, false, false, err
		}
		d, null, adj, err := applyRange(days, inf, date32Min, date32Max, pol, "date (days since 1970)")
		return time.Unix(d*86400, 0).UTC(), null, adj, err
	}
	return conv[time.Time]{
		deb: func(raw []byte, fs *FieldSchema) (time.Time, bool, bool, error) {
			days, err := debDateDays(raw, fs)
			return finish(days, 0, err)
		},
		pgx:     func(v any) (time.Time, bool, bool, error) { return finish(pgxDateDays(v)) },
		literal: func(t time.Time) string { return "'" + t.Format("2006-01-02") + "'" },
	}
}

// epochDaysConv stores Int32 days since 1970-01-01 (servers without
// Date32): exact for every PostgreSQL date, and only ±infinity needs the
// policy (clamp gives the Int32 limits).
func epochDaysConv(pol Policies) conv[int32] {
	finish := func(days int64, inf int, err error) (int32, bool, bool, error) {
		if err != nil {
			return 0, false, false, err
		}
		d, null, adj, err := applyRange(days, inf, math.MinInt32, math.MaxInt32, pol, "date (days since 1970)")
		return int32(d), null, adj, err
	}
	return conv[int32]{
		deb: func(raw []byte, fs *FieldSchema) (int32, bool, bool, error) {
			days, err := debDateDays(raw, fs)
			return finish(days, 0, err)
		},
		pgx:     func(v any) (int32, bool, bool, error) { return finish(pgxDateDays(v)) },
		literal: func(d int32) string { return strconv.FormatInt(int64(d), 10) },
	}
}

func microsConv(deb func([]byte, *FieldSchema) (int64, error), pgx func(any) (int64, error)) conv[int64] {
	return conv[int64]{
		deb: func(raw []byte, fs *FieldSchema) (int64, bool, bool, error) {
			n, err := deb(raw, fs)
			return n, false, false, err
		},
		pgx: func(v any) (int64, bool, bool, error) {
			n, err := pgx(v)
			return n, false, false, err
		},
		literal: func(n int64) string { return strconv.FormatInt(n, 10) },
	}
}

// timestampConv stores DateTime64(6, 'UTC') values.
func timestampConv(pol Policies) conv[time.Time] {
	finish := func(ts tsValue, err error) (time.Time, bool, bool, error) {
		if err != nil {
			return time.Time{}, false, false, err
		}
		m, null, adj, err := applyRange(ts.micros, ts.inf, dt64Min, dt64Max, pol, "timestamp (µs since 1970)")
		return time.UnixMicro(m).UTC(), null, adj, err
	}
	return conv[time.Time]{
		deb:     func(raw []byte, fs *FieldSchema) (time.Time, bool, bool, error) { return finish(debTimestamp(raw, fs)) },
		pgx:     func(v any) (time.Time, bool, bool, error) { return finish(pgxTimestamp(v)) },
		literal: func(t time.Time) string { return "'" + t.Format("2006-01-02 15:04:05.000000") + "'" },
	}
}

// epochMicrosConv stores Int64 epoch microseconds (servers without
// DateTime64): exact, and only ±infinity needs the policy.
func epochMicrosConv(pol Policies) conv[int64] {
	finish := func(ts tsValue, err error) (int64, bool, bool, error) {
		if err != nil {
			return 0, false, false, err
		}
		return applyRange(ts.micros, ts.inf, math.MinInt64, math.MaxInt64, pol, "timestamp (µs since 1970)")
	}
	return conv[int64]{
		deb:     func(raw []byte, fs *FieldSchema) (int64, bool, bool, error) { return finish(debTimestamp(raw, fs)) },
		pgx:     func(v any) (int64, bool, bool, error) { return finish(pgxTimestamp(v)) },
		literal: func(n int64) string { return strconv.FormatInt(n, 10) },
	}
}
