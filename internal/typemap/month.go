package typemap

import (
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// MonthExpr is the ClickHouse expression giving the UTC calendar month of
// x, a stored value (or an aggregate such as min(col)) of the date or
// timestamp column c, as year*100 + month: toYYYYMM where the column type
// has it. ddl partitions by it, so its values are the partition ids.
//
//   - Date32, DateTime64 (modern): toYYYYMM(x).
//   - Int64 epoch µs (legacy timestamp): toYYYYMM(toDateTime(intDiv(x, 1000000), 'UTC')).
//   - Int32 days since 1970-01-01 (legacy date): DaysMonthExpr.
func MonthExpr(c Column, x string, p chconn.Profile) string {
	switch k := c.Kind(); {
	case k == KindDate && !p.Date32:
		return DaysMonthExpr(x)
	case k != KindDate && !p.DateTime64:
		return "toYYYYMM(toDateTime(intDiv(" + x + ", 1000000), 'UTC'))"
	}
	return "toYYYYMM(" + x + ")"
}

// DaysMonthExpr is year*100 + month of x days since 1970-01-01, in the
// proleptic Gregorian calendar with astronomical years (1 BC = 0, as Go's
// time package; PostgreSQL's extract(year) says -1 for 1 BC), for any
// Int32 x, on every ClickHouse version from 18.16: 202401 for 2024-01,
// 196503 for 1965-03, -471289 for 4714-11-24 BC (PostgreSQL's first day).
//
// toDate(x) alone covers only 1970 … 2105 on 18.16 (Date is UInt16 days
// and 18.16's calendar tables end in 2105), so x is folded into that
// window without changing its month and day:
//
//   - the Gregorian calendar repeats every 400 years = 146097 days, so
//     r = x mod 146097 (made non-negative by adding 14700 cycles, which
//     exceed 2^31 days) is a day of 1970-01-01 … 2369-12-31, 400·cycles
//     years away from x;
//   - from 2100-03-01 on (r >= 47541), r - 36524 is the same month and day
//     100 years earlier: those 100 years hold one of 2100, 2200, 2300 (not
//     leap) and never 2000 (leap), so exactly 24 leap days. k = 0 … 3 such
//     steps bring r below 47541, i.e. into 2000-03-01 … 2100-02-28.
//
// Checked on 18.16 against PostgreSQL for every day of 4714-11-24 BC …
// 10183-11-24 and the last 200001 days up to 5874897-12-31 (the integration
// test TestDaysMonthExprAgainstPostgres repeats this on a sample).
func DaysMonthExpr(x string) string {
	z := "(toInt64(" + x + ") + 2147625900)" // + 14700 · 146097
	r := "(" + z + " % 146097)"
	k := "intDiv(greatest(" + r + " - 11017, 0), 36524)" // 11017 = 2000-03-01
	e := "toYYYYMM(toDate(toUInt16({r} - 36524 * {k}))) + (100 * {k} + 400 * (intDiv({z}, 146097) - 14700)) * 100"
	return "(" + strings.NewReplacer("{r}", r, "{k}", k, "{z}", z).Replace(e) + ")"
}
