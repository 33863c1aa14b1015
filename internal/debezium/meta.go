package debezium

import "strings"

// metaKind names a piece of change metadata that can arrive as a source
// block member, as a field added by the unwrap transform (add.fields, with
// the default "__" prefix) or as a header it added (add.headers).
type metaKind uint8

const (
	metaNone metaKind = iota
	metaDeleted
	metaOp
	metaDB
	metaSchema
	metaTable
	metaLSN
	metaTsMs
	metaSnapshot
	metaSequence
)

// metaOf recognises the unwrap transform's metadata fields. These are
// consumed into the Record and kept out of Row and Fields. Other "__" fields
// (__ts_ms, __txId, …) are not interpreted and stay in Row as columns.
func metaOf(name string) metaKind {
	if !strings.HasPrefix(name, "__") {
		return metaNone
	}
	switch name[2:] {
	case "deleted":
		return metaDeleted
	case "op":
		return metaOp
	}
	return sourceMeta(strings.TrimPrefix(name[2:], "source_"))
}

// sourceMeta recognises the source block members the decoder uses.
func sourceMeta(name string) metaKind {
	switch name {
	case "db":
		return metaDB
	case "schema":
		return metaSchema
	case "table":
		return metaTable
	case "lsn":
		return metaLSN
	case "ts_ms":
		return metaTsMs
	case "snapshot":
		return metaSnapshot
	case "sequence":
		return metaSequence
	}
	return metaNone
}

// metaBytes is metaOf for a name in bytes. The string conversion does not
// allocate: metaOf does not keep it.
func metaBytes(name []byte) metaKind {
	if len(name) < 3 || name[0] != '_' || name[1] != '_' {
		return metaNone
	}
	return metaOf(string(name))
}

// applyMeta stores one piece of metadata in rec. raw is a JSON token, or
// with header set the text of a Kafka header (SimpleHeaderConverter writes
// strings and numbers as plain text; a JSON-quoted string is accepted too).
func (d *Decoder) applyMeta(rec *Record, k metaKind, raw []byte, header bool) error {
	if !header && string(raw) == "null" {
		return nil
	}
	switch k {
	case metaLSN, metaTsMs:
		return d.metaInt(rec, k, raw, header)
	case metaDeleted, metaSnapshot:
		return d.metaFlag(rec, k, raw, header)
	}
	s, err := d.metaText(raw, header)
	if err != nil {
		return err
	}
	switch k {
	case metaDB:
		rec.DB = d.intern(s)
	case metaSchema:
		rec.Schema = d.intern(s)
	case metaTable:
		rec.Table = d.intern(s)
	case metaOp:
		if len(s) != 1 || !isRowOp(Op(s[0])) {
			return failf(ReasonUnknownOp, "", "__op "+quote(s))
		}
		rec.Op = Op(s[0])
	case metaSequence:
		d.seqLSN, d.hasSeq = sequenceLSN(s)
	}
	return nil
}

func isRowOp(o Op) bool {
	switch o {
	case OpCreate, OpUpdate, OpDelete, OpRead, OpTruncate:
		return true
	}
	return false
}

func (d *Decoder) metaInt(rec *Record, k metaKind, raw []byte, header bool) error {
	if header {
		raw = unquoteLoose(raw)
	}
	n, ok := parseInt(raw)
	if !ok || (k == metaLSN && n < 0) {
		return failf(ReasonBadMetadata, "", metaName(k)+" is not a valid integer: "+quote(raw))
	}
	if k == metaLSN {
		rec.LSN, rec.HasLSN = uint64(n), true
	} else {
		rec.TsMs = n
	}
	return nil
}

// metaFlag reads __deleted and snapshot, which are strings ("true",
// "false", and for snapshot "first", "last", "incremental", …) or booleans.
func (d *Decoder) metaFlag(rec *Record, k metaKind, raw []byte, header bool) error {
	s := raw
	if header || (len(raw) > 0 && raw[0] == '"') {
		var err error
		if s, err = d.metaText(raw, header); err != nil {
			return err
		}
	} else if string(raw) != "true" && string(raw) != "false" {
		return failf(ReasonBadMetadata, "", "want a string or boolean, got "+quote(raw))
	}
	if k == metaDeleted {
		switch string(s) {
		case "true":
			d.deleted = true
		case "false":
			d.deleted = false
		default:
			return failf(ReasonBadMetadata, "", "__deleted is not true or false: "+quote(raw))
		}
		return nil
	}
	if len(s) == 0 || string(s) == "null" {
		return failf(ReasonBadMetadata, "", "bad snapshot marker: "+quote(raw))
	}
	rec.Snapshot = rec.Snapshot || string(s) != "false"
	return nil
}

// metaText returns the text of a string metadata value.
func (d *Decoder) metaText(raw []byte, header bool) ([]byte, error) {
	if header {
		return unquoteLoose(raw), nil
	}
	s, err := Unquote(raw, d.scratch)
	if err != nil {
		return nil, failf(ReasonBadMetadata, "", "want a string, got "+quote(raw))
	}
	if len(s) > 0 && &s[0] != &raw[1] {
		// s was unescaped into scratch (never keep a view of the message
		// as scratch: appending to it would overwrite the message).
		d.scratch = s[:0]
	}
	return s, nil
}

// unquoteLoose strips JSON quotes from a header value when it has them.
func unquoteLoose(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		if s, err := Unquote(b, nil); err == nil {
			return s
		}
	}
	return b
}

// sequenceLSN reads the LSN from source.sequence, a JSON array encoded in a
// string: ["<lastCommitLsn>","<lsn>"], either element may be null. It is
// only a fallback for a missing lsn, so a malformed sequence is ignored.
func sequenceLSN(s []byte) (uint64, bool) {
	s = trimSpace(s)
	if len(s) < 2 || s[0] != '[' {
		return 0, false
	}
	var elems [2][]byte
	n := 0
	i := skipSpace(s, 1)
	for n < 2 && i < len(s) {
		end, err := skipValue(s, i, 1)
		if err != nil {
			return 0, false
		}
		elems[n] = s[i:end]
		n++
		i = skipSpace(s, end)
		if i < len(s) && s[i] == ',' {
			i = skipSpace(s, i+1)
		}
	}
	if n != 2 {
		return 0, false
	}
	v := unquoteLoose(elems[1])
	lsn, ok := parseInt(v)
	if !ok || lsn < 0 {
		return 0, false
	}
	return uint64(lsn), true
}

func metaName(k metaKind) string {
	switch k {
	case metaLSN:
		return "lsn"
	case metaTsMs:
		return "ts_ms"
	}
	return "metadata"
}

// quote formats bytes from a message for an error text, shortened.
func quote(b []byte) string {
	const max = 64
	if len(b) > max {
		return strconvQuote(b[:max]) + "…"
	}
	return strconvQuote(b)
}
