package typemap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// Integer checksum forms. Rendering a value as text costs PostgreSQL far
// more than reading it as an integer, so columns whose normalized form
// (norm.go) is an integer are hashed as that integer: a bigint expression
// in PostgreSQL and an Int64 expression in ClickHouse with the same value
// for equal data. The forms are the integers of norm.go: integers, bool
// (0/1), decimals scaled by 10^scale (precision + scale <= 18), dates as
// days, time and interval as microseconds, timestamps as epoch microseconds, and enums
// as the 1-based position of their label in the catalog (0 for a label
// the catalog does not have, which only ClickHouse can hold).
//
// IntForm.PG is NULL exactly when the value is NULL (or, under the null
// out-of-range policy, was stored as NULL). IntForm.CH reads the value
// through assumeNotNull when the ClickHouse column is Nullable: the caller
// tests isNull on the column itself (CHNullable).
type IntForm struct {
	PG, CH string
}

// Infinity markers of dates and timestamps under the error out-of-range
// policy, where such rows are never written: outside every finite value
// either side can hold (and a PostgreSQL µs count past MaxInt64 does not
// fit a bigint anyway).
const (
	infPos = "9223372036854775807"
	infNeg = "(-9223372036854775807)"
)

// IntExprs returns the integer form of column c, read as pgExpr in
// PostgreSQL and chExpr in ClickHouse; ok=false when c has no integer
// form (floats, text, uuid, bytea, json, inet, wide decimals,
// arrays): those are hashed from their normalized text.
func IntExprs(c Column, pgExpr, chExpr string, p chconn.Profile, pol Policies) (IntForm, bool) {
	if c.Array {
		return IntForm{}, false
	}
	ch := chExpr
	if CHNullable(c) {
		ch = "assumeNotNull(" + chExpr + ")"
	}
	v := pgExpr
	switch k := c.Kind(); k {
	case KindInt16, KindInt32:
		return IntForm{PG: v + "::bigint", CH: "toInt64(" + ch + ")"}, true
	case KindInt64:
		return IntForm{PG: v, CH: "toInt64(" + ch + ")"}, true
	case KindBool:
		return IntForm{PG: v + "::int::bigint", CH: "toInt64(" + ch + ")"}, true
	case KindDecimal, KindNumeric, KindMoney:
		scale, ok := c.scaledInt(p, pol)
		if !ok {
			return IntForm{}, false
		}
		if k == KindMoney {
			v += "::numeric"
		}
		return IntForm{
			PG: fmt.Sprintf("(%s * %s)::bigint", v, pow10(scale)),
			CH: fmt.Sprintf("toInt64(toDecimal64(%s, %d) * %s)", ch, scale, pow10(scale)),
		}, true
	case KindEnum:
		return enumInt(c, v, ch), true
	case KindTime:
		return IntForm{PG: fmt.Sprintf("(extract(epoch from %s) * 1000000)::bigint", v), CH: "toInt64(" + ch + ")"}, true
	case KindInterval:
		return IntForm{PG: strings.TrimSuffix(pgIntervalMicros(v), "::text"), CH: "toInt64(" + ch + ")"}, true
	case KindDate:
		return IntForm{
			PG: pgRangeInt(c, v, fmt.Sprintf("(%s - date '1970-01-01')::bigint", v), p, pol),
			CH: "toInt64(toInt32(" + ch + "))",
		}, true
	case KindTimestamp, KindTimestampTZ:
		chTS := "toInt64(" + ch + ")"
		if p.DateTime64 {
			chTS = "toUnixTimestamp64Micro(" + ch + ")"
		}
		if pol.OutOfRange == RangeError {
			return IntForm{PG: pgEpochMicrosInt(c, v), CH: chTS}, true
		}
		return IntForm{PG: pgRangeInt(c, v, pgEpochMicros(c, v), p, pol), CH: chTS}, true
	}
	return IntForm{}, false
}

// CHNullable reports whether c's ClickHouse column is Nullable (arrays are
// not: a NULL array is stored as []).
func CHNullable(c Column) bool { return c.Nullable && !c.Array }

// PGNullable reports whether c's PostgreSQL checksum value can be NULL: a
// nullable column, or a date or timestamp under the null out-of-range
// policy.
func PGNullable(c Column, pol Policies) bool {
	return CHNullable(c) || !c.Array && pol.OutOfRange == RangeNull && isTemporalKind(c.Kind())
}

// enumInt numbers the labels in catalog order: a CASE in PostgreSQL (an
// enum comparison is an OID compare, far cheaper than its text output),
// transform() in ClickHouse.
func enumInt(c Column, pgExpr, chExpr string) IntForm {
	var pg strings.Builder
	pg.WriteString("(CASE " + pgExpr)
	pgLabels, chLabels, nums := make([]string, len(c.EnumLabels)), make([]string, len(c.EnumLabels)), make([]string, len(c.EnumLabels))
	for i, l := range c.EnumLabels {
		fmt.Fprintf(&pg, " WHEN %s THEN %d", pgLiteral(l), i+1)
		pgLabels[i] = pgLiteral(l)
		chLabels[i] = chconn.QuoteString(l)
		nums[i] = strconv.Itoa(i + 1)
	}
	// No ELSE: every PostgreSQL value has a label, and NULL stays NULL.
	pg.WriteString(" END)::bigint")
	return IntForm{
		PG: pg.String(),
		CH: fmt.Sprintf("toInt64(transform(toString(%s), [%s], [%s], 0))", chExpr, strings.Join(chLabels, ", "), strings.Join(nums, ", ")),
	}
}

// pgLiteral quotes a PostgreSQL string literal (standard_conforming_strings).
func pgLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pgEpochMicrosInt is pgRangeInt(pgEpochMicros) under the error policy
// with the common case first: a timestamp inside the float-exact range
// costs two comparisons and date_part (the float8 to bigint cast rounds
// to the nearest integer, as round() would: the float error is far below
// half a microsecond there), not isfinite() as well.
func pgEpochMicrosInt(c Column, v string) string {
	lo, hi := epochFastRange(c)
	return fmt.Sprintf("(CASE WHEN %[1]s > %[2]s AND %[1]s < %[3]s THEN (date_part('epoch', %[1]s) * 1000000)::bigint WHEN isfinite(%[1]s) THEN (extract(epoch from %[1]s) * 1000000)::bigint WHEN %[1]s = 'infinity' THEN %[4]s WHEN %[1]s = '-infinity' THEN %[5]s END)",
		v, lo, hi, infPos, infNeg)
}

// pgRangeInt is pgRange's integer form: clamped, NULL, or, under the error
// policy, ±infinity as the markers infPos/infNeg.
func pgRangeInt(c Column, v, n string, p chconn.Profile, pol Policies) string {
	return pgRangeExpr(c, v, n, infPos, infNeg, p, pol)
}
