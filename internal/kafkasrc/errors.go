package kafkasrc

import (
	"errors"
	"fmt"
)

// ErrGenerationLost matches (errors.Is) every GenerationLostError.
var ErrGenerationLost = errors.New("kafka consumer group generation lost")

// GenerationLostError says that this member's consumer group generation
// ended (a rebalance, a session timeout) or that a commit failed. The source
// never retries a commit with the old generation: the caller stops, the data
// it already wrote stays, and the next run re-reads from the last committed
// offset (the duplicates collapse downstream by version).
type GenerationLostError struct {
	GroupID    string
	Generation int32
	Err        error // the failed commit's error; nil when the generation ended
}

func (e *GenerationLostError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("kafka group %q generation %d: commit failed: %v", e.GroupID, e.Generation, e.Err)
	}
	return fmt.Sprintf("kafka group %q generation %d ended (rebalance or session timeout)", e.GroupID, e.Generation)
}

// Is makes errors.Is(err, ErrGenerationLost) true.
func (e *GenerationLostError) Is(target error) bool { return target == ErrGenerationLost }

func (e *GenerationLostError) Unwrap() error { return e.Err }
