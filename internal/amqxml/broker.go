package amqxml

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/config"
)

// ignoredBrokerAttrs are <broker> attributes that change nothing Pier
// does, with the reason given in the warning.
var ignoredBrokerAttrs = map[string]string{
	"useJmx":                                 "Pier has no JMX; its console, REST API and /metrics show the same figures",
	"useShutdownHook":                        "Pier stops cleanly on SIGTERM",
	"start":                                  "",
	"advisorySupport":                        "Pier always sends the advisories ActiveMQ's clients use",
	"networkConnectorStartAsync":             "Pier starts bridges in the background",
	"useVirtualTopics":                       "Pier's virtual topics (VirtualTopic.> to Consumer.*.VirtualTopic.>) are always on",
	"populateJMSXUserID":                     "",
	"useAuthenticatedPrincipalForJMSXUserID": "",
	"offlineDurableSubscriberTimeout":        "Pier keeps offline durable subscriptions until they are removed",
	"offlineDurableSubscriberTaskSchedule":   "",
	"schedulePeriodForDestinationPurge":      "",
	"maxPurgedDestinationsPerSweep":          "",
	"restartAllowed":                         "",
	"enableStatistics":                       "Pier always keeps statistics",
	"keepDurableSubsActive":                  "",
	"useLocalHostBrokerName":                 "",
	"cacheTempDestinations":                  "",
	"timeBeforePurgeTempDestinations":        "",
	"systemExitOnShutdown":                   "",
	"splitSystemUsageForProducersConsumers":  "",
	"producerSystemUsagePortion":             "",
	"consumerSystemUsagePortion":             "",
	"anonymousProducerAdvisorySupport":       "",
	"allowTempAutoCreationOnSend":            "",
	"shutdownOnMasterFailure":                "",
	"shutdownOnSlaveFailure":                 "",
	"waitForSlave":                           "",
	"rollbackOnlyOnAsyncException":           "",
}

func (im *importer) broker(b *elem) {
	b.used = true
	if v, ok := im.get(b, "brokerName"); ok {
		im.out.set("broker.name", v, b, "<broker brokerName>")
	}
	dataDir, ok := im.get(b, "dataDirectory")
	if ok {
		im.out.set("broker.data_dir", dataDir, b, "<broker dataDirectory>")
	} else {
		im.out.set("broker.data_dir", "activemq-data", b, "ActiveMQ's default dataDirectory")
	}
	if v, ok := im.get(b, "schedulerSupport"); ok {
		im.out.set("broker.scheduler", im.boolean(b, "schedulerSupport", v), b, "<broker schedulerSupport>")
	} else {
		im.out.set("broker.scheduler", false, b, "ActiveMQ's default schedulerSupport=\"false\"")
	}
	if v, ok := im.get(b, "persistent"); ok && !im.boolean(b, "persistent", v) {
		im.warn(b, "<broker persistent=\"false\">: Pier has no memory-only store; persistent messages are kept in the store configured here (its journal by default), so they also survive a restart")
	}
	if v, ok := im.get(b, "deleteAllMessagesOnStartup"); ok && im.boolean(b, "deleteAllMessagesOnStartup", v) {
		im.fail(b, "<broker deleteAllMessagesOnStartup=\"true\">: Pier does not delete stored messages at start; remove the attribute (and purge with `pier queue purge` if that was meant)")
	}
	im.restAttrs(b, ignoredBrokerAttrs)
	im.transports = map[string]*elem{}
	handlers := map[string]func(*elem){
		"transportConnectors": func(k *elem) {
			for _, t := range k.children("transportConnector") {
				im.transportConnector(t)
			}
		},
		"persistenceAdapter": im.persistenceAdapter,
		"persistenceFactory": func(k *elem) {
			markAll(k)
			im.fail(k, "<persistenceFactory>: the journal persistence factory of ActiveMQ 4 is not supported; use <persistenceAdapter><kahaDB directory=\"...\"/></persistenceAdapter>")
		},
		"networkConnectors": im.networkConnectors,
		"destinationPolicy": im.destinationPolicy,
		"systemUsage":       im.systemUsage,
		"plugins":           im.plugins,
		"sslContext":        im.sslContext,
	}
	for _, k := range b.kids {
		if h, ok := handlers[k.name]; ok {
			k.used = true
			h(k)
		}
	}
	im.finishTransports(b)
	im.finishStoreLimit()
}

// finishStoreLimit writes <storeUsage limit> as the journal's limit; the
// SQL store has none of its own (the database's space is the limit).
func (im *importer) finishStoreLimit() {
	if im.storeLimitFrom == nil {
		return
	}
	if k := im.out.walk("store.kind", false); k != nil && k.scalar != nil && *k.scalar == "sql" {
		im.warn(im.storeLimitFrom, "<storeUsage limit> ignored: the SQL store is bounded by the database's space")
		return
	}
	im.out.set("store.journal.max_size", config.Size(im.storeLimit).String(), im.storeLimitFrom, "<storeUsage limit>")
}

// boolean reads an xs:boolean attribute value.
func (im *importer) boolean(e *elem, name, v string) bool {
	switch strings.TrimSpace(strings.ToLower(v)) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	im.fail(e, "%s %s=%q: want true or false", e.path(), name, v)
	return false
}

// integer reads an integer attribute.
func (im *importer) integer(e *elem, name, v string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		im.fail(e, "%s %s=%q: not a whole number", e.path(), name, v)
		return 0, false
	}
	return n, true
}

// size reads an ActiveMQ memory size: a number of bytes with an optional
// kb, mb or gb (any case, a space allowed: "64 mb").
func (im *importer) size(e *elem, name, v string) (int64, bool) {
	s := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		im.fail(e, "%s %s=%q: not a size (bytes, or a number with kb, mb or gb)", e.path(), name, v)
		return 0, false
	}
	return n * mult, true
}

// transportKinds maps ActiveMQ's transport schemes to Pier's transport
// keys and schemes.
var transportKinds = map[string]struct{ key, scheme string }{
	"tcp":           {"openwire", "tcp"},
	"nio":           {"openwire", "tcp"},
	"auto":          {"openwire", "tcp"},
	"auto+nio":      {"openwire", "tcp"},
	"ssl":           {"openwire", "ssl"},
	"nio+ssl":       {"openwire", "ssl"},
	"auto+ssl":      {"openwire", "ssl"},
	"auto+nio+ssl":  {"openwire", "ssl"},
	"stomp":         {"stomp", "stomp"},
	"stomp+nio":     {"stomp", "stomp"},
	"stomp+ssl":     {"stomp", "stomp+ssl"},
	"stomp+nio+ssl": {"stomp", "stomp+ssl"},
	"mqtt":          {"mqtt", "mqtt"},
	"mqtt+nio":      {"mqtt", "mqtt"},
	"ws":            {"ws", "ws"},
	"amqp":          {"amqp", "amqp"},
	"amqp+nio":      {"amqp", "amqp"},
}

// knownTransportOptions are URI options Pier takes over (the first two)
// or that change nothing in Pier.
var knownTransportOptions = map[string]string{
	"maximumConnections":                "",
	"wireFormat.maxFrameSize":           "",
	"transport.maxFrameSize":            "",
	"needClientAuth":                    "",
	"wantClientAuth":                    "",
	"wireFormat.maxInactivityDuration":  "Pier keeps OpenWire connections alive as the client asks",
	"transport.useKeepAlive":            "",
	"transport.soTimeout":               "",
	"transport.tcpNoDelay":              "Pier always sets TCP_NODELAY",
	"transport.trace":                   "",
	"transport.closeAsync":              "",
	"transport.transformer":             "",
	"transport.defaultKeepAlive":        "",
	"transport.hbGracePeriodMultiplier": "",
	"transport.daemon":                  "",
	"trace":                             "",
	"daemon":                            "",
	"updateClusterClients":              "Pier's members always tell failover clients the group's members",
	"rebalanceClusterClients":           "",
	"updateClusterClientsOnRemove":      "",
	"org.apache.activemq.transport.nio.SelectorManager.corePoolSize":    "",
	"org.apache.activemq.transport.nio.SelectorManager.maximumPoolSize": "",
	"allowLinkStealing": "",
}

func (im *importer) transportConnector(t *elem) {
	name, _ := im.get(t, "name")
	raw, ok := im.get(t, "uri")
	if !ok {
		im.fail(t, "<transportConnector> without a uri")
		return
	}
	label := fmt.Sprintf("transport connector %q", name)
	if name == "" {
		label = "transport connector"
	}
	im.connectors++
	scheme, host, port, rawQuery, err := splitURI(raw)
	if err != nil {
		im.fail(t, "%s: %s: %v", label, raw, err)
		return
	}
	kind, ok := transportKinds[scheme]
	if !ok {
		im.fail(t, "%s: scheme %q of %q is not one Pier serves (tcp, nio, ssl, auto, stomp, stomp+ssl, mqtt, ws, amqp)", label, scheme, raw)
		return
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		im.fail(t, "%s: options of %s: %v", label, raw, err)
		return
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if prev := im.transports[kind.key]; prev != nil {
		im.fail(t, "%s: a second %s listener (the first is at line %d): Pier listens on one address per protocol; keep one", label, kind.key, prev.line)
		return
	}
	im.transports[kind.key] = t
	hp := net.JoinHostPort(host, port)
	im.out.set("transports."+kind.key, kind.scheme+"://"+hp, t, fmt.Sprintf("<transportConnector name=%q uri>", name))
	if !config.IsLoopback(hp) {
		im.exposed = append(im.exposed, kind.scheme+"://"+hp)
	}
	if kind.key == "mqtt" || kind.key == "ws" || kind.key == "amqp" {
		im.warn(t, "%s: Pier does not serve %s yet; the listener is kept in the configuration and skipped at start", label, strings.ToUpper(kind.key))
	}
	if scheme == "auto" || strings.HasPrefix(scheme, "auto+") {
		im.warn(t, "%s: %s:// detects the protocol on one port in ActiveMQ; Pier serves OpenWire there (STOMP, MQTT and AMQP have ports of their own)", label, scheme)
	}
	for _, key := range slices.Sorted(maps.Keys(query)) {
		vals := query[key]
		v := vals[len(vals)-1]
		switch key {
		case "maximumConnections":
			if n, ok := im.integer(t, key, v); ok && n > 0 {
				im.maxConns += n
				if im.maxConnsFrom == nil {
					im.maxConnsFrom = t
				}
			}
		case "wireFormat.maxFrameSize", "transport.maxFrameSize":
			if n, ok := im.integer(t, key, v); ok && n > im.maxFrame {
				im.maxFrame, im.maxFrameFrom = n, t
			}
		case "needClientAuth":
			if im.boolean(t, key, v) {
				im.needClientAuth = t
			}
		default:
			why, known := knownTransportOptions[key]
			switch {
			case known && why != "":
				im.warn(t, "%s: option %s ignored: %s", label, key, why)
			case known || strings.HasPrefix(key, "transport.") || strings.HasPrefix(key, "wireFormat."):
				im.warn(t, "%s: option %s ignored", label, key)
			default:
				im.warn(t, "%s: option %s not understood; ignored", label, key)
			}
		}
	}
	for _, a := range t.attrs {
		if !a.used {
			im.warn(t, "<transportConnector %s> ignored", a.name)
		}
	}
}

// finishTransports writes what the connectors set broker-wide, and turns
// off Pier's default listeners that the file does not name (ActiveMQ opens
// only the connectors listed).
func (im *importer) finishTransports(b *elem) {
	if im.connectors == 0 {
		im.fail(b, "<broker> has no <transportConnectors>: clients could not reach it")
		return
	}
	for key, t := range im.transports {
		if u, _ := t.attr("uri"); im.sslFrom == nil && strings.Contains(strings.SplitN(u, ":", 2)[0], "ssl") {
			im.fail(t, "%s over TLS needs the broker's certificate: give it in <sslContext><sslContext keyStore=... keyStorePassword=.../></sslContext> (ActiveMQ may have taken it from the javax.net.ssl.keyStore system properties)", key)
		}
	}
	if im.needClientAuth != nil {
		im.fail(im.needClientAuth, "needClientAuth=true: Pier verifies a client certificate when one is given (against the trust store) and logs clients without one in with a password; requiring a certificate is not supported")
	}
	if im.maxConns > 0 {
		note := "the sum of the connectors' maximumConnections (Pier's limit counts every transport)"
		im.out.set("limits.max_connections", im.maxConns, im.maxConnsFrom, note)
	}
	if im.maxFrame > 0 {
		im.out.set("limits.max_frame_size", config.Size(im.maxFrame).String(), im.maxFrameFrom, "wireFormat.maxFrameSize (the largest of the connectors)")
	}
}

// hostPort splits host:port ([v6]:port too) and checks the port; the
// error says what is wrong with it.
func hostPort(hp string) (host, port string, err error) {
	i := strings.LastIndexByte(hp, ':')
	if i < 0 {
		return "", "", fmt.Errorf("no port in %q", hp)
	}
	host, port = hp[:i], hp[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if err := config.CheckPort(port); err != nil {
		return "", "", err
	}
	return host, port, nil
}

// splitURI splits scheme://host:port[/path][?query], checking the port.
func splitURI(raw string) (scheme, host, port, query string, err error) {
	scheme, after, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return "", "", "", "", fmt.Errorf("%q is not scheme://host:port", raw)
	}
	hp, query, _ := strings.Cut(after, "?")
	hp, _, _ = strings.Cut(hp, "/")
	host, port, err = hostPort(hp)
	return scheme, host, port, query, err
}
