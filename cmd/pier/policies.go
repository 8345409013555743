package main

import (
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/config"
)

// brokerPolicies turns the policies section into the core's: the default
// policy and one per destination entry (its keys over the defaults).
func brokerPolicies(p config.Policies) (broker.Policy, []broker.DestinationPolicy) {
	def := corePolicy(p.Redelivery, p.DeadLetter, p.Dispatch)
	var out []broker.DestinationPolicy
	for _, e := range p.Destinations {
		r, d, x := e.Resolve(p)
		dp := broker.DestinationPolicy{Pattern: e.Queue, Policy: corePolicy(r, d, x)}
		if e.Topic != "" {
			dp.Topic, dp.Pattern = true, e.Topic
		}
		out = append(out, dp)
	}
	return def, out
}

func corePolicy(r config.Redelivery, d config.DeadLetter, x config.Dispatch) broker.Policy {
	return broker.Policy{
		MaxRedeliveries: r.MaxRedeliveries, DLQ: r.DLQ,
		RedeliveryDelay: r.InitialRedeliveryDelay, BackOffMultiplier: r.BackOffMultiplier,
		MaxRedeliveryDelay: r.MaximumRedeliveryDelay,
		IndividualDLQ:      d.Strategy == config.DeadLetterIndividual, QueuePrefix: d.QueuePrefix, TopicPrefix: d.TopicPrefix,
		DropExpired: d.DropExpired,
		FIFO:        x.Order == config.OrderFIFO, QueuePrefetch: x.QueuePrefetch, TopicPrefetch: x.TopicPrefetch,
		MemoryLimit: int64(x.MemoryLimit), NoProducerFlowControl: !x.ProducerFlowControl,
	}
}
