package chconn

import "testing"

func TestQuoteBytes(t *testing.T) {
	cases := map[string]string{
		"":                 `''`,
		"it's":             `'it\'s'`,
		`a\b`:              `'a\\b'`,
		"\x00\xde\xad\n\t": `'\x00\xDE\xAD\x0A\x09'`,
		"héllo":            `'h\xC3\xA9llo'`,
	}
	for in, want := range cases {
		if got := QuoteBytes(in); got != want {
			t.Errorf("QuoteBytes(%q) = %s, want %s", in, got, want)
		}
	}
}
