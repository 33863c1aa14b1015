package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/sethvargo/go-retry"

	"github.com/sluice-cdc/sluice/internal/chconn"
	"github.com/sluice-cdc/sluice/internal/exitcode"
)

// DeadLetter is a message that could not be replicated, kept with its
// position, raw bytes and reason.
type DeadLetter struct {
	RunID      string
	Topic      string
	Partition  int
	Offset     int64
	Key        []byte
	Value      []byte
	Reason     string // a debezium reason code, convert_error, unknown_table, missing_key, unavailable_value
	Error      string
	ReceivedAt time.Time
}

// Dead-letter reasons sluice adds to the decoder's.
const (
	ReasonConvert          = "convert_error"
	ReasonUnknownTable     = "unknown_table"
	ReasonMissingKey       = "missing_key"
	ReasonUnavailableValue = "unavailable_value" // TOAST placeholder with no stored row to fill it from
)

func deadLetterTableSQL() string {
	return "CREATE TABLE IF NOT EXISTS " + chconn.QuoteIdent(DeadLetterTable) + ` (
    run_id String, topic String, ` + "`partition`" + ` Int32, ` + "`offset`" + ` Int64,
    key String, value String, reason String, error String, received_at DateTime('UTC')
) ENGINE = MergeTree() PARTITION BY toYYYYMM(received_at) ORDER BY (topic, ` + "`partition`, `offset`" + `)`
}

// writeDeadLetters inserts dead letters into the ClickHouse table.
func writeDeadLetters(ctx context.Context, conn chconn.Conn, dls []DeadLetter) error {
	runID, topic := metaCol[string]{lit: strLit}, metaCol[string]{lit: strLit}
	key, value := metaCol[[]byte]{lit: func(b []byte) string { return chconn.QuoteBytes(string(b)) }}, metaCol[[]byte]{lit: func(b []byte) string { return chconn.QuoteBytes(string(b)) }}
	reason, errText := metaCol[string]{lit: strLit}, metaCol[string]{lit: strLit}
	part := metaCol[int32]{lit: func(v int32) string { return fmt.Sprint(v) }}
	off := metaCol[int64]{lit: func(v int64) string { return fmt.Sprint(v) }}
	at := metaCol[time.Time]{lit: dtLit}
	for _, d := range dls {
		runID.vals = append(runID.vals, d.RunID)
		topic.vals = append(topic.vals, d.Topic)
		part.vals = append(part.vals, int32(d.Partition))
		off.vals = append(off.vals, d.Offset)
		key.vals = append(key.vals, nonNil(d.Key))
		value.vals = append(value.vals, nonNil(d.Value))
		reason.vals = append(reason.vals, d.Reason)
		errText.vals = append(errText.vals, d.Error)
		at.vals = append(at.vals, d.ReceivedAt.UTC())
	}
	return conn.Insert(ctx, chconn.QuoteIdent(DeadLetterTable),
		[]string{"run_id", "topic", "partition", "offset", "key", "value", "reason", "error", "received_at"},
		[]chconn.Column{&runID, &topic, &part, &off, &key, &value, &reason, &errText, &at})
}

// nonNil keeps a nil key or value (tombstone) an empty string.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// minAttempt is the shortest deadline an attempt gets, even when the retry
// budget is shorter or nearly spent: an insert into a loaded but live
// server may take seconds (18.16 sends nothing while it writes the parts).
const minAttempt = 15 * time.Second

// errAttemptTimeout marks an attempt that ran out of its deadline: the
// server did not answer in time (it is treated as unreachable).
var errAttemptTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// withRetry runs op with exponential backoff and jitter until it succeeds,
// fails permanently, or the retry timeout passes.
func withRetry(ctx context.Context, timeout time.Duration, what string, op func(context.Context) error) error {
	b := retry.NewExponential(200 * time.Millisecond)
	b = retry.WithCappedDuration(5*time.Second, b)
	b = retry.WithJitterPercent(20, b)
	b = retry.WithMaxDuration(timeout, b)
	attempt := 0
	var last error
	giveUp := time.Now().Add(timeout)
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		attempt++
		// Each attempt has a deadline: the remaining budget (at least
		// minAttempt). clickhouse-go turns it into socket deadlines, so a
		// frozen server fails the attempt with an i/o timeout instead of
		// blocking for the driver's read timeout.
		dl := time.Now().Add(minAttempt)
		if giveUp.After(dl) {
			dl = giveUp
		}
		actx, cancel := context.WithDeadline(ctx, dl)
		err := op(actx)
		cancel()
		if err != nil && ctx.Err() == nil && actx.Err() != nil && !transient(err) {
			// The attempt's own deadline, whatever the driver made of it.
			err = fmt.Errorf("%w (attempt deadline: %w)", err, errAttemptTimeout)
		}
		if err == nil {
			return nil
		}
		last = err
		if transient(err) {
			return retry.RetryableError(err)
		}
		return err
	})
	if err == nil {
		return nil
	}
	if last == nil {
		last = err
	}
	if transient(last) && unreachable(last) {
		return exitcode.UnavailableError(fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, last))
	}
	if attempt > 1 {
		return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, last)
	}
	return fmt.Errorf("%s: %w", what, last)
}

// transient tells errors worth retrying: the network, and ClickHouse's
// load and timeout exceptions. Everything else (a bad value, a missing
// column) fails the same way again.
func transient(err error) bool {
	if unreachable(err) {
		return true
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case 159, 160, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 425, 999:
			// timeouts, too many simultaneous queries, network, memory
			// limit, table read-only, too many parts, keeper
			return true
		}
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "i/o timeout") || strings.Contains(msg, "connection refused")
}

// unreachable tells network-level failures (the server is down or gone).
func unreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "connection refused")
}
