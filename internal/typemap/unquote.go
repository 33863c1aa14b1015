package typemap

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
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
	ascii := true
	for i, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			if !ascii {
				i = 0 // the prefix may hold invalid UTF-8
			}
			return unescape(body, i)
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii || utf8.Valid(body) {
		return string(body), nil
	}
	return unescape(body, 0)
}

// unescape decodes body (a JSON string's content) whose first i bytes are
// plain ASCII with nothing to decode.
func unescape(body []byte, i int) (string, error) {
	var b strings.Builder
	b.Grow(len(body))
	b.Write(body[:i])
	for i < len(body) {
		c := body[i]
		switch {
		case c == '\\':
			n, err := unescapeOne(&b, body, i)
			if err != nil {
				return "", err
			}
			i += n
		case c == '"' || c < 0x20:
			return "", fmt.Errorf("bad JSON string: invalid character %q in string literal", c)
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(body) && body[j] < utf8.RuneSelf && body[j] >= 0x20 && body[j] != '\\' && body[j] != '"' {
				j++
			}
			b.Write(body[i:j]) // a run of plain ASCII at once
			i = j
		default:
			r, size := utf8.DecodeRune(body[i:])
			b.WriteRune(r) // utf8.RuneError (U+FFFD) for an invalid byte, as encoding/json
			i += size
		}
	}
	return b.String(), nil
}

// unescapeOne writes the escape sequence at body[i] ('\\') and returns its
// length.
func unescapeOne(b *strings.Builder, body []byte, i int) (int, error) {
	if i+1 >= len(body) {
		return 0, fmt.Errorf("bad JSON string: unterminated escape")
	}
	switch c := body[i+1]; c {
	case '"', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
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
					b.WriteRune(dec)
					return 12, nil
				}
			}
			r = utf8.RuneError
		}
		b.WriteRune(r)
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
