package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

func TestStartCPUProfile(t *testing.T) {
	stop, err := startCPUProfile("")
	if err != nil {
		t.Fatalf("empty path: %v", err)
	}
	stop()

	path := filepath.Join(t.TempDir(), "cpu.prof")
	stop, err = startCPUProfile(path)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	stop()
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("profile %s not written: %v", path, err)
	}

	_, err = startCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.prof"))
	if code := exitcode.Of(err); code != exitcode.Usage {
		t.Fatalf("unwritable path: exit %d (%v), want %d", code, err, exitcode.Usage)
	}
}
