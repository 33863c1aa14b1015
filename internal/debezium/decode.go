package debezium

import (
	"bytes"
	"errors"
)

// Input is one Kafka record as the decoder needs it; a Kafka client's
// record maps onto it field by field. Partition and Offset only label
// errors (use -1 when unknown).
type Input struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
}

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Decoder turns Kafka records into Records. It keeps the schema caches and
// scratch buffers, so it is not safe for concurrent use: use one per
// goroutine. The zero value is ready to use.
type Decoder struct {
	values, keys schemaCache
	topics       map[string]*topicState // last schema per topic, for the prefix fast path
	strs         map[string]string      // interned names: columns, db, schema, table
	top, sub     []member               // reusable member lists
	scratch      []byte                 // unescaped metadata text

	// Per message.
	part    string // "key" or "value", for errors
	whole   []byte // the key or value being decoded, for error positions
	deleted bool   // __deleted was "true"
	seqLSN  uint64 // LSN from source.sequence, a fallback for a missing lsn
	hasSeq  bool
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder { return &Decoder{} }

// topicState remembers, per topic, the exact bytes of the last message up
// to the end of its schema, so that an unchanged schema costs one memcmp.
type topicState struct {
	value, key lastSchema
}

type lastSchema struct {
	prefix []byte // `{"schema":<schema>` exactly as it was on the wire
	entry  *schemaEntry
}

const (
	maxTopics   = 4096
	maxInterned = 1 << 14
)

// Decode decodes one Kafka record into rec; see DecodeInput.
func (d *Decoder) Decode(topic string, key, value []byte, rec *Record) error {
	m := Input{Topic: topic, Partition: -1, Offset: -1, Key: key, Value: value}
	return d.DecodeInput(&m, rec)
}

// DecodeInput decodes one Kafka record into rec, reusing rec's slices.
// rec then holds views into m.Key and m.Value (see Record). A message that
// cannot be decoded gives a *DecodeError and an empty rec.
func (d *Decoder) DecodeInput(m *Input, rec *Record) error {
	if m == nil || rec == nil {
		return errors.New("debezium: DecodeInput needs an input and a record")
	}
	rec.reset()
	d.deleted, d.hasSeq, d.seqLSN = false, false, 0
	if err := d.decode(m, rec); err != nil {
		rec.reset()
		return d.wrap(m, err)
	}
	return nil
}

func (d *Decoder) decode(m *Input, rec *Record) error {
	st := d.topicState(m.Topic)
	d.part, d.whole = "header", nil
	for _, h := range m.Headers {
		if k := metaOf(h.Key); k != metaNone {
			if err := d.applyMeta(rec, k, h.Value, true); err != nil {
				return err
			}
		}
	}
	d.part, d.whole = "key", m.Key
	if err := d.decodeKey(m.Key, &st.key, rec); err != nil {
		return err
	}
	d.part, d.whole = "value", m.Value
	if err := d.decodeValue(m.Topic, m.Value, &st.value, rec); err != nil {
		return err
	}
	d.finish(m.Topic, rec)
	return nil
}

// finish applies the fallbacks once everything has been read.
func (d *Decoder) finish(topic string, rec *Record) {
	if !rec.HasLSN && d.hasSeq {
		rec.LSN, rec.HasLSN = d.seqLSN, true
	}
	if rec.Op == OpRead {
		rec.Snapshot = true
	}
	if (rec.Kind == Change || rec.Kind == Tombstone) && (rec.Schema == "" || rec.Table == "") {
		if _, schema, table, ok := SplitTopic(topic); ok {
			if rec.Schema == "" {
				rec.Schema = schema
			}
			if rec.Table == "" {
				rec.Table = table
			}
		}
	}
}

func (d *Decoder) topicState(topic string) *topicState {
	if st, ok := d.topics[topic]; ok {
		return st
	}
	if d.topics == nil || len(d.topics) >= maxTopics {
		d.topics = make(map[string]*topicState)
	}
	st := &topicState{}
	d.topics[topic] = st
	return st
}

func (d *Decoder) decodeKey(key []byte, last *lastSchema, rec *Record) error {
	if len(trimSpace(key)) == 0 {
		return nil // no key: truncate events, tables without a primary key
	}
	e, payload, ms, err := d.unwrap(key, &d.keys, last, true)
	if err != nil {
		return err
	}
	if e != nil {
		rec.KeyFields = e.fields
	}
	if string(payload) == "null" {
		return nil
	}
	if payload[0] != '{' {
		return d.fail(ReasonBadKey, "the key payload is not an object")
	}
	if ms == nil {
		if ms, err = d.members(payload); err != nil {
			return err
		}
	}
	rec.Key, err = d.appendValues(rec.Key[:0], ms, rec.KeyFields, nil)
	return err
}

func (d *Decoder) decodeValue(topic string, value []byte, last *lastSchema, rec *Record) error {
	if len(value) == 0 {
		rec.Kind, rec.Op = Tombstone, OpDelete
		return nil
	}
	e, payload, ms, err := d.unwrap(value, &d.values, last, false)
	if err != nil {
		return err
	}
	sh := shapeUnknown
	if e != nil {
		rec.Fields, sh = e.fields, e.shape
	}
	if string(payload) == "null" {
		// The unwrap transform's "tombstone" delete mode: the delete is a
		// null payload (with or without the row schema), the key names it.
		rec.Kind, rec.Op = Change, OpDelete
		return nil
	}
	if payload[0] != '{' {
		return d.fail(ReasonBadShape, "the value payload is not an object")
	}
	if ms == nil {
		if ms, err = d.members(payload); err != nil {
			return err
		}
	}
	if sh == shapeUnknown {
		sh = guess(topic, ms, rec)
	}
	switch sh {
	case shapeEnvelope:
		return d.envelope(ms, rec)
	case shapeHeartbeat:
		return d.heartbeat(ms, rec)
	case shapeTx:
		return d.tx(ms, rec)
	}
	return d.row(ms, rec)
}

// unwrap splits b into its schema and payload when it is a JsonConverter
// wrapper {"schema":…,"payload":…}, and returns b itself as the payload
// otherwise (schemas.enable=false). When b is a bare object, ms holds its
// members, already parsed.
//
// A bare row of a table whose only two columns are named "schema" and
// "payload" would be taken for a wrapper; such a table needs schemas on.
func (d *Decoder) unwrap(b []byte, c *schemaCache, last *lastSchema, isKey bool) (e *schemaEntry, payload []byte, ms []member, err error) {
	b = trimSpace(b)
	if len(b) == 0 {
		return nil, nil, nil, d.fail(ReasonMalformedJSON, "only whitespace")
	}
	if b[0] != '{' {
		if err := wholeValue(b); err != nil {
			return nil, nil, nil, d.syntax(err, b)
		}
		return nil, b, nil, nil
	}
	// The fast path: the same schema bytes as the last message on this topic.
	if last.entry != nil && len(b) > len(last.prefix) && bytes.Equal(b[:len(last.prefix)], last.prefix) {
		if p, ms, ok := d.payloadAfterSchema(b, len(last.prefix)); ok {
			return last.entry, p, ms, nil
		}
	}
	if ms, err = d.members(b); err != nil {
		return nil, nil, nil, err
	}
	schema, payload := wrapperParts(ms)
	if payload == nil {
		return nil, b, ms, nil
	}
	if e, err = c.get(schema, isKey); err != nil {
		return nil, nil, nil, err
	}
	if string(ms[0].name) == "schema" {
		end := offset(b, schema) + len(schema)
		last.prefix = append(last.prefix[:0], b[:end]...)
		last.entry = e
	}
	return e, payload, nil, nil
}

// wrapperParts returns the schema and payload of a JsonConverter wrapper,
// or nils when ms is not exactly {schema, payload}.
func wrapperParts(ms []member) (schema, payload []byte) {
	if len(ms) != 2 {
		return nil, nil
	}
	for _, m := range ms {
		switch string(m.name) {
		case "schema":
			schema = m.val
		case "payload":
			payload = m.val
		}
	}
	if schema == nil || payload == nil {
		return nil, nil
	}
	return schema, payload
}

// payloadAfterSchema parses `,"payload":<value>}` at b[i], the rest of a
// wrapper whose schema has been matched by prefix. An object payload is
// parsed into members right away, so that it is scanned only once. ok is
// false when the rest is anything else (the slow path then reports or
// handles it).
func (d *Decoder) payloadAfterSchema(b []byte, i int) (payload []byte, ms []member, ok bool) {
	const key = `"payload"`
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ',' {
		return nil, nil, false
	}
	i = skipSpace(b, i+1)
	if len(b)-i < len(key) || string(b[i:i+len(key)]) != key {
		return nil, nil, false
	}
	i = skipSpace(b, i+len(key))
	if i >= len(b) || b[i] != ':' {
		return nil, nil, false
	}
	vs := skipSpace(b, i+1)
	var ve int
	var err error
	if vs < len(b) && b[vs] == '{' {
		ms, ve, err = appendMembers(d.top[:0], b, vs)
		if cap(ms) > cap(d.top) {
			d.top = ms[:0]
		}
	} else {
		ve, err = skipValue(b, vs, 1)
	}
	if err != nil {
		return nil, nil, false
	}
	i = skipSpace(b, ve)
	if i != len(b)-1 || b[i] != '}' {
		return nil, nil, false
	}
	return b[vs:ve], ms, true
}

// members parses obj into the decoder's reusable member list.
func (d *Decoder) members(obj []byte) ([]member, error) {
	ms, err := objectMembers(d.top[:0], obj)
	if cap(ms) > cap(d.top) {
		d.top = ms[:0]
	}
	if err != nil {
		return nil, d.syntax(err, obj)
	}
	return ms, nil
}

// subMembers is members for a nested object, in a second list, so that the
// top-level members stay intact.
func (d *Decoder) subMembers(obj []byte) ([]member, error) {
	ms, err := objectMembers(d.sub[:0], obj)
	if cap(ms) > cap(d.sub) {
		d.sub = ms[:0]
	}
	if err != nil {
		return nil, d.syntax(err, obj)
	}
	return ms, nil
}

// appendValues turns members into Values. With rec set, the unwrap
// transform's metadata fields are applied to rec instead of becoming
// columns.
func (d *Decoder) appendValues(dst []Value, ms []member, f *Fields, rec *Record) ([]Value, error) {
	for _, m := range ms {
		if rec != nil {
			if k := metaBytes(m.name); k != metaNone {
				if err := d.applyMeta(rec, k, m.val, false); err != nil {
					return dst, err
				}
				continue
			}
		}
		v := Value{Raw: m.val}
		if f != nil {
			v.Schema = f.lookupBytes(m.name, len(dst))
		}
		if v.Schema != nil {
			v.Name = v.Schema.Name
		} else {
			v.Name = d.intern(m.name)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// intern returns a string equal to b, allocating only the first time.
func (d *Decoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	if d.strs == nil || len(d.strs) >= maxInterned {
		d.strs = make(map[string]string)
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *Decoder) fail(reason, msg string) error { return failf(reason, d.part, msg) }

// syntax turns a scanner error on s, a sub-slice of the part being decoded,
// into a malformed_json failure positioned in the part.
func (d *Decoder) syntax(err error, s []byte) error {
	var se *syntaxError
	if !errors.As(err, &se) {
		return err
	}
	pos := -1
	if d.whole != nil {
		if p := offset(d.whole, s) + se.pos; p >= 0 && p <= len(d.whole) {
			pos = p
		}
	}
	return &fail{reason: ReasonMalformedJSON, msg: se.msg, part: d.part, pos: pos}
}

// offset is the position of sub within whole, which it was sliced from.
func offset(whole, sub []byte) int { return cap(whole) - cap(sub) }

// wrap adds the message context to a failure.
func (d *Decoder) wrap(m *Input, err error) error {
	de := &DecodeError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Part: d.part, Pos: -1}
	var f *fail
	if errors.As(err, &f) {
		de.Reason, de.Msg, de.Pos = f.reason, f.msg, f.pos
		if f.part != "" {
			de.Part = f.part
		}
	} else {
		de.Reason, de.Msg = ReasonMalformedJSON, err.Error()
	}
	return de
}
