package typemap

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
)

func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad base64: %w", err)
	}
	return b, nil
}

// pgxDecimal reads numeric and money values from pgx.
func pgxDecimal(v any) (decimal.Decimal, string, error) {
	switch x := v.(type) {
	case pgtype.Numeric:
		switch {
		case !x.Valid:
			return decimal.Decimal{}, "", fmt.Errorf("NULL numeric")
		case x.NaN:
			return decimal.Decimal{}, "NaN", nil
		case x.InfinityModifier == pgtype.Infinity:
			return decimal.Decimal{}, "Infinity", nil
		case x.InfinityModifier == pgtype.NegativeInfinity:
			return decimal.Decimal{}, "-Infinity", nil
		}
		return decimal.NewFromBigInt(x.Int, x.Exp), "", nil
	case decimal.Decimal:
		return x, "", nil
	case string:
		// money as text ("$1,234.56") is locale-dependent: PGSelectExpr
		// selects money::numeric; this only strips the common decoration.
		s := strings.NewReplacer("$", "", ",", "").Replace(x)
		return decimalFromText(s)
	case int64:
		return decimal.NewFromInt(x), "", nil
	case int32:
		return decimal.NewFromInt(int64(x)), "", nil
	}
	return decimal.Decimal{}, "", fmt.Errorf("pgx value %T is not numeric", v)
}

func pgxUUID(v any) (string, error) {
	switch x := v.(type) {
	case [16]byte:
		return uuid.UUID(x).String(), nil
	case pgtype.UUID:
		return uuid.UUID(x.Bytes).String(), nil
	case uuid.UUID:
		return x.String(), nil
	case string:
		u, err := uuid.Parse(x)
		return u.String(), err
	}
	return "", fmt.Errorf("pgx value %T is not a uuid", v)
}

// pgxInet gives PostgreSQL's text form: the bare address for a full-length
// mask, address/bits otherwise (what Debezium sends).
func pgxInet(v any) (string, error) {
	switch x := v.(type) {
	case netip.Prefix:
		if x.Bits() == x.Addr().BitLen() {
			return x.Addr().String(), nil
		}
		return x.String(), nil
	case netip.Addr:
		return x.String(), nil
	case string:
		return x, nil
	}
	return "", fmt.Errorf("pgx value %T is not inet", v)
}

func pgxDateDays(v any) (int64, int, error) {
	switch x := v.(type) {
	case time.Time:
		return floorDiv(x.Unix(), 86400), 0, nil
	case pgtype.Date:
		if x.InfinityModifier != pgtype.Finite {
			return 0, int(x.InfinityModifier), nil
		}
		return floorDiv(x.Time.Unix(), 86400), 0, nil
	}
	return 0, 0, fmt.Errorf("pgx value %T is not a date", v)
}

func pgxTimeMicros(v any) (int64, error) {
	switch x := v.(type) {
	case pgtype.Time:
		return x.Microseconds, nil
	case time.Duration:
		return x.Microseconds(), nil
	case string:
		return debTimeMicros([]byte(`"`+x+`"`), nil)
	}
	return 0, fmt.Errorf("pgx value %T is not a time", v)
}

// pgxIntervalMicros applies Debezium's MicroDuration approximation
// (a month is 30.4375 days) so snapshot and stream agree.
func pgxIntervalMicros(v any) (int64, error) {
	switch x := v.(type) {
	case pgtype.Interval:
		return int64(x.Months)*microsPerMonth + int64(x.Days)*microsPerDay + x.Microseconds, nil
	case time.Duration:
		return x.Microseconds(), nil
	}
	return 0, fmt.Errorf("pgx value %T is not an interval", v)
}

func pgxTimestamp(v any) (tsValue, error) {
	switch x := v.(type) {
	case time.Time:
		// timestamp without time zone comes as a UTC wall clock: the
		// same convention as Debezium.
		return tsValue{micros: x.UnixMicro()}, nil
	case pgtype.Timestamp:
		if x.InfinityModifier != pgtype.Finite {
			return tsValue{inf: int(x.InfinityModifier)}, nil
		}
		return tsValue{micros: x.Time.UnixMicro()}, nil
	case pgtype.Timestamptz:
		if x.InfinityModifier != pgtype.Finite {
			return tsValue{inf: int(x.InfinityModifier)}, nil
		}
		return tsValue{micros: x.Time.UnixMicro()}, nil
	case pgtype.InfinityModifier:
		return tsValue{inf: int(x)}, nil
	}
	return tsValue{}, fmt.Errorf("pgx value %T is not a timestamp", v)
}

// pgxArray reads any Go slice pgx returns for an array column.
func pgxArray[E any](v any, el conv[E]) ([]*E, bool, bool, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, false, false, fmt.Errorf("pgx value %T is not an array", v)
	}
	out := make([]*E, 0, rv.Len())
	adj := false
	for i := 0; i < rv.Len(); i++ {
		ev := rv.Index(i)
		for ev.Kind() == reflect.Interface || ev.Kind() == reflect.Pointer {
			if ev.IsNil() {
				break
			}
			ev = ev.Elem()
		}
		if (ev.Kind() == reflect.Interface || ev.Kind() == reflect.Pointer) && ev.IsNil() {
			out = append(out, nil)
			continue
		}
		x, null, a, err := el.pgx(ev.Interface())
		if err != nil {
			return nil, false, false, fmt.Errorf("element %d: %w", i, err)
		}
		adj = adj || a
		if null {
			out = append(out, nil)
		} else {
			out = append(out, &x)
		}
	}
	return out, false, adj, nil
}
