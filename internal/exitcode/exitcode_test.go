package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", base, Failed},
		{"usage", UsageError(base), Usage},
		{"wrapped usage", fmt.Errorf("ctx: %w", UsageError(base)), Usage},
		{"unavailable", UnavailableError(base), Unavailable},
		{"findings", With(Findings, base), Findings},
		{"canceled", fmt.Errorf("read: %w", context.Canceled), Interrupted},
		{"outer mark wins", With(Findings, fmt.Errorf("x: %w", UsageError(base))), Findings},
	}
	for _, c := range cases {
		if got := Of(c.err); got != c.want {
			t.Errorf("%s: Of = %d, want %d", c.name, got, c.want)
		}
	}
	if With(Usage, nil) != nil {
		t.Error("With(code, nil) must stay nil")
	}
	if !errors.Is(UsageError(base), base) {
		t.Error("marked error must unwrap to the original")
	}
}
