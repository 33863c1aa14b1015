package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// startCPUProfile writes a Go CPU profile of the run to path (the
// --cpuprofile flag of replicate and snapshot; read it with go tool
// pprof). stop ends the profile and closes the file. An empty path
// profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("--cpuprofile: %w", err))
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, exitcode.UsageError(fmt.Errorf("--cpuprofile: %w", err))
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
