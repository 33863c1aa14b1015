package debezium

import "bytes"

// Kind says what a Kafka record carries. Every record gets a Kind, including
// those sluice ignores, so the caller can count them and commit their offsets.
type Kind uint8

const (
	// Change is a row change: Op says which. A delete may carry no Row
	// (key-only delete); a truncate carries neither Row nor Key.
	Change Kind = iota + 1
	// Tombstone is a Kafka tombstone (nil or empty value) that follows a
	// delete so that log compaction can drop the key. Op is OpDelete and Key
	// is filled.
	Tombstone
	// Heartbeat is a connector heartbeat; TsMs is its ts_ms.
	Heartbeat
	// TxMetadata is a transaction BEGIN or END record; see Record.Tx.
	TxMetadata
	// Message is a logical decoding message (op "m"); Row holds its
	// "message" block (prefix, content).
	Message
)

func (k Kind) String() string {
	switch k {
	case Change:
		return "change"
	case Tombstone:
		return "tombstone"
	case Heartbeat:
		return "heartbeat"
	case TxMetadata:
		return "tx_metadata"
	case Message:
		return "message"
	}
	return "unknown"
}

// Op is the Debezium operation code.
type Op byte

const (
	OpCreate   Op = 'c'
	OpUpdate   Op = 'u'
	OpDelete   Op = 'd'
	OpRead     Op = 'r' // a snapshot read
	OpTruncate Op = 't'
	OpMessage  Op = 'm'
)

func (o Op) String() string {
	if o == 0 {
		return ""
	}
	return string(rune(o))
}

// TxStatus is the status of a TxMetadata record.
type TxStatus uint8

const (
	TxNone TxStatus = iota
	TxBegin
	TxEnd
)

func (s TxStatus) String() string {
	switch s {
	case TxBegin:
		return "BEGIN"
	case TxEnd:
		return "END"
	}
	return ""
}

// Record is one decoded Kafka record. Decode fills it, reusing the Row and
// Key slices, so a Record that is decoded into again loses its old content.
//
// Values are views into the key and value byte slices given to Decode: the
// caller must not modify or reuse those buffers while the Record (or any
// Value taken from it) is in use.
type Record struct {
	Kind Kind
	Op   Op
	Tx   TxStatus // TxMetadata records only

	// DB, Schema and Table come from the source block or the unwrap fields
	// (__db, __schema, __table); Schema and Table fall back to the topic name
	// <prefix>.<schema>.<table>. DB stays empty when nothing names it.
	DB, Schema, Table string

	// LSN is source.lsn, __lsn, or else the second element of
	// source.sequence. HasLSN is false when none is present (incremental
	// snapshot rows, heartbeats, tombstones): the caller picks a fallback.
	LSN    uint64
	HasLSN bool

	// TsMs is the commit time in epoch milliseconds: source.ts_ms or
	// __source_ts_ms; for heartbeats and transaction records their own
	// ts_ms. Zero when absent. The envelope's own ts_ms (processing time) is
	// deliberately not used.
	TsMs int64

	// Snapshot is true for snapshot reads: op "r", or source.snapshot /
	// __snapshot set to anything but "false".
	Snapshot bool

	// Fields describes Row when the message carries a schema, else nil.
	// Schemas are cached: the pointer stays the same while the schema bytes
	// do, so a new pointer means a (possibly) new schema. KeyFields is the
	// same for Key.
	Fields    *Fields
	KeyFields *Fields

	// Row is the row image: after, or before for deletes. For heartbeats,
	// transaction and message records it holds their payload's members.
	Row []Value
	// Key is the key's members; empty when the key is null or absent.
	Key []Value
}

// reset clears r for reuse, keeping the capacity of its slices.
func (r *Record) reset() {
	row, key := r.Row[:0], r.Key[:0]
	*r = Record{Row: row, Key: key}
}

// Value is one column: its name and its raw JSON token.
type Value struct {
	Name string
	// Raw is exactly one complete JSON value (string with its quotes,
	// number, true, false, null, object or array), a view into the message.
	Raw []byte
	// Schema is the column's field schema, nil without a schema or when the
	// schema does not list the column.
	Schema *FieldSchema
}

// IsNull reports whether the value is JSON null.
func (v Value) IsNull() bool { return string(v.Raw) == "null" }

// IsString reports whether the value is a JSON string.
func (v Value) IsString() bool { return len(v.Raw) > 0 && v.Raw[0] == '"' }

// Unavailable is Debezium's default placeholder for an unchanged TOASTed
// value (unavailable.value.placeholder).
const Unavailable = "__debezium_unavailable_value"

const (
	unavailableString = `"` + Unavailable + `"`
	// unavailableBytes is the placeholder as a bytes (bytea) column carries
	// it: base64 of its bytes.
	unavailableBytes = `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`
)

// IsUnavailable reports whether the value is the unchanged-TOAST placeholder
// in its string or bytes (base64) form, or a one-element text[] / bytea[]
// array of it. The other type-specific forms (int[], uuid[], hstore) are
// left to typemap.
func (v Value) IsUnavailable() bool {
	r := v.Raw
	if len(r) > 2 && r[0] == '[' && r[len(r)-1] == ']' {
		r = trimSpace(r[1 : len(r)-1])
	}
	return string(r) == unavailableString || string(r) == unavailableBytes
}

// Unquote returns the text of v, which must be a JSON string; see Unquote.
func (v Value) Unquote(scratch []byte) ([]byte, error) { return Unquote(v.Raw, scratch) }

// Unquote returns the contents of the JSON string token raw (quotes
// included, as in Value.Raw). Without escapes the result is a sub-slice of
// raw and nothing is allocated; otherwise the decoded text is appended to
// scratch[:0], so a caller that keeps passing the returned slice back as
// scratch stops allocating. Unquote checks the escapes; it does not re-check
// the rest of the token, which Decode has already validated.
func Unquote(raw, scratch []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, errNotString
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, nil
	}
	end, _, err := skipString(raw, 0)
	if err != nil || end != len(raw) {
		return nil, errNotString
	}
	return appendUnescaped(scratch[:0], body), nil
}

// Fields is a parsed Connect struct schema: the columns of a row (or key),
// in schema order. Fields values are shared and must not be modified.
type Fields struct {
	// Name is the struct's schema name, e.g. "shop.public.orders.Value".
	Name    string
	Columns []FieldSchema
	index   map[string]int
}

// Lookup returns the schema of the named column, or nil.
func (f *Fields) Lookup(name string) *FieldSchema {
	if f == nil {
		return nil
	}
	if i, ok := f.index[name]; ok {
		return &f.Columns[i]
	}
	return nil
}

// lookupBytes is Lookup for a name held in bytes, trying position hint
// first: rows list their columns in schema order, so this is almost always
// a hit without hashing.
func (f *Fields) lookupBytes(name []byte, hint int) *FieldSchema {
	if hint < len(f.Columns) && f.Columns[hint].Name == string(name) {
		return &f.Columns[hint]
	}
	if i, ok := f.index[string(name)]; ok {
		return &f.Columns[i]
	}
	return nil
}

// FieldSchema is a Kafka Connect schema node as the JsonConverter writes it.
type FieldSchema struct {
	Name         string // the "field" name within its struct; "" for items, keys and values
	Type         string // int8, int16, int32, int64, float, double, boolean, string, bytes, array, map, struct
	SemanticName string // the schema "name", e.g. org.apache.kafka.connect.data.Decimal
	Version      int
	Optional     bool
	Params       map[string]string // "parameters", nil when absent
	Default      []byte            // raw JSON of "default", nil when absent
	Items        *FieldSchema      // array elements
	Keys, Values *FieldSchema      // map keys and values
	Fields       []FieldSchema     // struct members
}
