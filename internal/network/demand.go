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
	sub       string // its id; "" before the first Subscribe
	sel       string // its selector
	dest      message.Destination
	path      []string          // the path the consumers' demand came
	temp      bool              // the bridge made the temporary destination here
	consumers map[string]string // remote consumer id → its selector
	// durable names the subscription's durable subscription here (topics
	// unless dynamic_only): what is published while the bridge is down
	// waits in it. durables are the remote durable subscriptions it
	// serves (client id and name); they keep it while offline.
	durable  string
	durables map[string]bool
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

// recover resumes the bridge's durable subscriptions from before (this
// broker or the bridge was down): what they kept is forwarded now. Each
// stays until the remote consumers that come for it are all gone.
func (d *demand) recover(ctx context.Context) error {
	for _, sub := range d.br.b.Durables(d.local.ClientID()) {
		destStr, pathStr, _ := strings.Cut(sub.Name, "|")
		dest, err := message.ParseDestination(destStr)
		if err != nil || !dest.Kind.IsTopic() {
			d.br.log.Warn("not a bridge's durable subscription; left alone", "client_id", sub.ClientID, "name", sub.Name)
			continue
		}
		var path []string
		if pathStr != "" {
			path = strings.Split(pathStr, ",")
		}
		n := &need{dest: dest, path: path, durable: sub.Name, consumers: map[string]string{}, durables: map[string]bool{}}
		if !d.subscribe(ctx, n) {
			return fmt.Errorf("network: resume durable subscription %s", sub.Name)
		}
		d.keys[sub.Name] = n
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
		d.remove(ctx, info.ConsumerID.String())
		return
	}
	if info, ok := m.RemoveSubscriptionInfo(); ok {
		d.unsubscribed(ctx, info)
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
	key := dest.String() + "|" + strings.Join(info.BrokerPath, ",")
	if !dest.Kind.IsTopic() && !d.br.cfg.Conduit {
		key = "consumer:" + id
	}
	n := d.keys[key]
	if n == nil {
		n = &need{dest: dest, path: info.BrokerPath, consumers: map[string]string{}, durables: map[string]bool{}}
		if dest.Kind == message.Topic && !d.br.cfg.DynamicOnly {
			n.durable = key
		}
		if dest.Kind.IsTemp() {
			// The remote consumer's temporary destination gets a local
			// stand-in, so replies sent here reach it (request/reply).
			if _, err := d.local.TempDestination(dest.Kind, dest.Name); err != nil {
				d.br.log.Warn("bridge cannot stand in for a remote temporary destination", "dest", dest.String(), "err", err)
				return
			}
			n.temp = true
		}
	}
	n.consumers[id] = info.Selector
	if !d.subscribe(ctx, n) {
		delete(n.consumers, id)
		if len(n.consumers) == 0 && n.temp {
			d.local.DeleteTemp(dest)
		}
		return
	}
	if n.durable != "" && info.SubscriptionName != "" {
		n.durables[durableIdent(info.ClientID, info.SubscriptionName)] = true
	}
	d.keys[key] = n
	d.consumers[id] = key
}

func durableIdent(clientID, name string) string { return clientID + "\x00" + name }

// subscribe makes n's subscription select what its consumers select (all
// of it if one of them has no selector), subscribing again when that
// changed: a message none of the remote consumers would take is not sent
// there to be stranded. It reports whether n has a subscription.
func (d *demand) subscribe(ctx context.Context, n *need) bool {
	sel := anyOf(n.consumers)
	if n.durable != "" {
		sel = "" // a durable's selector is part of it: fixed (it serves offline subscribers too)
	}
	if n.sub != "" && sel == n.sel {
		return true
	}
	o := d.options(n.dest, n.path, sel)
	o.DurableName = n.durable
	_, err := d.local.Subscribe(ctx, o)
	if errors.Is(err, broker.ErrSelector) && sel != "" {
		// A selector this broker cannot read (from another kind of
		// broker): forward everything rather than nothing.
		d.br.log.Warn("remote consumer's selector not understood here; forwarding all of the destination", "dest", n.dest.String(), "err", err)
		sel, o.Selector = "", ""
		_, err = d.local.Subscribe(ctx, o)
	}
	if err != nil {
		d.br.log.Warn("bridge subscription refused", "dest", n.dest.String(), "err", err)
		return n.sub != ""
	}
	if n.sub != "" {
		d.unsubscribe(n)
	}
	n.sub, n.sel = o.ID, sel
	return true
}

// unsubscribe ends n's subscription. What it holds was not forwarded: back
// to the queue, not counted as a redelivery.
func (d *demand) unsubscribe(n *need) {
	if err := d.local.UnsubscribeAfter(n.sub, 0); err != nil && !errors.Is(err, broker.ErrNoSuchSub) {
		d.br.log.Warn("bridge unsubscribe failed", "dest", n.dest.String(), "err", err)
	}
}

// anyOf returns a selector that selects what any of the given ones does
// ("" for all).
func anyOf(consumers map[string]string) string {
	var sels []string
	for _, s := range consumers {
		if strings.TrimSpace(s) == "" {
			return ""
		}
		sels = append(sels, "("+s+")")
	}
	slices.Sort(sels)
	return strings.Join(slices.Compact(sels), " OR ")
}

func (d *demand) remove(ctx context.Context, id string) {
	key, ok := d.consumers[id]
	if !ok {
		return
	}
	delete(d.consumers, id)
	n := d.keys[key]
	delete(n.consumers, id)
	d.drop(ctx, key, n)
}

// drop ends n's subscription once it serves nobody (no remote consumer,
// no remote durable subscription), or narrows its selector.
func (d *demand) drop(ctx context.Context, key string, n *need) {
	if len(n.consumers) > 0 || len(n.durables) > 0 {
		d.subscribe(ctx, n) // perhaps narrower now
		return
	}
	delete(d.keys, key)
	d.unsubscribe(n)
	if n.durable != "" {
		if err := d.local.DeleteDurable(ctx, n.durable); err != nil && !errors.Is(err, broker.ErrNoSuchDurable) {
			d.br.log.Warn("bridge durable subscription not deleted", "name", n.durable, "err", err)
		}
	}
	if n.temp {
		d.local.DeleteTemp(n.dest)
	}
}

// unsubscribed forgets a remote durable subscription that was deleted.
func (d *demand) unsubscribed(ctx context.Context, info client.RemoveSubscriptionInfo) {
	ident := durableIdent(info.ClientID, info.SubscriptionName)
	for key, n := range d.keys {
		if n.durables[ident] {
			delete(n.durables, ident)
			d.drop(ctx, key, n)
		}
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
