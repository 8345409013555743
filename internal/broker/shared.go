package broker

import "errors"

// Shared subscriptions (SubOptions.Share with a DurableName): a durable
// subscription of SharedOwner(Share) that any number of members attach to,
// from any connections, client id or not (durable.go). Each of the topic's
// messages goes to one member, in turn; what a member leaves
// unacknowledged goes to the others; what comes while none is attached
// waits, through restarts and failovers, like any durable subscription's.

// ErrBadShare refuses a shared subscription that cannot be one.
var ErrBadShare = errors.New("broker: a shared subscription is a durable subscription of a topic, without selector or no-local")

// SharedOwner is the client id that owns the durable subscriptions of a
// share name.
func SharedOwner(share string) string { return "$share/" + share }
