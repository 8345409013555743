package amqxml

import (
	"slices"
	"strings"
	"time"

	"github.com/piermq/pier/internal/config"
)

// ignoredPolicyAttrs are policyEntry attributes with no meaning in Pier.
var ignoredPolicyAttrs = map[string]string{
	"gcInactiveDestinations":            "Pier keeps empty destinations (they cost ~2 KiB)",
	"inactiveTimoutBeforeGC":            "",
	"inactiveTimeoutBeforeGC":           "",
	"expireMessagesPeriod":              "Pier expires messages as it dispatches and on its own schedule",
	"useCache":                          "",
	"optimizedDispatch":                 "",
	"lazyDispatch":                      "",
	"maxPageSize":                       "",
	"maxBrowsePageSize":                 "",
	"maxExpirePageSize":                 "",
	"cursorMemoryHighWaterMark":         "",
	"storeUsageHighWaterMark":           "",
	"durableTopicPrefetch":              "durable subscribers use topic_prefetch",
	"queueBrowserPrefetch":              "",
	"advisoryForConsumed":               "",
	"advisoryForDelivery":               "",
	"advisoryForDiscardingMessages":     "",
	"advisoryForFastProducers":          "",
	"advisoryForSlowConsumers":          "",
	"advisoryWhenFull":                  "",
	"sendAdvisoryIfNoConsumers":         "",
	"enableAudit":                       "",
	"maxAuditDepth":                     "",
	"maxProducersToAudit":               "",
	"allConsumersExclusiveByDefault":    "",
	"reduceMemoryFootprint":             "",
	"persistJMSRedelivered":             "",
	"strictOrderDispatch":               "",
	"timeBeforeDispatchStarts":          "",
	"consumersBeforeDispatchStarts":     "",
	"minimumMessageSize":                "",
	"blockedProducerWarningInterval":    "",
	"doOptimzeMessageStorage":           "",
	"optimizeMessageStoreInFlightLimit": "",
	"usePrefetchExtension":              "",
	"includeBodyForAdvisory":            "",
	"sendFailIfNoSpace":                 "",
	"sendFailIfNoSpaceAfterTimeout":     "",
}

// ignoredPolicyKids are policyEntry children that tune ActiveMQ's
// internals (cursors, slow consumers of topics, recovery of retroactive
// subscriptions) and change nothing a client relies on.
var ignoredPolicyKids = map[string]bool{
	"pendingMessageLimitStrategy": true, "dispatchPolicy": true, "subscriptionRecoveryPolicy": true,
	"pendingQueuePolicy": true, "pendingSubscriberPolicy": true, "pendingDurableSubscriberPolicy": true,
	"messageEvictionStrategy": true, "slowConsumerStrategy": true, "messageGroupMapFactory": true,
	"networkBridgeFilterFactory": true,
}

// policy is one translated entry, by kind and pattern, so that a
// destination policy and a redelivery policy of the same pattern end up in
// one Pier entry.
type policy struct {
	kind, pattern string
	from          *elem
	node          *ynode
}

// kindPattern reads an entry's queue="..." or topic="..." pattern.
func (im *importer) kindPattern(e *elem) (kind, pattern string, ok bool) {
	if v, ok := im.get(e, "queue"); ok {
		return "queue", v, true
	}
	if v, ok := im.get(e, "topic"); ok {
		return "topic", v, true
	}
	return "", "", false
}

func (im *importer) policyFor(kind, pattern string, from *elem) *ynode {
	for _, p := range im.policies {
		if p.kind == kind && p.pattern == pattern {
			return p.node
		}
	}
	n := &ynode{}
	n.set(kind, pattern, from, "<"+from.name+" "+kind+">")
	im.policies = append(im.policies, &policy{kind: kind, pattern: pattern, from: from, node: n})
	return n
}

// finishPolicies writes the entries in the order ActiveMQ prefers them:
// ActiveMQ picks, among the entries matching a destination, the one whose
// pattern sorts last; Pier takes the first match, so the entries are
// written from the last in that order to the first.
func (im *importer) finishPolicies() {
	ps := slices.Clone(im.policies)
	slices.SortStableFunc(ps, func(a, b *policy) int { return strings.Compare(b.pattern, a.pattern) })
	for _, p := range ps {
		s := im.out.at("policies.destinations")
		s.seq = true
		s.kids = append(s.kids, p.node)
	}
}

func (im *importer) destinationPolicy(d *elem) {
	pm := d.child("policyMap")
	if pm == nil {
		im.fail(d, "<destinationPolicy> without <policyMap>")
		return
	}
	// ActiveMQ's queues are first in, first out unless an entry sets
	// prioritizedMessages.
	im.out.set("policies.order", "fifo", pm, "ActiveMQ's default: prioritizedMessages=\"false\"")
	if de := pm.child("defaultEntry"); de != nil {
		for _, e := range de.children("policyEntry") {
			im.policyEntry(e, im.out.at("policies"))
		}
	}
	if pe := pm.child("policyEntries"); pe != nil {
		for _, e := range pe.children("policyEntry") {
			kind, pattern, ok := im.kindPattern(e)
			if ok {
				im.policyEntry(e, im.policyFor(kind, pattern, e))
				continue
			}
			if v, ok := im.get(e, "tempQueue"); ok && v == "true" {
				im.warn(e, "<policyEntry tempQueue=\"true\"> ignored: temporary queues take the defaults")
				markAll(e)
				continue
			} else if v, ok := im.get(e, "tempTopic"); ok && v == "true" {
				im.warn(e, "<policyEntry tempTopic=\"true\"> ignored: temporary topics take the defaults")
				markAll(e)
				continue
			} else {
				im.fail(e, "<policyEntry> without queue=\"...\" or topic=\"...\"")
			}
		}
	}
}

// policyEntry writes one ActiveMQ policy entry's settings into dst (the
// policies section for a default entry, else a destination entry).
func (im *importer) policyEntry(e *elem, dst *ynode) {
	src := func(a string) string { return "<policyEntry " + a + ">" }
	if v, ok := im.get(e, "producerFlowControl"); ok {
		dst.set("producer_flow_control", im.boolean(e, "producerFlowControl", v), e, src("producerFlowControl"))
	}
	if v, ok := im.get(e, "memoryLimit"); ok {
		if n, ok := im.size(e, "memoryLimit", v); ok {
			dst.set("memory_limit", config.Size(n).String(), e, src("memoryLimit"))
		}
	}
	for _, p := range []struct{ attr, key string }{{"queuePrefetch", "queue_prefetch"}, {"topicPrefetch", "topic_prefetch"}} {
		if v, ok := im.get(e, p.attr); ok {
			if n, ok := im.integer(e, p.attr, v); ok {
				dst.set(p.key, n, e, src(p.attr))
			}
		}
	}
	if v, ok := im.get(e, "prioritizedMessages"); ok {
		order := "fifo"
		if im.boolean(e, "prioritizedMessages", v) {
			order = "priority"
		}
		dst.set("order", order, e, src("prioritizedMessages"))
	}
	for _, k := range e.kids {
		switch {
		case k.name == "deadLetterStrategy":
			k.used = true
			im.deadLetter(k, dst)
		case ignoredPolicyKids[k.name]:
			markAll(k)
			im.warn(k, "<%s> ignored: it tunes ActiveMQ's internals", k.name)
		}
	}
	im.restAttrs(e, ignoredPolicyAttrs)
}

func (im *importer) deadLetter(d *elem, dst *ynode) {
	for _, s := range d.kids {
		s.used = true
		switch s.name {
		case "individualDeadLetterStrategy":
			dst.set("dead_letter.strategy", "individual", s, "<individualDeadLetterStrategy>")
			if v, ok := im.get(s, "queuePrefix"); ok {
				dst.set("dead_letter.queue_prefix", v, s, "<individualDeadLetterStrategy queuePrefix>")
			}
			if v, ok := im.get(s, "topicPrefix"); ok {
				dst.set("dead_letter.topic_prefix", v, s, "<individualDeadLetterStrategy topicPrefix>")
			}
			im.processExpired(s, dst)
			im.restAttrs(s, map[string]string{
				"useQueueForQueueMessages":        "Pier's dead letters of queues always go to queues",
				"useQueueForTopicMessages":        "Pier's dead letters of topics always go to queues",
				"processNonPersistent":            "",
				"enableAudit":                     "",
				"expiration":                      "",
				"destinationPerDurableSubscriber": "",
				"queueSuffix":                     "",
				"topicSuffix":                     "",
			})
		case "sharedDeadLetterStrategy":
			dst.set("dead_letter.strategy", "shared", s, "<sharedDeadLetterStrategy>")
			im.processExpired(s, dst)
			if q := s.child("deadLetterQueue"); q != nil {
				for _, k := range q.kids {
					k.used = true
					if name, ok := im.get(k, "physicalName"); ok && k.name == "queue" {
						dst.set("redelivery.dlq", name, k, "<sharedDeadLetterStrategy><deadLetterQueue>")
					} else {
						im.fail(k, "<deadLetterQueue> wants <queue physicalName=\"...\"/>")
					}
				}
			}
			im.restAttrs(s, map[string]string{"processNonPersistent": "", "enableAudit": "", "expiration": ""})
		case "discardingDeadLetterStrategy":
			im.warn(s, "<discardingDeadLetterStrategy>: Pier keeps dead letters in the dead letter queue instead of dropping them")
			markAll(s)
		default:
			im.fail(s, "<%s> in <deadLetterStrategy> not understood", s.name)
		}
	}
}

func (im *importer) processExpired(s *elem, dst *ynode) {
	if v, ok := im.get(s, "processExpired"); ok {
		dst.set("dead_letter.drop_expired", !im.boolean(s, "processExpired", v), s, "not <"+s.name+" processExpired>")
	}
}

func (im *importer) systemUsage(s *elem) {
	su := s.child("systemUsage")
	if su == nil {
		im.fail(s, "<systemUsage> without the inner <systemUsage>")
		return
	}
	if mu := su.child("memoryUsage"); mu != nil {
		if m := mu.child("memoryUsage"); m != nil {
			if v, ok := im.get(m, "limit"); ok {
				if n, ok := im.size(m, "limit", v); ok {
					im.out.set("limits.memory", config.Size(n).String(), m, "<memoryUsage limit>")
				}
			}
			if _, ok := im.get(m, "percentOfJvmHeap"); ok {
				im.warn(m, "<memoryUsage percentOfJvmHeap> ignored: Pier has no JVM heap; limits.memory keeps its default (256MiB) unless a limit is given")
			}
			im.restAttrs(m, nil)
		}
	}
	if su := su.child("storeUsage"); su != nil {
		if m := su.child("storeUsage"); m != nil {
			if v, ok := im.get(m, "limit"); ok {
				if n, ok := im.size(m, "limit", v); ok {
					im.storeLimit, im.storeLimitFrom = n, m
				}
			}
			im.restAttrs(m, map[string]string{"name": ""})
		}
	}
	for _, k := range su.kids {
		switch k.name {
		case "tempUsage":
			k.used = true
			markAll(k)
			im.warn(k, "<tempUsage> ignored: Pier has no temporary store; non-persistent messages past the memory limit hold their producers back")
		case "jobSchedulerUsage":
			k.used = true
			markAll(k)
			im.warn(k, "<jobSchedulerUsage> ignored: scheduled jobs count against the store's limit")
		}
	}
	im.restAttrs(su, map[string]string{"sendFailIfNoSpace": "", "sendFailIfNoSpaceAfterTimeout": ""})
}

// redeliveryPolicy reads one ActiveMQ RedeliveryPolicy into dst's
// redelivery section.
func (im *importer) redeliveryPolicy(r *elem, dst *ynode) {
	src := func(a string) string { return "<redeliveryPolicy " + a + ">" }
	if v, ok := im.get(r, "maximumRedeliveries"); ok {
		if n, ok := im.integer(r, "maximumRedeliveries", v); ok {
			dst.set("redelivery.max_redeliveries", n, r, src("maximumRedeliveries"))
		}
	}
	ms := func(attr string) (time.Duration, bool) {
		v, ok := im.get(r, attr)
		if !ok {
			return 0, false
		}
		n, ok := im.integer(r, attr, v)
		return time.Duration(n) * time.Millisecond, ok
	}
	initial, hasInitial := ms("initialRedeliveryDelay")
	delay, hasDelay := ms("redeliveryDelay")
	exp := false
	if v, ok := im.get(r, "useExponentialBackOff"); ok {
		exp = im.boolean(r, "useExponentialBackOff", v)
	}
	switch {
	case hasInitial && initial > 0:
		dst.set("redelivery.initial_redelivery_delay", initial.String(), r, src("initialRedeliveryDelay"))
		if hasDelay && !exp && delay != initial {
			im.warn(r, "<redeliveryPolicy redeliveryDelay> %s after a first delay of %s: Pier waits the first delay each time (times back_off_multiplier)", delay, initial)
		}
	case hasDelay:
		dst.set("redelivery.initial_redelivery_delay", delay.String(), r, src("redeliveryDelay"))
	}
	if exp {
		mult := 5.0 // ActiveMQ's default backOffMultiplier
		if v, ok := im.get(r, "backOffMultiplier"); ok {
			if f, ok := parseFloat(v); ok {
				mult = f
			} else {
				im.fail(r, "<redeliveryPolicy backOffMultiplier=%q>: not a number", v)
			}
		}
		dst.set("redelivery.back_off_multiplier", mult, r, src("useExponentialBackOff, backOffMultiplier"))
	} else if _, ok := r.attr("backOffMultiplier"); ok {
		im.warn(r, "<redeliveryPolicy backOffMultiplier> ignored without useExponentialBackOff=\"true\"")
	}
	if d, ok := ms("maximumRedeliveryDelay"); ok && d > 0 {
		dst.set("redelivery.maximum_redelivery_delay", d.String(), r, src("maximumRedeliveryDelay"))
	}
	im.restAttrs(r, map[string]string{"collisionAvoidancePercent": "", "useCollisionAvoidance": "", "preDispatchCheck": ""})
}
