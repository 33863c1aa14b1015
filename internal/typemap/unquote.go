package typemap

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// unquote returns the content of a JSON string token, exactly as
// encoding/json's Unmarshal into a string would: escapes decoded, \uXXXX
// surrogate pairs joined, a lone or mismatched surrogate and every invalid
// UTF-8 byte replaced by U+FFFD; an unknown escape, a short \u, an
// unescaped quote or a control character is an error. It is on the hot
// path (every string value of every message): encoding/json's reflection
// cost ~28% of the CPU on tables whose strings carry escapes (JSON text).
func unquote(raw []byte) (string, error) {
	if !isStringToken(raw) {
		return "", fmt.Errorf("want a JSON string, got %.40q", raw)
	}
	body := raw[1 : len(raw)-1]
	if i := escapeAt(body); i >= 0 {
		return unescape(body, i)
	}
	return string(body), nil
}

// appendUnquoted appends what unquote returns for raw to dst.
func appendUnquoted(dst, raw []byte) ([]byte, error) {
	if !isStringToken(raw) {
		return dst, fmt.Errorf("want a JSON string, got %.40q", raw)
	}
	body := raw[1 : len(raw)-1]
	if i := escapeAt(body); i >= 0 {
		return appendUnescaped(dst, body, i)
	}
	return append(dst, body...), nil
}

// escapeAt is -1 when body (a JSON string's content) decodes to itself,
// else how many of its first bytes do: plain ASCII before the first
// escape, quote or control character (0 when invalid UTF-8 may precede).
func escapeAt(body []byte) int {
	ascii := true
	for i, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			if !ascii {
				return 0 // the prefix may hold invalid UTF-8
			}
			return i
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii || utf8.Valid(body) {
		return -1
	}
	return 0
}

// unescape decodes body (a JSON string's content) whose first i bytes are
// plain ASCII with nothing to decode.
func unescape(body []byte, i int) (string, error) {
	out, err := appendUnescaped(make([]byte, 0, len(body)), body, i)
	if err != nil {
		return "", err
	}
	return unsafe.String(unsafe.SliceData(out), len(out)), nil // out is not used again
}

// appendUnescaped appends the decoded body to dst (see unescape).
func appendUnescaped(dst, body []byte, i int) ([]byte, error) {
	b := byteWriter{dst}
	b.add(body[:i])
	for i < len(body) {
		c := body[i]
		switch {
		case c == '\\':
			n, err := unescapeOne(&b, body, i)
			if err != nil {
				return dst, err
			}
			i += n
		case c == '"' || c < 0x20:
			return dst, fmt.Errorf("bad JSON string: invalid character %q in string literal", c)
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(body) && body[j] < utf8.RuneSelf && body[j] >= 0x20 && body[j] != '\\' && body[j] != '"' {
				j++
			}
			b.add(body[i:j]) // a run of plain ASCII at once
			i = j
		default:
			r, size := utf8.DecodeRune(body[i:])
			b.addRune(r) // utf8.RuneError (U+FFFD) for an invalid byte, as encoding/json
			i += size
		}
	}
	return b.buf, nil
}

// byteWriter appends to a byte slice: the arena builder decodes straight
// into its arena.
type byteWriter struct{ buf []byte }

func (w *byteWriter) add(p []byte)   { w.buf = append(w.buf, p...) }
func (w *byteWriter) addByte(c byte) { w.buf = append(w.buf, c) }
func (w *byteWriter) addRune(r rune) { w.buf = utf8.AppendRune(w.buf, r) }

// unescapeOne writes the escape sequence at body[i] ('\\') and returns its
// length.
func unescapeOne(b *byteWriter, body []byte, i int) (int, error) {
	if i+1 >= len(body) {
		return 0, fmt.Errorf("bad JSON string: unterminated escape")
	}
	switch c := body[i+1]; c {
	case '"', '\\', '/':
		b.addByte(c)
	case 'b':
		b.addByte('\b')
	case 'f':
		b.addByte('\f')
	case 'n':
		b.addByte('\n')
	case 'r':
		b.addByte('\r')
	case 't':
		b.addByte('\t')
	case 'u':
		r := hex4(body, i+2)
		if r < 0 {
			return 0, fmt.Errorf("bad JSON string: invalid \\u escape %.6q", body[i:])
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate followed by \u and a low one is one rune;
			// anything else is U+FFFD and the next escape stands alone.
			if i+7 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
				if dec := utf16.DecodeRune(r, hex4(body, i+8)); dec != utf8.RuneError {
					b.addRune(dec)
					return 12, nil
				}
			}
			r = utf8.RuneError
		}
		b.addRune(r)
		return 6, nil
	default:
		return 0, fmt.Errorf("bad JSON string: invalid escape \\%c", c)
	}
	return 2, nil
}

// hex4 reads the 4 hex digits at body[i:], -1 when they are not there.
func hex4(body []byte, i int) rune {
	if i+4 > len(body) {
		return -1
	}
	var r rune
	for _, c := range body[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
