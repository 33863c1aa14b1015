package main

import (
	"testing"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

func TestVerifyUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"verify", "--pg-dsn", "postgres://x@127.0.0.1:1/db", "--output", "xml"},
		{"verify", "--pg-dsn", "postgres://x@127.0.0.1:1/db", "--as-of", "nope"},
		{"verify", "--pg-dsn", "postgres://x@127.0.0.1:1/db", "--month", "2025-3"},
		{"verify", "--pg-dsn", "postgres://x@127.0.0.1:1/db", "--out-of-range", "wrap"},
		{"verify", "--pg-dsn", "postgres://x@127.0.0.1:1/db", "--partition", "orders"},
		{"verify", "extra-argument"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitcode.Usage {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", args, code, exitcode.Usage, stderr)
		}
	}
}

func TestVerifyUnreachableIsCouldNotCompare(t *testing.T) {
	code, _, stderr := runCLI("verify", "--pg-dsn", "postgres://x@127.0.0.1:1/db?connect_timeout=2")
	if code != exitcode.Unavailable {
		t.Errorf("exit code %d, want %d (stderr %q)", code, exitcode.Unavailable, stderr)
	}
}
