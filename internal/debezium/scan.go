package debezium

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small strict JSON scanner. It never builds a tree: it
// returns the byte spans of values so that Record values can be views into
// the Kafka message. Every span it hands out has been fully validated (the
// grammar of RFC 8259, as encoding/json checks it), so a Value.Raw is always
// exactly one complete JSON value.

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
// Debezium payloads nest a handful of levels; schemas a few more.
const maxDepth = 512

// syntaxError is the scanner's error: where and what. The decoder turns it
// into a *DecodeError with reason malformed_json.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func errAt(pos int, msg string) error { return &syntaxError{pos: pos, msg: msg} }

// plain marks bytes that may appear unescaped inside a JSON string without
// ending it: everything but '"', '\\' and control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports whether any byte of x is '"', '\\' or a control
// character (the classic SWAR tests; false positives only cost speed, the
// byte loop decides).
func special(x uint64) bool {
	less := (x - ones*0x20) & ^x & highs
	return less|hasZero(x^ones*'"')|hasZero(x^ones*'\\') != 0
}

func hasZero(v uint64) uint64 { return (v - ones) & ^v & highs }

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// trimSpace drops leading and trailing JSON whitespace.
func trimSpace(b []byte) []byte {
	i := skipSpace(b, 0)
	j := len(b)
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errAt(i, "unexpected end of input, want a value")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := skipString(b, i)
		return end, err
	case c == '{':
		return skipObject(b, i, depth+1)
	case c == '[':
		return skipArray(b, i, depth+1)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	}
	return i, errAt(i, "unexpected character, want a value")
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, errAt(i, "bad literal, want "+lit)
	}
	return i + len(lit), nil
}

// skipString scans the string token at b[i] (which is '"'); escaped reports
// whether it holds any backslash escape.
func skipString(b []byte, i int) (end int, escaped bool, err error) {
	start := i
	i++
	for i < len(b) {
		// The fast loops: plain bytes, by far the common case, eight at a
		// time while no byte in the word can end the run.
		for i+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			n, err := escapeLen(b, i)
			if err != nil {
				return i, true, err
			}
			i += n
		default:
			return i, escaped, errAt(i, "control character in string")
		}
	}
	return start, escaped, errAt(start, "unterminated string")
}

// escapeLen validates the escape sequence at b[i] (which is '\\') and
// returns its length.
func escapeLen(b []byte, i int) (int, error) {
	if i+1 >= len(b) {
		return 0, errAt(i, "unterminated escape")
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		if i+5 >= len(b) {
			return 0, errAt(i, "short \\u escape")
		}
		for _, c := range b[i+2 : i+6] {
			if hexVal(c) < 0 {
				return 0, errAt(i, "bad \\u escape")
			}
		}
		return 6, nil
	}
	return 0, errAt(i, "bad escape")
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// skipNumber follows the JSON number grammar exactly:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		i = skipDigits(b, i)
	default:
		return start, errAt(start, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return start, errAt(start, "bad number fraction")
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return start, errAt(start, "bad number exponent")
		}
		i = j
	}
	return i, nil
}

func skipObject(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errAt(i, "nesting too deep")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errAt(i, "want an object key")
		}
		var err error
		if i, _, err = skipString(b, i); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, errAt(i, "want ':' after object key")
		}
		if i, err = skipValue(b, skipSpace(b, i+1), depth); err != nil {
			return i, err
		}
		if i = skipSpace(b, i); i >= len(b) {
			return i, errAt(i, "unterminated object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, errAt(i, "want ',' or '}' in object")
		}
	}
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errAt(i, "nesting too deep")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skipValue(b, i, depth); err != nil {
			return i, err
		}
		if i = skipSpace(b, i); i >= len(b) {
			return i, errAt(i, "unterminated array")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, errAt(i, "want ',' or ']' in array")
		}
	}
}

// member is one "key": value pair of an object. name is the unescaped key:
// a view into the message unless the key had escapes (rare), in which case
// it is a fresh copy.
type member struct {
	name []byte
	val  []byte
}

// appendMembers parses the object at b[i], appending its members to dst,
// and returns the index just past it. Values are validated.
func appendMembers(dst []member, b []byte, i int) ([]member, int, error) {
	if i >= len(b) || b[i] != '{' {
		return dst, i, errAt(i, "want an object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return dst, i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return dst, i, errAt(i, "want an object key")
		}
		ks := i
		ke, esc, err := skipString(b, i)
		if err != nil {
			return dst, i, err
		}
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return dst, i, errAt(i, "want ':' after object key")
		}
		vs := skipSpace(b, i+1)
		ve, err := skipValue(b, vs, 1)
		if err != nil {
			return dst, ve, err
		}
		name := b[ks+1 : ke-1]
		if esc {
			name = appendUnescaped(nil, name)
		}
		dst = append(dst, member{name: name, val: b[vs:ve]})
		if i = skipSpace(b, ve); i >= len(b) {
			return dst, i, errAt(i, "unterminated object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return dst, i + 1, nil
		default:
			return dst, i, errAt(i, "want ',' or '}' in object")
		}
	}
}

// objectMembers is appendMembers for obj that must be exactly one object.
func objectMembers(dst []member, obj []byte) ([]member, error) {
	ms, end, err := appendMembers(dst, obj, 0)
	if err == nil {
		err = trailing(obj, end)
	}
	return ms, err
}

func trailing(b []byte, i int) error {
	if i != len(b) {
		return errAt(i, "data after the end of the object")
	}
	return nil
}

// wholeValue validates that b (space already trimmed) is exactly one value.
func wholeValue(b []byte) error {
	end, err := skipValue(b, 0, 0)
	if err != nil {
		return err
	}
	if end != len(b) {
		return errAt(end, "data after the end of the value")
	}
	return nil
}

// appendUnescaped appends the decoded contents of a validated JSON string
// body (without the quotes) to dst. Invalid surrogates become U+FFFD, as in
// encoding/json.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := s[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s, i)
			dst = utf8.AppendRune(dst, r)
			i += n
			continue
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

// decodeU decodes the \uXXXX escape at s[i], joining a surrogate pair when
// one follows, and returns the rune and the bytes consumed.
func decodeU(s []byte, i int) (rune, int) {
	r := hex4(s, i+2)
	if r < 0 {
		return utf8.RuneError, 2
	}
	if !utf16.IsSurrogate(rune(r)) {
		return rune(r), 6
	}
	if i+11 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
		if r2 := hex4(s, i+8); r2 >= 0 {
			if dec := utf16.DecodeRune(rune(r), rune(r2)); dec != utf8.RuneError {
				return dec, 12
			}
		}
	}
	return utf8.RuneError, 6
}

func hex4(s []byte, i int) int {
	if i+4 > len(s) {
		return -1
	}
	v := 0
	for _, c := range s[i : i+4] {
		h := hexVal(c)
		if h < 0 {
			return -1
		}
		v = v<<4 | h
	}
	return v
}

// parseInt reads a JSON integer token (no fraction, no exponent) as int64.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}
