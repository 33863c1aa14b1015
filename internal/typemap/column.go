// Package typemap is sluice's type contract: for each PostgreSQL type it
// knows the ClickHouse column type (per server capability profile and user
// policies), how a Debezium JSON value and a pgx value of it are decoded
// into a column buffer, and the SQL expressions that normalize it for
// checksums on both sides. README.md in this folder is the user-facing table.
package typemap

import (
	"fmt"
	"strings"

	"github.com/sluice-cdc/sluice/internal/chconn"
)

// Column describes one source column as read from the PostgreSQL catalog.
type Column struct {
	Name string
	// Type is the base type's pg_type.typname (the element type for arrays):
	// int2, int4, int8, bool, float4, float8, numeric, money, text, varchar,
	// bpchar, uuid, json, jsonb, bytea, date, time, timestamp, timestamptz,
	// interval, inet; any other name with EnumLabels set is an enum.
	Type string
	// Precision and Scale of numeric(p,s); Precision 0 means unconstrained.
	Precision, Scale int
	// Length of varchar(n)/char(n); 0 when unbounded.
	Length   int
	Nullable bool
	// Array marks a PostgreSQL array of Type. PostgreSQL does not enforce the
	// number of dimensions, so sluice treats every array as one-dimensional.
	Array      bool
	EnumLabels []string
}

// Kind is the type-contract family of a column.
type Kind int

const (
	KindText Kind = iota // text, varchar, char, inet and unknown types
	KindInt16
	KindInt32
	KindInt64
	KindBool
	KindFloat32
	KindFloat64
	KindDecimal // numeric(p,s)
	KindNumeric // unconstrained numeric
	KindMoney
	KindUUID
	KindJSON
	KindBytes
	KindDate
	KindTime
	KindTimestamp
	KindTimestampTZ
	KindInterval
	KindEnum
	KindInet
	KindBpchar
)

var kindByType = map[string]Kind{
	"int2": KindInt16, "smallint": KindInt16,
	"int4": KindInt32, "integer": KindInt32, "int": KindInt32,
	"int8": KindInt64, "bigint": KindInt64, "oid": KindInt64,
	"bool": KindBool, "boolean": KindBool,
	"float4": KindFloat32, "real": KindFloat32,
	"float8": KindFloat64, "double precision": KindFloat64,
	"money": KindMoney,
	"text":  KindText, "varchar": KindText, "character varying": KindText, "name": KindText, "citext": KindText,
	"bpchar": KindBpchar, "character": KindBpchar, "char": KindBpchar,
	"uuid": KindUUID,
	"json": KindJSON, "jsonb": KindJSON,
	"bytea": KindBytes,
	"date":  KindDate,
	"time":  KindTime, "time without time zone": KindTime,
	"timestamp": KindTimestamp, "timestamp without time zone": KindTimestamp,
	"timestamptz": KindTimestampTZ, "timestamp with time zone": KindTimestampTZ,
	"interval": KindInterval,
	"inet":     KindInet, "cidr": KindInet,
}

// Kind classifies the column; unknown types are carried as text.
func (c Column) Kind() Kind {
	if len(c.EnumLabels) > 0 {
		return KindEnum
	}
	if c.Type == "numeric" || c.Type == "decimal" {
		if c.Precision == 0 {
			return KindNumeric
		}
		return KindDecimal
	}
	if k, ok := kindByType[strings.ToLower(c.Type)]; ok {
		return k
	}
	return KindText
}

// NumericPolicy says how unconstrained numeric is stored.
type NumericPolicy string

const (
	NumericDecimal NumericPolicy = "decimal" // Decimal(NumericPrecision, NumericScale); values that do not fit are errors
	NumericString  NumericPolicy = "string"  // exact canonical text
)

// RangePolicy says what happens to a date or timestamp outside the
// ClickHouse column's range (including ±infinity). Never silent: error
// stops the batch, clamp and null are counted and logged by the caller
// through the returned Adjusted count.
type RangePolicy string

const (
	RangeError RangePolicy = "error"
	RangeClamp RangePolicy = "clamp"
	RangeNull  RangePolicy = "null"
)

// JSONPolicy says how json/jsonb are stored.
type JSONPolicy string

const (
	JSONString JSONPolicy = "string" // String holding PostgreSQL's text form
	JSONNative JSONPolicy = "json"   // the JSON type where the server has it, String elsewhere
)

// Policies are the user's choices where no mapping is exact everywhere.
type Policies struct {
	Numeric          NumericPolicy
	NumericPrecision int
	NumericScale     int
	OutOfRange       RangePolicy
	JSON             JSONPolicy
	MoneyScale       int
	// Placeholder is Debezium's unavailable.value.placeholder.
	Placeholder string
}

// DefaultPolicies are used unless the user overrides them.
func DefaultPolicies() Policies {
	return Policies{
		Numeric:          NumericDecimal,
		NumericPrecision: 38,
		NumericScale:     10,
		OutOfRange:       RangeError,
		JSON:             JSONString,
		MoneyScale:       2,
		Placeholder:      "__debezium_unavailable_value",
	}
}

// Validate checks policy values given on the command line.
func (pol Policies) Validate() error {
	switch pol.Numeric {
	case NumericDecimal, NumericString:
	default:
		return fmt.Errorf("typemap: numeric policy %q: want decimal or string", pol.Numeric)
	}
	switch pol.OutOfRange {
	case RangeError, RangeClamp, RangeNull:
	default:
		return fmt.Errorf("typemap: out-of-range policy %q: want error, clamp or null", pol.OutOfRange)
	}
	switch pol.JSON {
	case JSONString, JSONNative:
	default:
		return fmt.Errorf("typemap: json policy %q: want string or json", pol.JSON)
	}
	if pol.NumericPrecision < 1 || pol.NumericPrecision > 76 || pol.NumericScale < 0 || pol.NumericScale > pol.NumericPrecision {
		return fmt.Errorf("typemap: numeric Decimal(%d,%d) is not a valid ClickHouse Decimal", pol.NumericPrecision, pol.NumericScale)
	}
	return nil
}

// decimalShape gives the ClickHouse Decimal(P,S) of a decimal-stored
// column, or ok=false when it is stored as String.
func (c Column) decimalShape(p chconn.Profile, pol Policies) (prec, scale int, ok bool) {
	switch c.Kind() {
	case KindMoney:
		return 18, pol.MoneyScale, true
	case KindDecimal:
		if c.Scale < 0 || c.Scale > c.Precision || c.Precision > p.MaxDecimalPrecision() {
			return 0, 0, false
		}
		return c.Precision, c.Scale, true
	case KindNumeric:
		if pol.Numeric != NumericDecimal || pol.NumericPrecision > p.MaxDecimalPrecision() {
			return 0, 0, false
		}
		return pol.NumericPrecision, pol.NumericScale, true
	}
	return 0, 0, false
}

// baseType is the ClickHouse type of one non-null value.
func (c Column) baseType(p chconn.Profile, pol Policies) string {
	switch c.Kind() {
	case KindInt16:
		return "Int16"
	case KindInt32:
		return "Int32"
	case KindInt64, KindTime, KindInterval:
		return "Int64"
	case KindBool:
		if p.Bool {
			return "Bool"
		}
		return "UInt8"
	case KindFloat32:
		return "Float32"
	case KindFloat64:
		return "Float64"
	case KindDecimal, KindNumeric, KindMoney:
		if prec, scale, ok := c.decimalShape(p, pol); ok {
			return fmt.Sprintf("Decimal(%d, %d)", prec, scale)
		}
		return "String"
	case KindUUID:
		return "UUID"
	case KindJSON:
		if pol.JSON == JSONNative && p.JSONType {
			return "JSON"
		}
		return "String"
	case KindDate:
		if p.Date32 {
			return "Date32"
		}
		// Date starts at 1970-01-01 and 18.16 prints it only up to 2105:
		// days since 1970-01-01 are exact for PostgreSQL's whole range.
		return "Int32"
	case KindTimestamp, KindTimestampTZ:
		if p.DateTime64 {
			return "DateTime64(6, 'UTC')"
		}
		return "Int64"
	}
	return "String"
}

// ClickHouseType is the column type in CREATE TABLE.
func (c Column) ClickHouseType(p chconn.Profile, pol Policies) string {
	base := c.baseType(p, pol)
	if c.Array {
		// Nullable(Array) does not exist: a NULL array is stored as [].
		return "Array(Nullable(" + base + "))"
	}
	lowCard := c.Kind() == KindEnum && p.LowCardinality
	switch {
	case c.Nullable && lowCard:
		return "LowCardinality(Nullable(" + base + "))"
	case lowCard:
		return "LowCardinality(" + base + ")"
	case c.Nullable && base != "JSON":
		return "Nullable(" + base + ")"
	}
	return base
}
