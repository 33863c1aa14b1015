package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"sluice"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	if code != exitcode.OK || !strings.HasPrefix(out, "sluice ") {
		t.Fatalf("version: code %d, output %q", code, out)
	}
}

func TestUsageErrorsExitWithUsageCode(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"--no-such-flag", "version"},
		{"version", "--no-such-flag"},
		{"--log-format", "xml", "version"},
		{"--log-level", "loud", "version"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitcode.Usage {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", args, code, exitcode.Usage, stderr)
		}
		if stderr == "" {
			t.Errorf("%v: nothing on stderr says what was wrong", args)
		}
	}
}

func TestJSONLogs(t *testing.T) {
	code, _, stderr := runCLI("--log-format", "json", "no-such-command")
	if code != exitcode.Usage {
		t.Fatalf("exit code %d", code)
	}
	if !strings.HasPrefix(strings.TrimSpace(stderr), "{") || !strings.Contains(stderr, `"exit_code":2`) {
		t.Fatalf("want one JSON log line with exit_code, got %q", stderr)
	}
}
