package typemap

import (
	"errors"
	"fmt"
	"math"
)

// Minimal JSON token helpers for the per-value path: the replicate stage
// hands over the raw bytes of one value, and these read them without
// building maps or going through float64.

var errSyntax = errors.New("malformed JSON value")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimJSON(raw []byte) []byte {
	for len(raw) > 0 && isSpace(raw[0]) {
		raw = raw[1:]
	}
	for len(raw) > 0 && isSpace(raw[len(raw)-1]) {
		raw = raw[:len(raw)-1]
	}
	return raw
}

func isNullToken(raw []byte) bool { return string(raw) == "null" }

func isStringToken(raw []byte) bool { return len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' }

// parseInt64 reads a JSON integer token exactly (never via float64).
func parseInt64(raw []byte) (int64, error) {
	if len(raw) == 0 {
		return 0, errSyntax
	}
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) == 0 {
		return 0, fmt.Errorf("want an integer, got %.40q", raw)
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("want an integer, got %.40q", raw)
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, fmt.Errorf("integer %.40q out of range", raw)
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, fmt.Errorf("integer %.40q out of range", raw)
		}
		return -int64(n), nil
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("integer %.40q out of range", raw)
	}
	return int64(n), nil
}

// skipValue returns the end offset of the JSON value starting at raw[i].
func skipValue(raw []byte, i int) (int, error) {
	if i >= len(raw) {
		return 0, errSyntax
	}
	switch raw[i] {
	case '"':
		for j := i + 1; j < len(raw); j++ {
			switch raw[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errSyntax
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				end, err := skipValue(raw, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errSyntax
	}
	j := i
	for j < len(raw) && raw[j] != ',' && raw[j] != '}' && raw[j] != ']' && !isSpace(raw[j]) {
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	return j, nil
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && isSpace(raw[i]) {
		i++
	}
	return i
}

// eachElem calls fn with the trimmed bytes of every element of a JSON array.
func eachElem(raw []byte, fn func(elem []byte) error) error {
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return fmt.Errorf("want a JSON array, got %.40q", raw)
	}
	i := skipSpace(raw, 1)
	if i == len(raw)-1 {
		return nil
	}
	for {
		end, err := skipValue(raw, i)
		if err != nil {
			return err
		}
		if err := fn(raw[i:end]); err != nil {
			return err
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return errSyntax
		}
		if raw[i] == ']' {
			if i != len(raw)-1 {
				return errSyntax
			}
			return nil
		}
		if raw[i] != ',' {
			return errSyntax
		}
		i = skipSpace(raw, i+1)
	}
}

// eachField calls fn for every member of a JSON object.
func eachField(raw []byte, fn func(key string, val []byte) error) error {
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' {
		return fmt.Errorf("want a JSON object, got %.40q", raw)
	}
	i := skipSpace(raw, 1)
	if i == len(raw)-1 {
		return nil
	}
	for {
		kend, err := skipValue(raw, i)
		if err != nil || raw[i] != '"' {
			return errSyntax
		}
		key, err := unquote(raw[i:kend])
		if err != nil {
			return err
		}
		i = skipSpace(raw, kend)
		if i >= len(raw) || raw[i] != ':' {
			return errSyntax
		}
		i = skipSpace(raw, i+1)
		vend, err := skipValue(raw, i)
		if err != nil {
			return err
		}
		if err := fn(key, raw[i:vend]); err != nil {
			return err
		}
		i = skipSpace(raw, vend)
		if i >= len(raw) {
			return errSyntax
		}
		if raw[i] == '}' {
			if i != len(raw)-1 {
				return errSyntax
			}
			return nil
		}
		if raw[i] != ',' {
			return errSyntax
		}
		i = skipSpace(raw, i+1)
	}
}
