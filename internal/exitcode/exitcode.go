// Package exitcode marks errors with the process exit code they stand for.
// Commands mark an error once, where its meaning is known; only main turns
// errors into exit codes.
package exitcode

import (
	"context"
	"errors"
)

// The documented exit codes. README.md lists them; keep the two in step.
const (
	OK          = 0   // done: drained, bound reached, equal, ok
	Failed      = 1   // failed; nothing committed past the last durable write
	Usage       = 2   // wrong flags, arguments or configuration
	Findings    = 3   // finished, with findings: dead letters, differences, failed checks
	Unavailable = 4   // a server could not be reached or refused us (network, auth, TLS)
	Interrupted = 130 // stopped by SIGINT/SIGTERM after writing and committing what was in hand
)

type coded struct {
	code int
	err  error
}

func (c *coded) Error() string { return c.err.Error() }
func (c *coded) Unwrap() error { return c.err }

// With marks err with code. A nil err stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &coded{code: code, err: err}
}

// UsageError marks err as a usage or configuration error.
func UsageError(err error) error { return With(Usage, err) }

// UnavailableError marks err as a server that could not be reached.
func UnavailableError(err error) error { return With(Unavailable, err) }

// Of returns the exit code for err: the outermost mark wins, a cancelled
// context means Interrupted, any other error is Failed.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var c *coded
	if errors.As(err, &c) {
		return c.code
	}
	if errors.Is(err, context.Canceled) {
		return Interrupted
	}
	return Failed
}
