package kafkasrc

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Nothing listens on port 1: Plan and Open must fail at once and name the
// broker, instead of retrying until a timeout.
func TestUnreachableBrokerFailsFast(t *testing.T) {
	cfg := Config{Brokers: []string{"127.0.0.1:1"}, GroupID: "g", Topics: []string{"t"}, Timeout: 5 * time.Second}
	ctx := context.Background()

	start := time.Now()
	_, err := Plan(ctx, cfg)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Plan error %v, want one naming 127.0.0.1:1", err)
	}
	if took > 3*time.Second {
		t.Fatalf("Plan took %s to fail", took)
	}
	t.Logf("Plan failed in %s: %v", took, err)

	plan := &DrainPlan{GroupID: "g", Partitions: []PartitionPlan{{Topic: "t", Target: 1, Lag: 1}}}
	start = time.Now()
	_, err = Open(ctx, cfg, plan)
	took = time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open error %v, want one naming 127.0.0.1:1", err)
	}
	if took > 3*time.Second {
		t.Fatalf("Open took %s to fail", took)
	}
	t.Logf("Open failed in %s: %v", took, err)
}
