package mqtt

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// Shared subscriptions ($share/NAME/filter, MQTT 5) are durable
// subscriptions of the broker's share owner for NAME (broker.SharedOwner),
// named by the filter, that every member attaches to (broker.SubOptions
// Share): the members take the topic's messages in turn, and what none is
// connected to take waits in the store, through failovers. A member with
// a persistent session is marked "mqtt:share:CLIENT NUL QOS NUL NAME NUL
// FILTER", so that its session resumes the membership; the shared
// subscription is deleted when its last member leaves (unsubscribes, or
// its session ends) and no marked member remains.

func shareMarkPrefix(clientID string) string { return "mqtt:share:" + clientID + "\x00" }

func shareMark(clientID string, sb *sub) string {
	return shareMarkPrefix(clientID) + strconv.Itoa(int(sb.qos)) + "\x00" + sb.share + "\x00" + sb.topic
}

// sharedSubs reads a client's marked memberships back.
func sharedSubs(b *broker.Broker, clientID string) []*sub {
	prefix := shareMarkPrefix(clientID)
	var out []*sub
	for _, k := range b.Marks(prefix) {
		parts := strings.SplitN(k[len(prefix):], "\x00", 3)
		if len(parts) != 3 || len(parts[0]) != 1 || parts[0][0] < '0' || parts[0][0] > '2' {
			continue
		}
		qos := parts[0][0] - '0'
		sb := &sub{filter: "$share/" + parts[1] + "/" + parts[2], topic: parts[2], share: parts[1], durable: parts[2], qos: qos}
		sb.opts = packet.Subscription{Filter: sb.filter, QoS: qos}
		out = append(out, sb)
	}
	return out
}

// leaveShare ends a client's membership of a shared subscription, and the
// shared subscription itself when no member is left.
func (srv *Server) leaveShare(ctx context.Context, clientID string, sb *sub) {
	b := srv.b
	if k := shareMark(clientID, sb); b.Marked(k) {
		b.Unmark(ctx, k)
	}
	suffix := "\x00" + sb.share + "\x00" + sb.topic
	for _, k := range b.Marks("mqtt:share:") {
		if strings.HasSuffix(k, suffix) {
			return // a member away in its persistent session
		}
	}
	err := b.DeleteDurable(ctx, broker.SharedOwner(sb.share), sb.durable)
	if err != nil && !errors.Is(err, broker.ErrDurableInUse) && !errors.Is(err, broker.ErrNoSuchDurable) {
		srv.log.Warn("shared subscription not deleted", "share", sb.share, "filter", sb.topic, "err", err)
	}
}
