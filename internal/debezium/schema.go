package debezium

import (
	"bytes"
	"hash/maphash"
	"strconv"
	"strings"
)

// shape is what a value payload is, as told by its schema or guessed from
// its members.
type shape uint8

const (
	shapeUnknown   shape = iota
	shapeEnvelope        // the full Debezium change event
	shapeRow             // a flattened row (ExtractNewRecordState)
	shapeHeartbeat       // {"ts_ms":…}
	shapeTx              // transaction metadata
)

const (
	heartbeatSchema = "io.debezium.connector.common.Heartbeat"
	txSchema        = "io.debezium.connector.common.TransactionMetadataValue"
)

// schemaEntry is one parsed schema, keyed by its exact bytes.
type schemaEntry struct {
	raw    []byte
	shape  shape
	fields *Fields
}

// maxSchemas bounds a cache. A connector has a few schemas per table; when a
// cache fills up (schema churn, or a decoder fed thousands of tables) it is
// emptied and refilled, which costs one parse per schema and hands out new
// Fields pointers for unchanged schemas.
const maxSchemas = 4096

// schemaCache maps schema bytes to parsed schemas. The caller's fast path
// (comparing the message prefix with the last one) avoids even the hash.
type schemaCache struct {
	seed    maphash.Seed
	entries map[uint64][]*schemaEntry
	n       int
}

func (c *schemaCache) get(raw []byte, isKey bool) (*schemaEntry, error) {
	if c.entries == nil {
		c.seed = maphash.MakeSeed()
		c.entries = make(map[uint64][]*schemaEntry)
	}
	h := maphash.Bytes(c.seed, raw)
	for _, e := range c.entries[h] {
		if bytes.Equal(e.raw, raw) {
			return e, nil
		}
	}
	e, err := newSchemaEntry(raw, isKey)
	if err != nil {
		return nil, err
	}
	if c.n >= maxSchemas {
		clear(c.entries)
		c.n = 0
	}
	c.entries[h] = append(c.entries[h], e)
	c.n++
	return e, nil
}

func newSchemaEntry(raw []byte, isKey bool) (*schemaEntry, error) {
	e := &schemaEntry{raw: bytes.Clone(raw)}
	if string(raw) == "null" {
		return e, nil
	}
	root, err := parseSchema(e.raw, 0)
	if err != nil {
		return nil, err
	}
	if root.Type != "struct" {
		return e, nil // a key or value that is not a struct: no columns
	}
	if isKey {
		e.fields = newFields(root.SemanticName, root.Fields, false)
		return e, nil
	}
	e.shape, e.fields = classify(&root)
	return e, nil
}

// classify tells the shape of a value from its schema and picks the struct
// that describes Record.Row.
func classify(root *FieldSchema) (shape, *Fields) {
	switch {
	case root.SemanticName == heartbeatSchema:
		return shapeHeartbeat, newFields(root.SemanticName, root.Fields, false)
	case root.SemanticName == txSchema:
		return shapeTx, newFields(root.SemanticName, root.Fields, false)
	case strings.HasSuffix(root.SemanticName, ".Envelope") ||
		(fieldNamed(root.Fields, "op") != nil && fieldNamed(root.Fields, "source") != nil):
		// before and after share one schema; message events have neither.
		for _, name := range [...]string{"after", "before", "message"} {
			if f := fieldNamed(root.Fields, name); f != nil && f.Type == "struct" {
				return shapeEnvelope, newFields(f.SemanticName, f.Fields, false)
			}
		}
		return shapeEnvelope, nil
	}
	return shapeRow, newFields(root.SemanticName, root.Fields, true)
}

func fieldNamed(fields []FieldSchema, name string) *FieldSchema {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	return nil
}

// newFields builds a Fields; dropMeta removes the unwrap transform's
// metadata fields (__op, __deleted, …), which the decoder consumes.
func newFields(name string, cols []FieldSchema, dropMeta bool) *Fields {
	f := &Fields{Name: name, index: make(map[string]int, len(cols))}
	for _, c := range cols {
		if dropMeta && metaOf(c.Name) != metaNone {
			continue
		}
		f.index[c.Name] = len(f.Columns)
		f.Columns = append(f.Columns, c)
	}
	return f
}

// parseSchema parses one Connect schema node. b must be exactly the node's
// JSON object. Allocation is fine here: it runs once per distinct schema.
func parseSchema(b []byte, depth int) (FieldSchema, error) {
	var s FieldSchema
	if depth > maxDepth {
		return s, badSchema("nesting too deep")
	}
	ms, err := objectMembers(nil, b)
	if err != nil {
		return s, badSchema("not an object: " + err.Error())
	}
	for _, m := range ms {
		if err := s.set(m, depth); err != nil {
			return s, err
		}
	}
	if s.Type == "" {
		return s, badSchema(`node without "type"`)
	}
	return s, nil
}

// set applies one member of a schema node.
func (s *FieldSchema) set(m member, depth int) error {
	var err error
	switch string(m.name) {
	case "type":
		s.Type, err = schemaString(m)
	case "name":
		s.SemanticName, err = schemaString(m)
	case "field":
		s.Name, err = schemaString(m)
	case "optional":
		s.Optional, err = schemaBool(m)
	case "version":
		n, ok := parseInt(m.val)
		if !ok {
			return badSchema(`"version" is not an integer`)
		}
		s.Version = int(n)
	case "parameters":
		s.Params, err = schemaParams(m.val)
	case "default":
		s.Default = m.val
	case "fields":
		s.Fields, err = schemaList(m.val, depth)
	case "items":
		s.Items, err = schemaChild(m.val, depth)
	case "keys":
		s.Keys, err = schemaChild(m.val, depth)
	case "values":
		s.Values, err = schemaChild(m.val, depth)
	}
	return err
}

func badSchema(msg string) error { return failf(ReasonBadSchema, "", msg) }

func schemaString(m member) (string, error) {
	if len(m.val) == 0 || m.val[0] != '"' {
		return "", badSchema(strconv.Quote(string(m.name)) + " is not a string")
	}
	return string(appendUnescaped(nil, m.val[1:len(m.val)-1])), nil
}

func schemaBool(m member) (bool, error) {
	switch string(m.val) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badSchema(strconv.Quote(string(m.name)) + " is not a boolean")
}

func schemaParams(b []byte) (map[string]string, error) {
	if string(b) == "null" {
		return nil, nil
	}
	ms, err := objectMembers(nil, b)
	if err != nil {
		return nil, badSchema(`"parameters" is not an object`)
	}
	p := make(map[string]string, len(ms))
	for _, m := range ms {
		if p[string(m.name)], err = schemaString(m); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func schemaChild(b []byte, depth int) (*FieldSchema, error) {
	if string(b) == "null" {
		return nil, nil
	}
	c, err := parseSchema(b, depth+1)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// schemaList parses the "fields" array of a struct node.
func schemaList(b []byte, depth int) ([]FieldSchema, error) {
	if len(b) == 0 || b[0] != '[' {
		return nil, badSchema(`"fields" is not an array`)
	}
	var out []FieldSchema
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return out, nil
	}
	for i < len(b) {
		end, err := skipValue(b, i, depth+1)
		if err != nil {
			return nil, badSchema(err.Error())
		}
		f, err := parseSchema(b[i:end], depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ']' {
			return out, nil
		}
		if i >= len(b) || b[i] != ',' {
			return nil, badSchema(`bad "fields" array`)
		}
		i = skipSpace(b, i+1)
	}
	return nil, badSchema(`unterminated "fields" array`)
}
