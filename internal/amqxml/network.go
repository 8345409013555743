package amqxml

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/piermq/pier/internal/config"
)

// ignoredBridgeAttrs are <networkConnector> attributes Pier has no use for.
var ignoredBridgeAttrs = map[string]string{
	"messageTTL":                          "networkTTL applies",
	"consumerTTL":                         "networkTTL applies",
	"suppressDuplicateQueueSubscriptions": "",
	"suppressDuplicateTopicSubscriptions": "",
	"bridgeTempDestinations":              "",
	"alwaysSyncSend":                      "Pier's bridges send persistent messages synchronously",
	"useCompression":                      "",
	"advisoryForFailedForward":            "",
	"gcDestinationViews":                  "",
	"localUri":                            "",
	"brokerName":                          "",
	"syncDurableSubs":                     "",
	"staticBridge":                        "",
	"useVirtualDestSubs":                  "",
	"checkDuplicateMessagesOnDuplex":      "",
	"advisoryPrefetchSize":                "",
	"advisoryAckPercentage":               "",
	"dispatchAsync":                       "",
	"conduitNetworkQueueSubscriptions":    "",
}

func (im *importer) networkConnectors(k *elem) {
	for _, n := range k.kids {
		n.used = true
		switch n.name {
		case "networkConnector":
			im.networkConnector(n)
		case "multicastNetworkConnector", "ldapNetworkConnector":
			im.fail(n, "<%s>: Pier bridges only to brokers listed in static:(...) or masterslave:(...) URIs", n.name)
		default:
			im.fail(n, "<%s> in <networkConnectors> not understood", n.name)
		}
	}
}

func (im *importer) networkConnector(n *elem) {
	name, ok := im.get(n, "name")
	if !ok || name == "" {
		name = "bridge"
		if len(im.bridges) > 0 {
			name = fmt.Sprintf("bridge%d", len(im.bridges)+1)
		}
	}
	for _, prev := range im.bridges {
		if prev == name {
			im.fail(n, "network connector %q: a second connector with the same name; give each a name=\"...\"", name)
			return
		}
	}
	im.bridges = append(im.bridges, name)
	raw, ok := im.get(n, "uri")
	if !ok {
		im.fail(n, "network connector %q: no uri", name)
		return
	}
	uri, err := bridgeURI(raw)
	if err != nil {
		im.fail(n, "network connector %q: %v", name, err)
		return
	}
	it := im.out.item("network_connectors")
	it.set("name", name, n, "<networkConnector name>")
	it.set("uri", uri, n, "<networkConnector uri>")
	for _, b := range []struct{ attr, key string }{
		{"duplex", "duplex"}, {"conduitSubscriptions", "conduit_subscriptions"}, {"dynamicOnly", "dynamic_only"},
		{"decreaseNetworkConsumerPriority", "decrease_network_consumer_priority"},
	} {
		if v, ok := im.get(n, b.attr); ok {
			it.set(b.key, im.boolean(n, b.attr, v), n, "<networkConnector "+b.attr+">")
		}
	}
	for _, i := range []struct{ attr, key string }{{"networkTTL", "network_ttl"}, {"prefetchSize", "prefetch_size"}} {
		if v, ok := im.get(n, i.attr); ok {
			if x, ok := im.integer(n, i.attr, v); ok {
				it.set(i.key, x, n, "<networkConnector "+i.attr+">")
			}
		}
	}
	if v, ok := im.get(n, "userName"); ok {
		it.set("username", v, n, "<networkConnector userName>")
	}
	if v, ok := im.get(n, "password"); ok {
		it.set("password", v, n, "<networkConnector password>")
	}
	for _, list := range []struct{ elem, key string }{
		{"excludedDestinations", "excluded_destinations"},
		{"dynamicallyIncludedDestinations", "dynamically_included_destinations"},
		{"staticallyIncludedDestinations", "statically_included_destinations"},
	} {
		l := n.child(list.elem)
		if l == nil {
			continue
		}
		var dests []string
		for _, d := range l.kids {
			d.used = true
			name, ok := im.get(d, "physicalName")
			if !ok {
				im.fail(d, "<%s> in <%s> without physicalName", d.name, list.elem)
				continue
			}
			switch d.name {
			case "queue":
				dests = append(dests, "queue://"+name)
			case "topic":
				dests = append(dests, "topic://"+name)
			case "tempQueue", "tempTopic":
				im.warn(d, "<%s> in <%s> ignored: bridges never forward temporary destinations unless asked by a consumer", d.name, list.elem)
			default:
				im.fail(d, "<%s> in <%s>: want <queue physicalName=\"...\"/> or <topic .../>", d.name, list.elem)
			}
		}
		if len(dests) > 0 {
			it.set(list.key, dests, l, "<"+list.elem+">")
		}
	}
	for _, k := range n.kids {
		if !k.used {
			k.used = true
			markAll(k)
			im.fail(k, "<%s> in <networkConnector> not understood", k.name)
		}
	}
	im.restAttrs(n, ignoredBridgeAttrs)
}

// bridgeURI checks a networkConnector URI and writes it as Pier reads it:
// static:(a,b) or static:{a,b} (braces as the seed writes them) become
// static:(a,b); masterslave:(a,b,c) (one group behind a failover list)
// becomes static:(failover:(a,b,c)). Every member's port is checked, so a
// typo is found here with the member named.
func bridgeURI(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return "", fmt.Errorf("uri %q: want static:(tcp://host:port,...)", raw)
	}
	switch scheme {
	case "static", "masterslave":
	case "tcp", "ssl", "nio", "nio+ssl", "failover":
		// A single member.
		rest = "(" + raw + ")"
		scheme = "static"
	case "multicast", "zeroconf", "rendezvous":
		return "", fmt.Errorf("uri %q: %s discovery is not supported; list the brokers in static:(tcp://host:port,...)", raw, scheme)
	default:
		return "", fmt.Errorf("uri %q: scheme %q not supported (static:, masterslave:)", raw, scheme)
	}
	open, close := byte('('), byte(')')
	if strings.HasPrefix(rest, "{") {
		open, close = '{', '}'
	}
	if len(rest) == 0 || rest[0] != open {
		return "", fmt.Errorf("uri %q: want %s:(uri,uri,...)", raw, scheme)
	}
	end := strings.LastIndexByte(rest, close)
	if end < 0 {
		return "", fmt.Errorf("uri %q: the list is not closed", raw)
	}
	body, tail := rest[1:end], rest[end+1:]
	if tail != "" && !strings.HasPrefix(tail, "?") {
		return "", fmt.Errorf("uri %q: unexpected %q after the list", raw, tail)
	}
	members := config.SplitList(body)
	out := make([]string, 0, len(members))
	for i, m := range members {
		m = strings.TrimSpace(m)
		if err := checkMemberURI(m); err != nil {
			return "", fmt.Errorf("member %d of %d, %s: %v", i+1, len(members), m, err)
		}
		out = append(out, normalizeMember(m))
	}
	list := strings.Join(out, ",")
	if scheme == "masterslave" {
		return "static:(failover:(" + list + "))" + tail, nil
	}
	return "static:(" + list + ")" + tail, nil
}

func checkMemberURI(m string) error {
	if m == "" {
		return fmt.Errorf("empty member")
	}
	if rest, ok := strings.CutPrefix(m, "failover:"); ok {
		rest = strings.TrimPrefix(rest, "(")
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[:i]
		}
		for _, f := range config.SplitList(rest) {
			if err := checkMemberURI(strings.TrimSpace(f)); err != nil {
				return fmt.Errorf("%s: %v", strings.TrimSpace(f), err)
			}
		}
		return nil
	}
	scheme, hostport, ok := strings.Cut(m, "://")
	if !ok {
		return fmt.Errorf("want tcp://host:port")
	}
	switch scheme {
	case "tcp", "nio", "ssl", "nio+ssl", "auto", "auto+ssl":
	default:
		return fmt.Errorf("scheme %q: bridges speak OpenWire (tcp:// or ssl://)", scheme)
	}
	hostport, _, _ = strings.Cut(hostport, "?")
	hostport = strings.TrimSuffix(hostport, "/")
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return fmt.Errorf("no port")
	}
	if hostport[:i] == "" {
		return fmt.Errorf("no host")
	}
	if err := config.CheckPort(hostport[i+1:]); err != nil {
		return err
	}
	if _, err := url.Parse(scheme + "://" + hostport); err != nil {
		return err
	}
	return nil
}

// normalizeMember writes ActiveMQ's nio and auto schemes as the plain ones
// they dial.
func normalizeMember(m string) string {
	for _, r := range []struct{ from, to string }{{"nio+ssl://", "ssl://"}, {"auto+ssl://", "ssl://"}, {"nio://", "tcp://"}, {"auto://", "tcp://"}} {
		m = strings.ReplaceAll(m, r.from, r.to)
	}
	return m
}
