package typemap

import (
	"fmt"
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// Checksum normalization: for every column, a PostgreSQL expression and a
// ClickHouse expression that give the same bytes for equal data, whatever
// the ClickHouse version stores (Decimal text differs between 18.16 and
// 26.x, timestamps are Int64 on legacy servers and DateTime64 on modern
// ones). verify hashes columns that have an integer form (hash.go) as that
// integer and the others as this text (one MD5 per value, or, for integer
// keys, one MD5 per segment over the texts in key order); its row-by-row
// compare hashes this text for every column. The forms:
//
//	NULL               \N (never produced by a value, see below)
//	integers           decimal text
//	bool               0 / 1
//	float4/8           IEEE-754 bits as lower-case big-endian hex; NaN as nan
//	decimals, money    scaled integer (x * 10^scale) when precision + scale <= 18, else
//	                   canonical decimal text: no trailing fractional zeros, no exponent
//	timestamps         epoch microseconds (timestamp without time zone: of the UTC wall clock)
//	date               days since 1970-01-01
//	time, interval     microseconds (interval with Debezium's 30.4375-day month)
//	uuid               lower-case text
//	bytea              lower-case hex
//	text-like          <byte length>:<text> (text, varchar, char with its padding,
//	                   json text, enum label, inet text, unknown types)
//	arrays             [e1,e2,...] with each element in the forms above; NULL array = []
//
// The length prefix makes text self-delimiting, so a row can be joined with
// a separator without escaping, and '' (0:) never equals NULL (\N).

// NullTag is the normalized form of NULL on both sides.
const NullTag = `\N`

// Norm is one column's normalized text on each side. Both expressions are
// never NULL.
type Norm struct {
	PG, CH string
}

// NormExprs returns the normalization of column c, read as pgExpr in
// PostgreSQL and chExpr in ClickHouse (usually the quoted column names),
// for data written under profile p and policies pol.
func NormExprs(c Column, pgExpr, chExpr string, p chconn.Profile, pol Policies) (Norm, error) {
	if c.Kind() == KindJSON && pol.JSON == JSONNative && p.JSONType {
		// The JSON type re-serializes documents: its text is not PostgreSQL's.
		return Norm{}, fmt.Errorf("typemap: column %s: the JSON column type has no checksum form; use the json=string policy", c.Name)
	}
	if c.Array {
		return Norm{
			PG: fmt.Sprintf("CASE WHEN %[1]s IS NULL THEN '[]' ELSE '[' || coalesce((SELECT string_agg(%[2]s, ',' ORDER BY sluice_o_) FROM unnest(%[1]s) WITH ORDINALITY AS sluice_u_(sluice_e_, sluice_o_)), '') || ']' END",
				pgExpr, pgNullable(c, "sluice_e_", p, pol)),
			CH: fmt.Sprintf("concat('[', arrayStringConcat(arrayMap(sluice_e_ -> %s, %s), ','), ']')", chNullable(c, "sluice_e_", p, pol), chExpr),
		}, nil
	}
	n := Norm{PG: pgValue(c, pgExpr, p, pol), CH: chValue(c, chExpr, p, pol)}
	if c.Nullable || pol.OutOfRange == RangeNull && isTemporalKind(c.Kind()) {
		n = Norm{PG: pgNullable(c, pgExpr, p, pol), CH: chNullable(c, chExpr, p, pol)}
	}
	return n, nil
}

func isTemporalKind(k Kind) bool {
	return k == KindDate || k == KindTimestamp || k == KindTimestampTZ
}

func pgNullable(c Column, v string, p chconn.Profile, pol Policies) string {
	return fmt.Sprintf("coalesce(%s, '%s')", pgValue(c, v, p, pol), NullTag)
}

func chNullable(c Column, v string, p chconn.Profile, pol Policies) string {
	return fmt.Sprintf("ifNull(%s, '\\\\N')", chValue(c, v, p, pol))
}

// textLike kinds carry free text and get the length prefix.
func textLike(k Kind) bool {
	switch k {
	case KindText, KindBpchar, KindJSON, KindEnum, KindInet:
		return true
	}
	return false
}

// pgValue normalizes a value in PostgreSQL; NULL in gives NULL out.
func pgValue(c Column, v string, p chconn.Profile, pol Policies) string {
	k := c.Kind()
	if textLike(k) {
		t := pgText(k, v)
		return fmt.Sprintf("(octet_length(%[1]s) || ':' || %[1]s)", t)
	}
	switch k {
	case KindInt16, KindInt32, KindInt64:
		return v + "::text"
	case KindBool:
		return fmt.Sprintf("(CASE WHEN %s THEN '1' WHEN NOT %[1]s THEN '0' END)", v)
	case KindFloat32:
		return fmt.Sprintf("(CASE WHEN %[1]s = 'NaN' THEN 'nan' ELSE encode(float4send(%[1]s), 'hex') END)", v)
	case KindFloat64:
		return fmt.Sprintf("(CASE WHEN %[1]s = 'NaN' THEN 'nan' ELSE encode(float8send(%[1]s), 'hex') END)", v)
	case KindDecimal, KindNumeric, KindMoney:
		if c.Kind() == KindMoney {
			v += "::numeric"
		}
		if scale, ok := c.scaledInt(p, pol); ok {
			return fmt.Sprintf("(%s * %s)::bigint::text", v, pow10(scale))
		}
		return fmt.Sprintf("trim_scale(%s)::text", v)
	case KindUUID:
		return v + "::text"
	case KindBytes:
		return fmt.Sprintf("encode(%s, 'hex')", v)
	case KindDate:
		return pgRange(c, v, fmt.Sprintf("(%s - date '1970-01-01')", v), p, pol)
	case KindTime:
		return fmt.Sprintf("(extract(epoch from %s) * 1000000)::bigint::text", v)
	case KindInterval:
		return pgIntervalMicros(v)
	case KindTimestamp, KindTimestampTZ:
		return pgRange(c, v, pgEpochMicros(c, v), p, pol)
	}
	return v + "::text"
}

// pgEpochMicros is a timestamp as epoch microseconds. extract(epoch)
// computes in numeric, which costs more than the md5 of the row; the float8
// date_part is exact after rounding while |µs| < 2^51, so it serves
// 1906-08-16 .. 2033-05-18 (±2e9 s) and extract the rest.
func pgEpochMicros(c Column, v string) string {
	lo, hi := epochFastRange(c)
	return fmt.Sprintf("(CASE WHEN %[1]s > %[2]s AND %[1]s < %[3]s THEN round(date_part('epoch', %[1]s) * 1000000)::bigint ELSE (extract(epoch from %[1]s) * 1000000)::bigint END)", v, lo, hi)
}

// epochFastRange is the range (exclusive) where date_part('epoch') times
// 10^6 is exact after rounding: |µs| < 2^51.
func epochFastRange(c Column) (lo, hi string) {
	if c.Kind() == KindTimestampTZ {
		return "'1906-08-16 20:26:40+00'", "'2033-05-18 03:33:20+00'"
	}
	return "'1906-08-16 20:26:40'", "'2033-05-18 03:33:20'"
}

// scaledInt reports whether a decimal column's values are compared as
// integers scaled by 10^scale: when it is a ClickHouse Decimal whose
// scaled values fit Int64 (precision + scale <= 18). Integer text is
// cheaper on both sides than trimming decimal text with a regular
// expression, which 18.16 needs because it prints 1.5 as 1.50.
func (c Column) scaledInt(p chconn.Profile, pol Policies) (int, bool) {
	prec, scale, ok := c.decimalShape(p, pol)
	if !ok || scale < 0 || prec+scale > 18 {
		return 0, false
	}
	return scale, true
}

func pow10(n int) string { return "1" + strings.Repeat("0", n) }

// pgText is the text PostgreSQL holds for a text-like value, as the
// writers store it: char(n) keeps its padding (a cast to text would trim
// it), and inet with a full-length mask is the bare address.
func pgText(k Kind, v string) string {
	switch k {
	case KindBpchar:
		// concat() prints through the type's output function, which keeps
		// the padding, but turns NULL into ''.
		return fmt.Sprintf("(CASE WHEN %[1]s IS NOT NULL THEN concat(%[1]s) END)", v)
	case KindInet:
		return fmt.Sprintf("(CASE WHEN masklen(%[1]s) = (CASE family(%[1]s) WHEN 4 THEN 32 ELSE 128 END) THEN host(%[1]s) ELSE %[1]s::text END)", v)
	}
	return v + "::text"
}

// pgIntervalMicros applies Debezium's MicroDuration: months of 30.4375
// days, days of 24 h, plus the time part. extract(epoch) counts a month as
// 30 days and a year as 365.25, so the time part is what remains of it.
func pgIntervalMicros(v string) string {
	months := fmt.Sprintf("(extract(year from %[1]s) * 12 + extract(month from %[1]s))", v)
	days := fmt.Sprintf("extract(day from %s)", v)
	timePart := fmt.Sprintf("(extract(epoch from %[1]s) * 1000000 - (extract(year from %[1]s) * 365.25 + extract(month from %[1]s) * 30 + %[2]s) * 86400000000)", v, days)
	return fmt.Sprintf("(%s * %d + %s * 86400000000 + %s)::bigint::text", months, int64(microsPerMonth), days, timePart)
}

// rangeBounds is the ClickHouse range of a date (days) or timestamp (µs)
// column; ok=false when only ±infinity is out of range (lo and hi are then
// what clamp stores for it).
func rangeBounds(k Kind, p chconn.Profile) (lo, hi int64, ok bool) {
	switch {
	case k == KindDate && p.Date32:
		return date32Min, date32Max, true
	case k == KindDate:
		return -1 << 31, 1<<31 - 1, false // Int32 days since 1970-01-01
	case p.DateTime64:
		return dt64Min, dt64Max, true
	}
	return -1 << 63, 1<<63 - 1, false // Int64 epoch µs
}

// pgRange renders the integer form n of a date or timestamp v the way the
// writers stored it under the out-of-range policy: clamped to the column
// range, NULL, or (error policy) as is, since such a row was never written;
// ±infinity, which has no integer form, is then 'inf' / '-inf'.
func pgRange(c Column, v, n string, p chconn.Profile, pol Policies) string {
	if pol.OutOfRange == RangeClamp || pol.OutOfRange == RangeNull {
		return pgRangeExpr(c, v, n, "", "", p, pol) + "::text"
	}
	return pgRangeExpr(c, v, n+"::text", "'inf'", "'-inf'", p, pol)
}

// pgRangeExpr is the CASE both forms share: n clamped or NULLed under
// those policies; under the error policy n for finite values and
// infPos/infNeg for ±infinity.
func pgRangeExpr(c Column, v, n, infPos, infNeg string, p chconn.Profile, pol Policies) string {
	lo, hi, limited := rangeBounds(c.Kind(), p)
	switch pol.OutOfRange {
	case RangeClamp:
		inner := n
		if limited {
			inner = fmt.Sprintf("least(greatest(%s, %d), %d)", n, lo, hi)
		}
		// greatest/least skip NULLs: test for NULL first.
		return fmt.Sprintf("(CASE WHEN %[1]s IS NULL THEN NULL WHEN %[1]s = 'infinity' THEN %[2]d WHEN %[1]s = '-infinity' THEN %[3]d ELSE %[4]s END)", v, hi, lo, inner)
	case RangeNull:
		cond := fmt.Sprintf("isfinite(%s)", v)
		if limited {
			cond += fmt.Sprintf(" AND %s BETWEEN %d AND %d", n, lo, hi)
		}
		return fmt.Sprintf("(CASE WHEN %s THEN %s END)", cond, n)
	}
	return fmt.Sprintf("(CASE WHEN isfinite(%[1]s) THEN %[2]s WHEN %[1]s = 'infinity' THEN %[3]s WHEN %[1]s = '-infinity' THEN %[4]s END)", v, n, infPos, infNeg)
}

// chValue normalizes a value in ClickHouse; NULL in gives NULL out.
func chValue(c Column, v string, p chconn.Profile, pol Policies) string {
	k := c.Kind()
	if textLike(k) {
		t := v
		if k == KindEnum {
			t = "toString(" + v + ")" // LowCardinality
		}
		return fmt.Sprintf("concat(toString(length(%[1]s)), ':', %[1]s)", t)
	}
	switch k {
	case KindInt16, KindInt32, KindInt64, KindTime, KindInterval:
		return "toString(" + v + ")"
	case KindBool:
		return "toString(toUInt8(" + v + "))"
	case KindFloat32, KindFloat64:
		// reinterpretAsString drops trailing zero bytes (the high bytes of
		// a little-endian float: +0.0 becomes ''), so the hex is padded
		// back to the full width on the left, after the reverse.
		width := 16
		if k == KindFloat32 {
			width = 8
		}
		hex := fmt.Sprintf("lower(hex(reverse(reinterpretAsString(%s))))", v)
		return fmt.Sprintf("if(isNaN(%[1]s), 'nan', concat(substring('%[2]s', 1, %[3]d - length(%[4]s)), %[4]s))",
			v, strings.Repeat("0", width), width, hex)
	case KindDecimal, KindNumeric, KindMoney:
		if _, _, ok := c.decimalShape(p, pol); !ok {
			return v // already canonical text (string policy)
		}
		if scale, ok := c.scaledInt(p, pol); ok {
			return fmt.Sprintf("toString(toInt64(toDecimal64(%s, %d) * %s))", v, scale, pow10(scale))
		}
		// 18.16 prints Decimal(12,2) 1.5 as 1.50, 26.x as 1.5: trim both.
		return fmt.Sprintf(`replaceRegexpOne(toString(%s), '(\\.[0-9]*[1-9])0+$|\\.0+$', '\\1')`, v)
	case KindUUID:
		return "toString(" + v + ")"
	case KindBytes:
		return "lower(hex(" + v + "))"
	case KindDate:
		return "toString(toInt32(" + v + "))"
	case KindTimestamp, KindTimestampTZ:
		if p.DateTime64 {
			return "toString(toUnixTimestamp64Micro(" + v + "))"
		}
		return "toString(" + v + ")"
	}
	return "toString(" + v + ")"
}
