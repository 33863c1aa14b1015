package typemap

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// FieldSchema is the part of a Debezium/Kafka Connect field schema that
// decoding needs. The zero value means "no schema" (schemas.enable=false):
// the value is then decoded as the connector's defaults produce it
// (decimal.handling.mode=precise, time.precision.mode=adaptive,
// interval.handling.mode=numeric, binary.handling.mode=bytes).
type FieldSchema struct {
	Type       string            // int32, int64, string, bytes, struct, array, ...
	Name       string            // semantic name, e.g. io.debezium.time.MicroTimestamp
	Parameters map[string]string // e.g. scale
	Items      *FieldSchema      // element schema of arrays
}

func (fs *FieldSchema) name() string {
	if fs == nil {
		return ""
	}
	return fs.Name
}

func (fs *FieldSchema) typ() string {
	if fs == nil {
		return ""
	}
	return fs.Type
}

func (fs *FieldSchema) items() *FieldSchema {
	if fs == nil {
		return nil
	}
	return fs.Items
}

// ErrUnavailable marks Debezium's unchanged-TOAST placeholder. Nothing is
// appended: the caller must fill the value from the stored row.
var ErrUnavailable = errors.New("typemap: value unavailable (unchanged TOAST placeholder)")

// Semantic names used by Debezium and Kafka Connect.
const (
	nameDecimal       = "org.apache.kafka.connect.data.Decimal"
	nameVarDecimal    = "io.debezium.data.VariableScaleDecimal"
	nameDate          = "io.debezium.time.Date"
	nameConnectDate   = "org.apache.kafka.connect.data.Date"
	nameTime          = "io.debezium.time.Time"
	nameConnectTime   = "org.apache.kafka.connect.data.Time"
	nameMicroTime     = "io.debezium.time.MicroTime"
	nameNanoTime      = "io.debezium.time.NanoTime"
	nameTimestamp     = "io.debezium.time.Timestamp"
	nameConnectTS     = "org.apache.kafka.connect.data.Timestamp"
	nameMicroTS       = "io.debezium.time.MicroTimestamp"
	nameNanoTS        = "io.debezium.time.NanoTimestamp"
	nameMicroDuration = "io.debezium.time.MicroDuration"
)

// Debezium's ±infinity for timestamp columns (pgjdbc's constants), as
// MicroTimestamp/Timestamp values; NanoTimestamp uses Long.MAX/MIN.
const (
	debPosInfinity = 9223372036825200000
	debNegInfinity = -9223372036832400000
)

// --- numbers ---

func debInt(raw []byte, lo, hi int64) (int64, error) {
	n, err := parseInt64(raw)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("integer %d out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}

func debBool(raw []byte) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %.40q", raw)
}

func parseSpecialFloat(s string) (float64, bool) {
	switch s {
	case "NaN", "NAN", "nan":
		return math.NaN(), true
	case "Infinity", "POSITIVE_INFINITY", "inf", "+Infinity":
		return math.Inf(1), true
	case "-Infinity", "NEGATIVE_INFINITY", "-inf":
		return math.Inf(-1), true
	}
	return 0, false
}

func debFloat(raw []byte, bits int) (float64, error) {
	if isStringToken(raw) {
		s, err := unquote(raw)
		if err != nil {
			return 0, err
		}
		if f, ok := parseSpecialFloat(s); ok {
			return f, nil
		}
		return strconv.ParseFloat(s, bits)
	}
	f, err := strconv.ParseFloat(string(raw), bits)
	if err != nil {
		return 0, fmt.Errorf("want a number, got %.40q", raw)
	}
	return f, nil
}

// --- decimals ---

// unscaledFromBase64 decodes Kafka Connect Decimal bytes: base64 of a
// big-endian two's-complement integer.
func unscaledFromBase64(b64 string) (*big.Int, error) {
	buf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("decimal bytes: %w", err)
	}
	n := new(big.Int).SetBytes(buf)
	if len(buf) > 0 && buf[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(buf))))
	}
	return n, nil
}

func schemaScale(fs *FieldSchema, def int) (int, error) {
	if fs == nil || fs.Parameters == nil {
		return def, nil
	}
	s, ok := fs.Parameters["scale"]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("schema scale %q: %w", s, err)
	}
	return n, nil
}

// debDecimal decodes any of Debezium's decimal encodings: base64 bytes
// with the scale from the schema, a VariableScaleDecimal struct, a JSON
// number (decimal.format=NUMERIC) or text (decimal.handling.mode=string).
// special is "NaN", "Infinity" or "-Infinity" for PostgreSQL's specials.
func debDecimal(raw []byte, fs *FieldSchema, defScale int) (d decimal.Decimal, special string, err error) {
	switch {
	case len(raw) > 0 && raw[0] == '{':
		return debVarDecimal(raw)
	case isStringToken(raw):
		s, err := unquote(raw)
		if err != nil {
			return d, "", err
		}
		if fs.typ() == "string" || fs.typ() == "double" {
			return decimalFromText(s)
		}
		scale, err := schemaScale(fs, defScale)
		if err != nil {
			return d, "", err
		}
		n, err := unscaledFromBase64(s)
		if err != nil {
			return d, "", err
		}
		return decimal.NewFromBigInt(n, int32(-scale)), "", nil
	}
	return decimalFromText(string(raw))
}

func decimalFromText(s string) (decimal.Decimal, string, error) {
	if f, ok := parseSpecialFloat(s); ok {
		switch {
		case math.IsNaN(f):
			return decimal.Decimal{}, "NaN", nil
		case f > 0:
			return decimal.Decimal{}, "Infinity", nil
		}
		return decimal.Decimal{}, "-Infinity", nil
	}
	if s == "" || strings.ContainsAny(s, "eE") && len(s) > 400 {
		return decimal.Decimal{}, "", fmt.Errorf("bad decimal %.40q", s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return d, "", fmt.Errorf("bad decimal %.40q", s)
	}
	return d, "", nil
}

func debVarDecimal(raw []byte) (decimal.Decimal, string, error) {
	var scale int64
	var value string
	var haveValue bool
	err := eachField(raw, func(key string, val []byte) error {
		var err error
		switch key {
		case "scale":
			scale, err = debInt(val, -1<<20, 1<<20)
		case "value":
			value, err = unquote(val)
			haveValue = err == nil
		}
		return err
	})
	if err != nil {
		return decimal.Decimal{}, "", fmt.Errorf("VariableScaleDecimal: %w", err)
	}
	if !haveValue {
		return decimal.Decimal{}, "", errors.New("VariableScaleDecimal: no value")
	}
	n, err := unscaledFromBase64(value)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	return decimal.NewFromBigInt(n, int32(-scale)), "", nil
}

// fitDecimal checks that d is representable exactly in Decimal(prec, scale).
func fitDecimal(d decimal.Decimal, prec, scale int) (decimal.Decimal, error) {
	if !d.Equal(d.Truncate(int32(scale))) {
		return d, fmt.Errorf("%s has more than %d fractional digits", d.String(), scale)
	}
	limit := decimal.New(1, int32(prec-scale))
	if d.Abs().GreaterThanOrEqual(limit) {
		return d, fmt.Errorf("%s does not fit Decimal(%d, %d)", d.String(), prec, scale)
	}
	return d, nil
}

// --- temporal ---

// debDateDays decodes a date as days since 1970-01-01.
func debDateDays(raw []byte, fs *FieldSchema) (int64, error) {
	if isStringToken(raw) { // io.debezium.time.IsoDate "2017-09-15Z"
		s, err := unquote(raw)
		if err != nil {
			return 0, err
		}
		t, err := time.Parse("2006-01-02", strings.TrimSuffix(s, "Z"))
		if err != nil {
			return 0, fmt.Errorf("bad date %q", s)
		}
		return t.Unix() / 86400, nil
	}
	return debInt(raw, math.MinInt32, math.MaxInt32)
}

// debTimeMicros decodes a time of day as microseconds after midnight.
func debTimeMicros(raw []byte, fs *FieldSchema) (int64, error) {
	if isStringToken(raw) { // io.debezium.time.IsoTime "04:05:11.789Z"
		s, err := unquote(raw)
		if err != nil {
			return 0, err
		}
		t, err := time.Parse("15:04:05.999999999", strings.TrimSuffix(s, "Z"))
		if err != nil {
			return 0, fmt.Errorf("bad time %q", s)
		}
		return int64(t.Hour())*3600e6 + int64(t.Minute())*60e6 + int64(t.Second())*1e6 + int64(t.Nanosecond()/1000), nil
	}
	n, err := parseInt64(raw)
	if err != nil {
		return 0, err
	}
	switch fs.name() {
	case nameTime, nameConnectTime:
		n *= 1000
	case nameNanoTime:
		n /= 1000
	}
	if n < 0 || n > 86400e6 {
		return 0, fmt.Errorf("time of day %d µs out of range", n)
	}
	return n, nil
}

// tsValue is a decoded timestamp: epoch microseconds, or ±infinity.
type tsValue struct {
	micros int64
	inf    int // +1, -1 or 0
}

// debTimestamp decodes timestamp and timestamptz in every Debezium form.
func debTimestamp(raw []byte, fs *FieldSchema) (tsValue, error) {
	if isStringToken(raw) {
		if us, ok := fastUTCMicros(raw[1 : len(raw)-1]); ok {
			return tsValue{micros: us}, nil
		}
		s, err := unquote(raw)
		if err != nil {
			return tsValue{}, err
		}
		return parseISOTimestamp(s)
	}
	n, err := parseInt64(raw)
	if err != nil {
		return tsValue{}, err
	}
	switch fs.name() {
	case nameTimestamp, nameConnectTS:
		if n == debPosInfinity || n == debNegInfinity {
			return infinity(n), nil
		}
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return tsValue{}, fmt.Errorf("timestamp %d ms out of range", n)
		}
		return tsValue{micros: n * 1000}, nil
	case nameNanoTS:
		if n == math.MaxInt64 || n == math.MinInt64 {
			return infinity(n), nil
		}
		return tsValue{micros: floorDiv(n, 1000)}, nil
	}
	if n == debPosInfinity || n == debNegInfinity {
		return infinity(n), nil
	}
	return tsValue{micros: n}, nil
}

func infinity(n int64) tsValue {
	if n > 0 {
		return tsValue{inf: 1}
	}
	return tsValue{inf: -1}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// parseISOTimestamp reads ZonedTimestamp/IsoTimestamp text, including
// "infinity", "-infinity" and signed years beyond 9999.
func parseISOTimestamp(s string) (tsValue, error) {
	switch s {
	case "infinity", "+infinity":
		return tsValue{inf: 1}, nil
	case "-infinity":
		return tsValue{inf: -1}, nil
	}
	year, rest, err := splitYear(s)
	if err != nil {
		return tsValue{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, "2000"+rest)
	if err != nil {
		return tsValue{}, fmt.Errorf("bad timestamp %q", s)
	}
	t = t.UTC()
	t = time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if year > 294000 || year < -290000 {
		return tsValue{}, fmt.Errorf("timestamp %q out of range", s)
	}
	return tsValue{micros: t.UnixMicro()}, nil
}

// fastUTCMicros reads Debezium's usual ZonedTimestamp text,
// YYYY-MM-DDTHH:MM:SS[.fraction]Z with a 4-digit year, without
// time.Parse: every other form (offsets, long or negative years, bad
// fields) returns false and goes through parseISOTimestamp.
func fastUTCMicros(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return 0, false
	}
	num := func(lo, hi int) (int, bool) {
		n := 0
		for _, c := range b[lo:hi] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	micros := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, false
		}
		digits := frac[1:]
		n, ok := num(20, 20+len(digits))
		if !ok {
			return 0, false
		}
		for i := len(digits); i < 9; i++ {
			n *= 10
		}
		micros = n / 1000 // nanoseconds to microseconds, truncated as time.UnixMicro does
	}
	days := daysFromCivil(year, month, day)
	return ((days*24+int64(hour))*60+int64(minute))*60*1e6 + int64(sec)*1e6 + int64(micros), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// splitYear separates "+21016" or "-4713" or "2025" from "-03-01T...".
func splitYear(s string) (int, string, error) {
	i := 0
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		i = 1
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j-i < 4 || j-i > 6 || j >= len(s) || s[j] != '-' {
		return 0, "", fmt.Errorf("bad timestamp %q", s)
	}
	year, _ := strconv.Atoi(s[i:j])
	if s[0] == '-' {
		year = -year
	}
	return year, s[j:], nil
}

// debIntervalMicros decodes MicroDuration (microseconds, a month being
// 30.4375 days) or the ISO-8601 text of interval.handling.mode=string,
// converted with the same approximation so both modes agree.
func debIntervalMicros(raw []byte, fs *FieldSchema) (int64, error) {
	if !isStringToken(raw) {
		return parseInt64(raw)
	}
	s, err := unquote(raw)
	if err != nil {
		return 0, err
	}
	return isoDurationMicros(s)
}

// Microseconds per unit, as in Debezium's MicroDuration.durationMicros.
const (
	microsPerDay   = 86400 * 1e6
	microsPerMonth = 2629800 * 1e6 // 30.4375 days
)

func isoDurationMicros(s string) (int64, error) {
	if len(s) < 2 || s[0] != 'P' {
		return 0, fmt.Errorf("bad ISO duration %q", s)
	}
	var total decimal.Decimal
	inTime := false
	num := ""
	for _, c := range s[1:] {
		switch {
		case c == 'T':
			inTime = true
		case c == '-' || c == '.' || c == '+' || (c >= '0' && c <= '9'):
			num += string(c)
		default:
			v, err := decimal.NewFromString(num)
			if err != nil {
				return 0, fmt.Errorf("bad ISO duration %q", s)
			}
			unit, ok := durationUnit(c, inTime)
			if !ok {
				return 0, fmt.Errorf("bad ISO duration %q", s)
			}
			total = total.Add(v.Mul(decimal.NewFromInt(unit)))
			num = ""
		}
	}
	if num != "" {
		return 0, fmt.Errorf("bad ISO duration %q", s)
	}
	return total.Round(0).IntPart(), nil
}

func durationUnit(c rune, inTime bool) (int64, bool) {
	switch {
	case c == 'Y' && !inTime:
		return 12 * microsPerMonth, true
	case c == 'M' && !inTime:
		return microsPerMonth, true
	case c == 'W' && !inTime:
		return 7 * microsPerDay, true
	case c == 'D' && !inTime:
		return microsPerDay, true
	case c == 'H' && inTime:
		return 3600e6, true
	case c == 'M' && inTime:
		return 60e6, true
	case c == 'S' && inTime:
		return 1e6, true
	}
	return 0, false
}
