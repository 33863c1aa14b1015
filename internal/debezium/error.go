package debezium

import (
	"errors"
	"strconv"
	"strings"
)

// Reason codes of a DecodeError: short, stable, machine-readable (for
// metrics labels and dead-letter headers).
const (
	ReasonMalformedJSON = "malformed_json" // key or value is not valid JSON
	ReasonBadShape      = "bad_shape"      // valid JSON, but not a shape Debezium produces
	ReasonBadSchema     = "bad_schema"     // the Connect schema does not parse
	ReasonBadKey        = "bad_key"        // the key is not an object (or null)
	ReasonBadMetadata   = "bad_metadata"   // source/__ field or header of the wrong type
	ReasonMissingOp     = "missing_op"     // an envelope without op
	ReasonUnknownOp     = "unknown_op"     // op is not c, u, d, r, t or m
	ReasonMissingRow    = "missing_row"    // c, u or r without an after object
)

// DecodeError is returned for a message that cannot be decoded (poison): the
// caller sends it to the dead-letter place and carries on.
type DecodeError struct {
	Reason    string // one of the Reason constants
	Msg       string // human-readable detail
	Topic     string
	Partition int32  // -1 when the caller did not give it
	Offset    int64  // -1 when the caller did not give it
	Part      string // "key", "value" or "header"
	Pos       int    // byte position in Part, -1 when not applicable
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("debezium: topic ")
	b.WriteString(e.Topic)
	if e.Partition >= 0 {
		b.WriteString(" partition ")
		b.WriteString(strconv.Itoa(int(e.Partition)))
	}
	if e.Offset >= 0 {
		b.WriteString(" offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
	}
	if e.Part != "" {
		b.WriteString(": ")
		b.WriteString(e.Part)
		if e.Pos >= 0 {
			b.WriteString(" byte ")
			b.WriteString(strconv.Itoa(e.Pos))
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ReasonOf returns the reason code of a *DecodeError in err's chain, or "".
func ReasonOf(err error) string {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

var errNotString = errors.New("debezium: not a JSON string token")

// fail is the decoder's internal error before the message context is added.
type fail struct {
	reason string
	msg    string
	part   string
	pos    int
}

func (f *fail) Error() string { return f.reason + ": " + f.msg }

func failf(reason, part, msg string) error {
	return &fail{reason: reason, msg: msg, part: part, pos: -1}
}

// malformed wraps a scanner error; base is the offset of the scanned slice
// within the part, so that Pos points into the message.
func malformed(err error, part string, base int) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return &fail{reason: ReasonMalformedJSON, msg: se.msg, part: part, pos: base + se.pos}
	}
	return err
}

func strconvQuote(b []byte) string { return strconv.Quote(string(b)) }
