//go:build integration

package kafkasrc

import (
	"context"
	"fmt"
	"regexp"
	"testing"
)

// A pattern is resolved from metadata at plan time; "__" topics (Debezium
// heartbeats) are left out unless listed.
func TestTopicPatternSkipsHeartbeatTopics(t *testing.T) {
	k := newTestKafka(t)
	prefix := randomName("sluice-test-") + "."
	orders := k.createNamedTopic(prefix+"public.orders", 3)
	k.createNamedTopic(prefix+"public.customers", 1)
	heartbeat := k.createNamedTopic("__"+prefix+"heartbeat.orders", 1)
	k.produce(orders, 3, 10, "a")
	k.produce(heartbeat, 1, 5, "hb")
	group := randomName("sluice-test-group-")
	k.deleteGroupLater(group)

	cfg := testConfig(t, "", group)
	cfg.Topics = nil
	cfg.TopicPattern = regexp.MustCompile(`orders$`)
	plan, err := Plan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Other engineers' topics may match too; look only at ours.
	var ours []string
	for _, topic := range plan.Topics() {
		if topic == orders || topic == heartbeat || topic == prefix+"public.customers" {
			ours = append(ours, topic)
		}
	}
	if fmt.Sprint(ours) != fmt.Sprint([]string{orders}) {
		t.Fatalf("pattern resolved to %v, want only %s", ours, orders)
	}

	cfg.Topics = []string{heartbeat}
	plan, err = Plan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plan.Partition(heartbeat, 0); !ok {
		t.Fatalf("a listed heartbeat topic must be planned: %v", plan.Topics())
	}
	t.Logf("pattern %s: planned %v", cfg.TopicPattern, plan.Topics())
}
