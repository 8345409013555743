//go:build crossprocess

package interop

import (
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// The JMS features of the broker core as a STOMP client (stomp.py) sees
// them, with ActiveMQ's header names: message groups, exclusive consumers,
// virtual topics and destination policies. Each script runs once per STOMP
// version, each on a broker of its own; the versions run in parallel (the
// scripts mostly wait), so the set stays well under a minute.

// TestGroups runs py/groups.py: three subscribers (activemq.prefetchSize 2,
// per-message acks) share six JMSXGroupIDs; each group stays at one
// subscriber in JMSXGroupSeq order, JMSXGroupFirstForConsumer marks only a
// group's first message to a subscriber; a subscriber that leaves with
// unacknowledged messages hands each of its groups to one other
// subscriber, in order, nothing lost or doubled; JMSXGroupSeq -1 closes a
// group.
func TestGroups(t *testing.T) {
	runFeature(t, "groups.py", all, "")
}

// TestGroupsStream runs py/groups_stream.py: two subscribers with
// activemq.prefetchSize 1, acknowledging as messages come, while two groups
// of 500 non-persistent messages stream in: each group at one subscriber,
// in JMSXGroupSeq order, nothing lost or doubled.
func TestGroupsStream(t *testing.T) {
	runFeature(t, "groups_stream.py", all, "")
}

// TestExclusiveConsumer runs py/exclusive.py: of a plain subscriber and
// two with activemq.exclusive:true, only the first exclusive one gets
// messages (even with its window full); when it leaves with unacknowledged
// messages the second gets those and the rest, in order; the plain one
// gets messages only when both are gone.
func TestExclusiveConsumer(t *testing.T) {
	runFeature(t, "exclusive.py", all, "")
}

// TestVirtualTopic runs py/virtualtopic.py: a message sent to
// /topic/VirtualTopic.X reaches the two consumers of
// /queue/Consumer.A.VirtualTopic.X once between them, the consumer of
// Consumer.B once and a topic subscriber once, each queue copy addressed
// to its queue; what is published while B's consumer is away waits for
// the next one, in order.
func TestVirtualTopic(t *testing.T) {
	runFeature(t, "virtualtopic.py", all, "")
}

// backOffPolicies is py/backoff.py's configuration: redelivery back-off
// (300 ms, doubling, two redeliveries) on two queue patterns, one of them
// with individual dead letter queues.
const backOffPolicies = `policies:
  destinations:
    - queue: "interop.backoff.individual.>"
      redelivery: {initial_redelivery_delay: 300ms, back_off_multiplier: 2, max_redeliveries: 2}
      dead_letter: {strategy: individual}
    - queue: "interop.backoff.shared.>"
      redelivery: {initial_redelivery_delay: 300ms, back_off_multiplier: 2, max_redeliveries: 2}
`

// TestRedeliveryBackOff runs py/backoff.py (STOMP 1.1 and 1.2: 1.0 has no
// NACK): a NACKed message comes back no earlier than 300 ms, then 600 ms
// after each NACK, and after the third NACK lands on
// ActiveMQ.DLQ.Queue.<name> (individual strategy) or ActiveMQ.DLQ (the
// default, shared), not on the other.
func TestRedeliveryBackOff(t *testing.T) {
	runFeature(t, "backoff.py", []string{"1.1", "1.2"}, backOffPolicies)
}

// orderPolicies is py/order.py's configuration: FIFO dispatch for one
// queue pattern, the default (priority) for the rest.
const orderPolicies = `policies:
  destinations:
    - queue: "interop.order.fifo.>"
      order: fifo
`

// TestDispatchOrder runs py/order.py: messages of mixed JMSPriority waiting
// on a queue with order: fifo come in arrival order, on a queue with the
// default order highest priority first, arrival order within a priority.
func TestDispatchOrder(t *testing.T) {
	runFeature(t, "order.py", all, orderPolicies)
}

// runFeature runs script once per version, in parallel, each against a
// broker of its own configured with extraYAML.
func runFeature(t *testing.T, script string, versions []string, extraYAML string) {
	checkStompPy(t)
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			p := piertest.Start(t, extraYAML)
			runScript(t, p, script, v)
			if !p.Running() {
				t.Fatalf("pier is no longer running after %s", script)
			}
			if err := p.Stop(30 * time.Second); err != nil {
				t.Errorf("pier did not stop cleanly after %s: %v", script, err)
			}
		})
	}
}
