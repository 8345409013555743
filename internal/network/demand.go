package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// demand turns the remote broker's consumer advisories into bridge
// subscriptions on this broker: one per destination with remote consumers
// (per remote consumer for queues without conduit subscriptions), dropped
// when the last of them goes.
type demand struct {
	br     *bridge
	local  *broker.Conn
	remote string // the remote broker's id

	mu        sync.Mutex
	keys      map[string]*need  // subscription key → what it serves
	consumers map[string]string // remote consumer id → subscription key
	n         int
}

// need is one bridge subscription and the remote consumers it serves.
type need struct {
	sub       string
	dest      message.Destination
	temp      bool // the bridge made the temporary destination here
	consumers map[string]bool
}

// advisoryPrefix starts every advisory topic; consumers of advisories are
// never demand.
const advisoryPrefix = "ActiveMQ.Advisory."

// static subscribes to the statically included destinations.
func (d *demand) static(ctx context.Context) error {
	for _, dest := range d.br.cfg.StaticallyIncluded {
		o := d.options(dest, nil, "")
		if _, err := d.local.Subscribe(ctx, o); err != nil {
			return fmt.Errorf("network: statically included %s: %w", dest, err)
		}
		d.keys["static:"+dest.String()] = &need{sub: o.ID, dest: dest}
	}
	d.publish()
	return nil
}

// options builds a bridge subscription for dest on behalf of consumers
// whose demand came through path.
func (d *demand) options(dest message.Destination, path []string, selector string) broker.SubOptions {
	d.n++
	prio := NetworkConsumerPriority
	if d.br.cfg.DecreasePriority {
		prio = max(prio-len(path), -128)
	}
	return broker.SubOptions{ID: fmt.Sprintf("bridge-%d", d.n), Dest: dest, Ack: broker.AckIndividual,
		Prefetch: d.br.cfg.Prefetch, Priority: prio, Selector: selector, Network: true,
		BrokerPath: append(slices.Clone(path), d.remote), Remote: d.remote, TTL: d.br.cfg.TTL}
}

// publish updates the bridge's status counters.
func (d *demand) publish() {
	n := len(d.consumers)
	d.br.mu.Lock()
	d.br.mu.demand, d.br.mu.subs = n, len(d.keys)
	d.br.mu.Unlock()
}

// watch follows the remote broker's consumer advisories (the broker first
// announces the consumers it has) until ctx ends or the connection fails.
func (d *demand) watch(ctx context.Context, conn *client.Conn) error {
	sess, err := conn.Session(ctx, client.AutoAck)
	if err != nil {
		return fmt.Errorf("network: advisory session: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	started := 0
	for _, t := range []*client.Destination{
		client.ConsumerAdvisoryTopic(client.Queue(">")), client.ConsumerAdvisoryTopic(client.Topic(">")),
	} {
		k, err := sess.Consumer(ctx, t)
		if err != nil {
			cancel()
			for ; started > 0; started-- {
				<-errc
			}
			return fmt.Errorf("network: advisory consumer %s: %w", t, err)
		}
		started++
		go func() {
			for {
				m, err := k.Receive(ctx)
				if err != nil {
					errc <- err
					return
				}
				d.handle(ctx, m)
			}
		}()
	}
	err = <-errc
	cancel()
	<-errc
	return fmt.Errorf("network: advisories: %w", err)
}

// handle applies one advisory.
func (d *demand) handle(ctx context.Context, m *client.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.publish()
	if info, ok := m.ConsumerInfo(); ok {
		d.add(ctx, info)
		return
	}
	if info, ok := m.RemoveInfo(); ok {
		d.remove(info.ConsumerID.String())
	}
}

// wanted reports whether a remote consumer is demand this bridge serves,
// and the destination it consumes.
func (d *demand) wanted(info client.ConsumerInfo) (message.Destination, bool) {
	cd := info.Destination
	if cd == nil || info.Browser || strings.HasPrefix(cd.Name(), advisoryPrefix) {
		return message.Destination{}, false
	}
	if slices.Contains(info.BrokerPath, d.br.b.ID()) || len(info.BrokerPath) >= d.br.cfg.TTL {
		return message.Destination{}, false // a loop, or too far
	}
	dest := coreDest(cd)
	cfg := d.br.cfg
	if matchAny(cfg.Excluded, dest) {
		return message.Destination{}, false
	}
	if len(cfg.DynamicallyIncluded) > 0 && !matchAny(cfg.DynamicallyIncluded, dest) {
		return message.Destination{}, false
	}
	return dest, true
}

func (d *demand) add(ctx context.Context, info client.ConsumerInfo) {
	dest, ok := d.wanted(info)
	id := info.ConsumerID.String()
	if _, dup := d.consumers[id]; !ok || dup {
		return
	}
	// Consumers whose demand came the same way share a subscription (the
	// path decides where a message may go, see broker.SubOptions.Remote).
	key, selector := dest.String()+"|"+strings.Join(info.BrokerPath, ","), ""
	if !dest.Kind.IsTopic() && !d.br.cfg.Conduit {
		key, selector = "consumer:"+id, info.Selector
	}
	n := d.keys[key]
	if n == nil {
		n = &need{dest: dest, consumers: map[string]bool{}}
		if dest.Kind.IsTemp() {
			// The remote consumer's temporary destination gets a local
			// stand-in, so replies sent here reach it (request/reply).
			if _, err := d.local.TempDestination(dest.Kind, dest.Name); err != nil {
				d.br.log.Warn("bridge cannot stand in for a remote temporary destination", "dest", dest.String(), "err", err)
				return
			}
			n.temp = true
		}
		o := d.options(dest, info.BrokerPath, selector)
		if _, err := d.local.Subscribe(ctx, o); err != nil {
			d.br.log.Warn("bridge subscription refused", "dest", dest.String(), "err", err)
			if n.temp {
				d.local.DeleteTemp(dest)
			}
			return
		}
		n.sub = o.ID
		d.keys[key] = n
	}
	n.consumers[id] = true
	d.consumers[id] = key
}

func (d *demand) remove(id string) {
	key, ok := d.consumers[id]
	if !ok {
		return
	}
	delete(d.consumers, id)
	n := d.keys[key]
	delete(n.consumers, id)
	if len(n.consumers) > 0 {
		return
	}
	delete(d.keys, key)
	// What the subscription holds was not forwarded: back to the queue,
	// not counted as a redelivery.
	if err := d.local.UnsubscribeAfter(n.sub, 0); err != nil && !errors.Is(err, broker.ErrNoSuchSub) {
		d.br.log.Warn("bridge unsubscribe failed", "dest", n.dest.String(), "err", err)
	}
	if n.temp {
		d.local.DeleteTemp(n.dest)
	}
}

// coreDest converts a client destination.
func coreDest(cd *client.Destination) message.Destination {
	kind := message.Queue
	switch {
	case cd.IsTopic() && cd.IsTemporary():
		kind = message.TempTopic
	case cd.IsTopic():
		kind = message.Topic
	case cd.IsTemporary():
		kind = message.TempQueue
	}
	return message.Destination{Kind: kind, Name: cd.Name()}
}

// matchAny reports whether a filter matches dest: same kind (a temporary
// destination counts as its plain kind) and a matching name (wildcards).
func matchAny(filters []message.Destination, dest message.Destination) bool {
	for _, f := range filters {
		if f.Kind.IsTopic() == dest.Kind.IsTopic() && message.Match(f.Name, dest.Name) {
			return true
		}
	}
	return false
}
