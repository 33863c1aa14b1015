package debezium

// get returns the value of the named member, or nil.
func get(ms []member, name string) []byte {
	for _, m := range ms {
		if string(m.name) == name {
			return m.val
		}
	}
	return nil
}

func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }

// guess tells the shape of a payload that came without a schema (or with a
// schema that did not say), from its members:
//   - an envelope has an "op" and an object "source";
//   - a heartbeat is {"ts_ms":…} alone on a heartbeat topic or with a
//     {"serverName":…} key (or no key);
//   - transaction metadata has exactly status, id, event_count,
//     data_collections and ts_ms;
//   - anything else is a flattened row.
func guess(topic string, ms []member, rec *Record) shape {
	if get(ms, "op") != nil && isObject(get(ms, "source")) {
		return shapeEnvelope
	}
	if IsHeartbeatTopic(topic) {
		return shapeHeartbeat
	}
	if len(ms) == 1 && string(ms[0].name) == "ts_ms" &&
		(len(rec.Key) == 0 || len(rec.Key) == 1 && rec.Key[0].Name == "serverName") {
		return shapeHeartbeat
	}
	if len(ms) == 5 {
		for _, name := range [...]string{"status", "id", "event_count", "data_collections", "ts_ms"} {
			if get(ms, name) == nil {
				return shapeRow
			}
		}
		return shapeTx
	}
	return shapeRow
}

// envelope decodes a full Debezium change event.
func (d *Decoder) envelope(ms []member, rec *Record) error {
	rec.Kind = Change
	if src := get(ms, "source"); isObject(src) {
		if err := d.source(src, rec); err != nil {
			return err
		}
	}
	op := get(ms, "op")
	if op == nil || string(op) == "null" {
		return d.fail(ReasonMissingOp, "envelope without op")
	}
	if len(op) != 3 || op[0] != '"' {
		return d.fail(ReasonUnknownOp, "op "+quote(op))
	}
	rec.Op = Op(op[1])
	switch rec.Op {
	case OpCreate, OpUpdate, OpRead:
		after := get(ms, "after")
		if !isObject(after) {
			return d.fail(ReasonMissingRow, "op "+rec.Op.String()+" without an after object")
		}
		return d.rowFrom(after, rec)
	case OpDelete:
		// before is null under REPLICA IDENTITY NOTHING: a key-only delete.
		if before := get(ms, "before"); isObject(before) {
			return d.rowFrom(before, rec)
		}
		return nil
	case OpTruncate:
		return nil
	case OpMessage:
		rec.Kind = Message
		if msg := get(ms, "message"); isObject(msg) {
			return d.rowFrom(msg, rec)
		}
		return nil
	}
	return d.fail(ReasonUnknownOp, "op "+quote(op))
}

// source reads the source block: db, schema, table, ts_ms, lsn, snapshot,
// sequence. Other members (version, txId, xmin, …) are not needed.
func (d *Decoder) source(obj []byte, rec *Record) error {
	ms, err := d.subMembers(obj)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if k := sourceMeta(string(m.name)); k != metaNone {
			if err := d.applyMeta(rec, k, m.val, false); err != nil {
				return d.inPart(err)
			}
		}
	}
	return nil
}

// rowFrom fills rec.Row from a row object (after, before, message).
func (d *Decoder) rowFrom(obj []byte, rec *Record) error {
	ms, err := d.subMembers(obj)
	if err != nil {
		return err
	}
	rec.Row, err = d.appendValues(rec.Row[:0], ms, rec.Fields, nil)
	return err
}

// row decodes a flattened row (ExtractNewRecordState). Its Op comes from
// __op; without it, from __deleted ("true": a delete), else it is taken as
// an update, since c, u and r are all upserts to sluice.
func (d *Decoder) row(ms []member, rec *Record) error {
	rec.Kind = Change
	var err error
	if rec.Row, err = d.appendValues(rec.Row[:0], ms, rec.Fields, rec); err != nil {
		return d.inPart(err)
	}
	switch {
	case d.deleted:
		rec.Op = OpDelete
	case rec.Op == 0:
		rec.Op = OpUpdate
	}
	return nil
}

// heartbeat decodes {"ts_ms":…}.
func (d *Decoder) heartbeat(ms []member, rec *Record) error {
	rec.Kind = Heartbeat
	return d.payloadRow(ms, rec)
}

// tx decodes a transaction metadata record.
func (d *Decoder) tx(ms []member, rec *Record) error {
	rec.Kind = TxMetadata
	switch string(get(ms, "status")) {
	case `"BEGIN"`:
		rec.Tx = TxBegin
	case `"END"`:
		rec.Tx = TxEnd
	default:
		return d.fail(ReasonBadMetadata, "transaction status "+quote(get(ms, "status")))
	}
	return d.payloadRow(ms, rec)
}

// payloadRow puts the members into Row and reads ts_ms.
func (d *Decoder) payloadRow(ms []member, rec *Record) error {
	if ts := get(ms, "ts_ms"); ts != nil {
		if err := d.applyMeta(rec, metaTsMs, ts, false); err != nil {
			return d.inPart(err)
		}
	}
	var err error
	rec.Row, err = d.appendValues(rec.Row[:0], ms, rec.Fields, nil)
	return err
}

// inPart labels a metadata failure with the part being decoded.
func (d *Decoder) inPart(err error) error {
	if f, ok := err.(*fail); ok && f.part == "" {
		f.part = d.part
	}
	return err
}
