//go:build crossprocess

package interop

import (
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// TestScheduler runs py/scheduler.py, ActiveMQ's scheduler through STOMP
// headers, for each STOMP version: AMQ_SCHEDULED_DELAY holds a message
// back (not early, then it arrives with scheduledJobId), DELAY/PERIOD/REPEAT
// deliver 1 + REPEAT messages with distinct message-ids a period apart, and
// bad values (not a number, negative, a cron field out of range, a repeat
// without a period) make the SEND fail with an ERROR frame naming its
// receipt, delivering nothing.
func TestScheduler(t *testing.T) {
	checkStompPy(t)
	for _, v := range all {
		t.Run(v, func(t *testing.T) {
			p := piertest.Start(t, "")
			runScript(t, p, "scheduler.py", v)
			if !p.Running() {
				t.Fatalf("pier is no longer running after scheduler.py")
			}
			if err := p.Stop(30 * time.Second); err != nil {
				t.Errorf("pier did not stop cleanly after scheduler.py: %v", err)
			}
		})
	}
}
