package mqtt

import (
	"testing"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// FuzzDurableName: a durable subscription name is read back only if it is
// what durableName writes for what was read, so a name from the store is
// never taken for a session's subscription by mistake; and a topic name
// maps back to itself.
func FuzzDurableName(f *testing.F) {
	for _, s := range []string{"AT_LEAST_ONCE::a/b", "EXACTLY_ONCE:id=7,rap,nl:#", "AT_MOST_ONCE:id=x:a", "news", "AT_LEAST_ONCE:", ":::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if sb, ok := parseDurable(name); ok {
			if back := durableName(sb); back != name {
				// Options in another order or form read the same; what
				// counts is that they read back to the same subscription.
				sb2, ok2 := parseDurable(back)
				if !ok2 || *sb2 != (sub{filter: sb.filter, topic: sb.topic, qos: sb.qos, opts: sb.opts, subID: sb.subID, durable: back}) {
					t.Fatalf("%q reads as %+v, written back as %q", name, sb, back)
				}
			}
		}
		if packet.ValidTopicName(name) != nil {
			return
		}
		if got := fromName(toName(name)); got != name {
			t.Fatalf("topic %q maps back to %q", name, got)
		}
	})
}
