package config

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// DeadLetter is where messages that cannot be delivered go: ActiveMQ's
// dead letter strategies.
type DeadLetter struct {
	// Strategy is "shared" (every destination's to the one dead letter
	// queue, policies.redelivery.dlq; ActiveMQ's default) or "individual"
	// (a dead letter queue per destination: QueuePrefix or TopicPrefix and
	// its name). YAML: policies.dead_letter.strategy.
	Strategy string
	// QueuePrefix and TopicPrefix name individual dead letter queues.
	// Defaults ActiveMQ's: "ActiveMQ.DLQ.Queue." and "ActiveMQ.DLQ.Topic.".
	QueuePrefix, TopicPrefix string
	// DropExpired drops expired messages instead of dead-lettering the
	// persistent ones (ActiveMQ's processExpired false). YAML:
	// policies.dead_letter.drop_expired.
	DropExpired bool
}

// Dead letter strategies.
const (
	DeadLetterShared     = "shared"
	DeadLetterIndividual = "individual"
)

// DefaultDeadLetter is ActiveMQ's: one shared queue, expired persistent
// messages kept there.
func DefaultDeadLetter() DeadLetter {
	return DeadLetter{Strategy: DeadLetterShared, QueuePrefix: "ActiveMQ.DLQ.Queue.", TopicPrefix: "ActiveMQ.DLQ.Topic."}
}

// Dispatch is how a destination hands out its messages.
type Dispatch struct {
	// Order is "priority" (higher JMSPriority first; Pier's default) or
	// "fifo" (arrival order; ActiveMQ's default). YAML: policies.order.
	Order string
	// QueuePrefetch and TopicPrefetch replace the window of consumers that
	// ask for the default; 0 keeps what they ask. YAML:
	// policies.queue_prefetch, policies.topic_prefetch.
	QueuePrefetch, TopicPrefetch int
	// MemoryLimit bounds the message bodies each queue holds in memory
	// (beside limits.memory); 0: none of its own. YAML:
	// policies.memory_limit.
	MemoryLimit Size
	// ProducerFlowControl makes producers of non-persistent messages to a
	// queue over its memory limit wait; off, their sends fail at once.
	// Default true. YAML: policies.producer_flow_control.
	ProducerFlowControl bool
}

// Dispatch orders.
const (
	OrderPriority = "priority"
	OrderFIFO     = "fifo"
)

// DestinationPolicy overrides the default policies for the queues (Queue)
// or topics (Topic) a pattern matches. A nil field keeps the default.
type DestinationPolicy struct {
	Queue, Topic                 string
	Redelivery                   RedeliveryOverride
	DeadLetter                   DeadLetterOverride
	Order                        *string
	QueuePrefetch, TopicPrefetch *int
	MemoryLimit                  *Size
	ProducerFlowControl          *bool
}

// RedeliveryOverride holds the redelivery keys an entry sets.
type RedeliveryOverride struct {
	MaxRedeliveries        *int
	DLQ                    *string
	InitialRedeliveryDelay *time.Duration
	BackOffMultiplier      *float64
	MaximumRedeliveryDelay *time.Duration
}

// DeadLetterOverride holds the dead letter keys an entry sets.
type DeadLetterOverride struct {
	Strategy, QueuePrefix, TopicPrefix *string
	DropExpired                        *bool
}

// Resolve returns the entry's policies: its keys over the defaults.
func (p DestinationPolicy) Resolve(defaults Policies) (Redelivery, DeadLetter, Dispatch) {
	r, d, x := defaults.Redelivery, defaults.DeadLetter, defaults.Dispatch
	set(&x.Order, p.Order)
	set(&x.QueuePrefetch, p.QueuePrefetch)
	set(&x.TopicPrefetch, p.TopicPrefetch)
	set(&x.MemoryLimit, p.MemoryLimit)
	set(&x.ProducerFlowControl, p.ProducerFlowControl)
	o := p.Redelivery
	set(&r.MaxRedeliveries, o.MaxRedeliveries)
	set(&r.DLQ, o.DLQ)
	set(&r.InitialRedeliveryDelay, o.InitialRedeliveryDelay)
	set(&r.BackOffMultiplier, o.BackOffMultiplier)
	set(&r.MaximumRedeliveryDelay, o.MaximumRedeliveryDelay)
	set(&d.Strategy, p.DeadLetter.Strategy)
	set(&d.QueuePrefix, p.DeadLetter.QueuePrefix)
	set(&d.TopicPrefix, p.DeadLetter.TopicPrefix)
	set(&d.DropExpired, p.DeadLetter.DropExpired)
	return r, d, x
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (d *decoder) policies(path string, n *yaml.Node, p *Policies) {
	d.mapping(path, n, []field{
		{"redelivery", func(path string, v *yaml.Node) {
			r := &p.Redelivery
			d.mapping(path, v, []field{
				{"max_redeliveries", d.integer(&r.MaxRedeliveries)},
				{"dlq", d.str(&r.DLQ)},
				{"initial_redelivery_delay", d.duration(&r.InitialRedeliveryDelay)},
				{"back_off_multiplier", d.number(&r.BackOffMultiplier)},
				{"maximum_redelivery_delay", d.duration(&r.MaximumRedeliveryDelay)},
			})
		}},
		{"dead_letter", func(path string, v *yaml.Node) {
			dl := &p.DeadLetter
			d.mapping(path, v, []field{
				{"strategy", d.oneOf(&dl.Strategy, DeadLetterShared, DeadLetterIndividual)},
				{"queue_prefix", d.str(&dl.QueuePrefix)},
				{"topic_prefix", d.str(&dl.TopicPrefix)},
				{"drop_expired", d.boolean(&dl.DropExpired)},
			})
		}},
		{"order", d.oneOf(&p.Dispatch.Order, OrderPriority, OrderFIFO)},
		{"queue_prefetch", d.integer(&p.Dispatch.QueuePrefetch)},
		{"topic_prefetch", d.integer(&p.Dispatch.TopicPrefetch)},
		{"memory_limit", d.size(&p.Dispatch.MemoryLimit)},
		{"producer_flow_control", d.boolean(&p.Dispatch.ProducerFlowControl)},
		{"destinations", func(path string, v *yaml.Node) {
			p.Destinations = nil
			d.sequence(path, v, func(ip string, iv *yaml.Node) {
				var e DestinationPolicy
				d.mapping(ip, iv, []field{
					{"queue", d.str(&e.Queue)},
					{"topic", d.str(&e.Topic)},
					{"order", optional(func(p *string) func(string, *yaml.Node) {
						return d.oneOf(p, OrderPriority, OrderFIFO)
					}, &e.Order)},
					{"queue_prefetch", optional(d.integer, &e.QueuePrefetch)},
					{"topic_prefetch", optional(d.integer, &e.TopicPrefetch)},
					{"memory_limit", optional(d.size, &e.MemoryLimit)},
					{"producer_flow_control", optional(d.boolean, &e.ProducerFlowControl)},
					{"redelivery", func(path string, v *yaml.Node) {
						o := &e.Redelivery
						d.mapping(path, v, []field{
							{"max_redeliveries", optional(d.integer, &o.MaxRedeliveries)},
							{"dlq", optional(d.str, &o.DLQ)},
							{"initial_redelivery_delay", optional(d.duration, &o.InitialRedeliveryDelay)},
							{"back_off_multiplier", optional(d.number, &o.BackOffMultiplier)},
							{"maximum_redelivery_delay", optional(d.duration, &o.MaximumRedeliveryDelay)},
						})
					}},
					{"dead_letter", func(path string, v *yaml.Node) {
						o := &e.DeadLetter
						d.mapping(path, v, []field{
							{"strategy", optional(func(p *string) func(string, *yaml.Node) {
								return d.oneOf(p, DeadLetterShared, DeadLetterIndividual)
							}, &o.Strategy)},
							{"queue_prefix", optional(d.str, &o.QueuePrefix)},
							{"topic_prefix", optional(d.str, &o.TopicPrefix)},
							{"drop_expired", optional(d.boolean, &o.DropExpired)},
						})
					}},
				})
				p.Destinations = append(p.Destinations, e)
			})
		}},
	})
}

// optional decodes into a new value with decode and sets *p to it when the
// key is given (and not null).
func optional[T any](decode func(*T) func(string, *yaml.Node), p **T) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if isNull(resolve(n)) {
			return
		}
		v := new(T)
		decode(v)(path, n)
		*p = v
	}
}

// number decodes a (floating point) number.
func (d *decoder) number(p *float64) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "a number", *p) {
			return
		}
		n, ok := d.scalar(path, n, "a number")
		if !ok {
			return
		}
		tag := n.ShortTag()
		f, err := strconv.ParseFloat(n.Value, 64)
		if (tag != "!!int" && tag != "!!float") || err != nil {
			d.invalid(n, path, ErrInvalid, "expected a number, got %q", n.Value)
			return
		}
		*p = f
	}
}

func (k *checker) policies(p *Policies) {
	k.redelivery("policies.redelivery", p.Redelivery)
	k.deadLetter("policies.dead_letter", p.DeadLetter)
	k.dispatch("policies", p.Dispatch)
	for i, e := range p.Destinations {
		path := fmt.Sprintf("policies.destinations[%d]", i)
		switch {
		case e.Queue == "" && e.Topic == "":
			k.add(ErrMissing, path, "needs a queue or a topic pattern")
		case e.Queue != "" && e.Topic != "":
			k.add(ErrInvalid, path, "has both a queue and a topic pattern; write two entries")
		default:
			key, pat := "queue", e.Queue
			if e.Topic != "" {
				key, pat = "topic", e.Topic
			}
			if err := checkPattern(pat); err != nil {
				k.add(ErrInvalid, path+"."+key, "%q: %v", pat, err)
			}
		}
		r, d, x := e.Resolve(*p)
		k.redelivery(path+".redelivery", r)
		k.deadLetter(path+".dead_letter", d)
		k.dispatch(path, x)
	}
}

func (k *checker) redelivery(path string, r Redelivery) {
	if r.MaxRedeliveries < -1 {
		k.add(ErrInvalid, path+".max_redeliveries", "%d is below -1 (-1 means redeliver for ever)", r.MaxRedeliveries)
	}
	if r.DLQ == "" {
		k.add(ErrMissing, path+".dlq", "must not be empty")
	} else if err := checkPattern(r.DLQ); err != nil || containsWildcard(r.DLQ) {
		k.add(ErrInvalid, path+".dlq", "%q is not a queue name", r.DLQ)
	}
	if r.InitialRedeliveryDelay < 0 {
		k.add(ErrInvalid, path+".initial_redelivery_delay", "must not be negative")
	}
	if r.MaximumRedeliveryDelay < 0 {
		k.add(ErrInvalid, path+".maximum_redelivery_delay", "must not be negative (0: no cap)")
	}
	if r.BackOffMultiplier < 1 || r.BackOffMultiplier > 100 {
		k.add(ErrInvalid, path+".back_off_multiplier", "%g: want 1 (a constant delay) to 100", r.BackOffMultiplier)
	}
}

func (k *checker) deadLetter(path string, d DeadLetter) {
	for _, f := range []struct{ key, v string }{{"queue_prefix", d.QueuePrefix}, {"topic_prefix", d.TopicPrefix}} {
		if d.Strategy == DeadLetterIndividual && (f.v == "" || containsWildcard(f.v) || checkPattern(f.v+"x") != nil) {
			k.add(ErrInvalid, path+"."+f.key, "%q cannot start a queue name", f.v)
		}
	}
}

func (k *checker) dispatch(path string, x Dispatch) {
	if x.MemoryLimit < 0 || x.MemoryLimit > 0 && x.MemoryLimit < 64*KiB {
		k.add(ErrInvalid, path+".memory_limit", "%s: want 0 (none) or at least 64KiB", x.MemoryLimit)
	}
	for _, f := range []struct {
		key string
		n   int
	}{{"queue_prefetch", x.QueuePrefetch}, {"topic_prefetch", x.TopicPrefetch}} {
		if f.n < 0 || f.n > 1<<20 {
			k.add(ErrInvalid, path+"."+f.key, "%d: want 1 to %d (0: what the consumer asks)", f.n, 1<<20)
		}
	}
}

func containsWildcard(s string) bool {
	for _, r := range s {
		if r == '*' || r == '>' {
			return true
		}
	}
	return false
}
