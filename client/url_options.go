package client

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// This file holds the tables of URL options ActiveMQ 5.17 accepts, with
// their types, defaults and whether Pier's client honours them. Option names
// are ActiveMQ's bean property names (IntrospectionSupport sets every setter
// named by a URI option), so they are case-sensitive, as in Java.

// optKind is how an option's value is parsed and normalised.
type optKind uint8

const (
	kindBool   optKind = iota // true or false, any case
	kindInt                   // decimal int32 (Java int)
	kindLong                  // decimal int64 (Java long); delays in ms
	kindFloat                 // finite decimal float
	kindString                // any text; a bare key (no '=') is allowed
)

// optSpec describes one URL option.
type optSpec struct {
	kind optKind
	def  string // ActiveMQ's default, normalised; "" when it has none
	min  int64  // smallest accepted value of an integer option
	// supported: Pier's client honours the option. Otherwise it is parsed,
	// validated and reported by URL.Unsupported, unless its value equals
	// inert (a value that changes nothing in Pier's client).
	supported bool
	inert     string
	doc       string
	// tlsOnly: an option of ActiveMQ's SSL transport, accepted on ssl://
	// and nio+ssl:// URIs (and as nested.*, which applies it to those).
	tlsOnly bool
}

const noMin = math.MinInt64

// transportOptions are the options of one tcp:// (or nio://) URI:
// TcpTransport, the InactivityMonitor, TcpTransportFactory and
// OpenWireFormatFactory ("wireFormat." prefix) of activemq-client 5.17.6;
// an ssl:// (or nio+ssl://) URI takes them too, and the SSL socket's
// options (tlsOnly).
var transportOptions = map[string]optSpec{
	"connectionTimeout": {kind: kindInt, def: "30000", min: 0, supported: true, doc: "TCP connect timeout in ms; 0 waits as long as the OS does"},
	"soTimeout":         {kind: kindInt, def: "0", min: 0, supported: true, doc: "socket read timeout in ms; 0 none"},
	"soWriteTimeout":    {kind: kindLong, def: "0", min: 0, supported: true, doc: "socket write timeout in ms after which the socket is closed; 0 none"},
	"keepAlive":         {kind: kindBool, def: "false", supported: true, doc: "TCP SO_KEEPALIVE (not OpenWire KeepAliveInfo)"},
	"tcpNoDelay":        {kind: kindBool, def: "false", supported: true, doc: "TCP_NODELAY; false leaves Nagle on, as Java does by default"},
	"useInactivityMonitor": {kind: kindBool, def: "true", supported: true,
		doc: "false disables the inactivity monitor: the connection never times out"},
	"useKeepAlive": {kind: kindBool, def: "true", supported: true, doc: "send KeepAliveInfo on an idle connection"},
	"wireFormat.maxInactivityDuration": {kind: kindLong, def: "30000", min: 0, supported: true,
		doc: "ms without traffic after which the connection is considered dead; offered in WireFormatInfo, the smaller side wins, 0 disables"},
	"wireFormat.maxInactivityDurationInitalDelay": {kind: kindLong, def: "10000", min: 0, supported: true,
		doc: "ms before the inactivity monitor starts (ActiveMQ's spelling, sic)"},
	"wireFormat.maxFrameSize":        {kind: kindLong, def: "9223372036854775807", min: 1, supported: true, doc: "largest frame accepted, bytes"},
	"wireFormat.maxFrameSizeEnabled": {kind: kindBool, def: "true", supported: true, doc: "enforce maxFrameSize"},
	"wireFormat.stackTraceEnabled":   {kind: kindBool, def: "true", supported: true, doc: "offered in WireFormatInfo: send stack traces in exceptions"},
	"wireFormat.tcpNoDelayEnabled":   {kind: kindBool, def: "true", supported: true, doc: "offered in WireFormatInfo"},
	"wireFormat.version":             {kind: kindInt, def: "12", min: 1, supported: true, doc: "highest OpenWire version offered (Pier speaks 1, 9, 10, 11, 12)"},

	// Pier's codec is loose-only without the marshal cache; advertising
	// false is always legal because negotiation ANDs both sides.
	"wireFormat.tightEncodingEnabled": {kind: kindBool, def: "true", inert: "false", doc: "offer tight encoding"},
	"wireFormat.cacheEnabled":         {kind: kindBool, def: "true", inert: "false", doc: "offer the marshal cache"},
	"wireFormat.cacheSize":            {kind: kindInt, def: "1024", min: 0, inert: "1024", doc: "marshal cache entries"},
	"wireFormat.sizePrefixDisabled":   {kind: kindBool, def: "false", inert: "false", doc: "omit the 4-byte frame size prefix"},
	"wireFormat.host":                 {kind: kindString, doc: "host announced in WireFormatInfo; defaults to the URI's host"},
	"wireFormat.providerName":         {kind: kindString, doc: "provider name announced in WireFormatInfo"},
	"wireFormat.providerVersion":      {kind: kindString, doc: "provider version announced in WireFormatInfo"},
	"wireFormat.platformDetails":      {kind: kindString, doc: "platform details announced in WireFormatInfo"},
	"wireFormat.includePlatformDetails": {kind: kindBool, def: "false", inert: "false",
		doc: "announce platform details"},
	"wireFormat": {kind: kindString, def: "default", inert: "default", doc: "wire format factory name"},

	"ioBufferSize":            {kind: kindInt, def: "8192", min: 1, inert: "8192", doc: "buffer between socket and codec, bytes"},
	"socketBufferSize":        {kind: kindInt, def: "65536", min: 1, inert: "65536", doc: "SO_RCVBUF/SO_SNDBUF, bytes"},
	"soLinger":                {kind: kindInt, def: "-2147483648", min: noMin, inert: "-2147483648", doc: "SO_LINGER when > -1"},
	"trafficClass":            {kind: kindInt, def: "0", min: 0, inert: "0", doc: "IP traffic class"},
	"typeOfService":           {kind: kindInt, def: "0", min: 0, inert: "0", doc: "IP type of service, 0..256"},
	"diffServ":                {kind: kindString, doc: "DSCP class (EF, AFxy, CSx or 0..64)"},
	"closeAsync":              {kind: kindBool, def: "true", inert: "true", doc: "close the socket on another thread"},
	"trace":                   {kind: kindBool, def: "false", inert: "false", doc: "log every command (TransportLogger)"},
	"logWriterName":           {kind: kindString, def: "default", inert: "default", doc: "TransportLogger writer"},
	"dynamicManagement":       {kind: kindBool, def: "false", inert: "false", doc: "TransportLogger managed by JMX"},
	"startLogging":            {kind: kindBool, def: "true", inert: "true", doc: "TransportLogger starts logging"},
	"jmxPort":                 {kind: kindInt, def: "1099", min: 0, inert: "1099", doc: "JMX port for TransportLogger"},
	"useLocalHost":            {kind: kindBool, def: "false", inert: "false", doc: "connect as 'localhost' for local hosts"},
	"minmumWireFormatVersion": {kind: kindInt, def: "0", min: 0, inert: "0", doc: "lowest acceptable remote OpenWire version (ActiveMQ's spelling, sic)"},
	"daemon":                  {kind: kindBool, def: "false", inert: "false", doc: "Java daemon reader thread"},
	"threadName":              {kind: kindString, doc: "Java thread naming for debugging"},
	"stackSize":               {kind: kindLong, def: "0", min: 0, inert: "0", doc: "Java reader thread stack size"},
	"connectAttemptTimeout":   {kind: kindLong, def: "0", min: 0, inert: "0", doc: "inactivity monitor: ms allowed for the WireFormatInfo exchange"},
	"initialDelayTime":        {kind: kindLong, def: "0", min: 0, inert: "0", doc: "inactivity monitor initial delay, ms"},
	"readCheckTime":           {kind: kindLong, def: "30000", min: 0, inert: "30000", doc: "inactivity monitor read check, ms"},
	"writeCheckTime":          {kind: kindLong, def: "10000", min: 0, inert: "10000", doc: "inactivity monitor write check, ms"},
	"keepAliveResponseRequired": {kind: kindBool, def: "false", inert: "false",
		doc: "KeepAliveInfo asks for a response"},

	// The SSL socket (SslTransport, "socket." prefix). Certificates and
	// trusted CAs are not URL options in ActiveMQ either (they belong to
	// ActiveMQSslConnectionFactory): here they are Options.TLS.
	"socket.verifyHostName": {kind: kindBool, def: "true", supported: true, tlsOnly: true,
		doc: "check that the broker's certificate names the host dialled (ActiveMQ 5.15.6+: true); false still verifies the chain"},
	"socket.enabledProtocols":    {kind: kindString, tlsOnly: true, doc: "TLS protocol versions to enable (Pier's client: TLS 1.2 and 1.3)"},
	"socket.enabledCipherSuites": {kind: kindString, tlsOnly: true, doc: "cipher suites to enable (Pier's client: Go's defaults)"},
}

// jmsOptions are ActiveMQConnectionFactory properties, written "jms.NAME"
// in the query of the outermost URI (the failover URI, or the tcp URI when
// there is no failover). The subset honoured matches client.Options.
var jmsOptions = map[string]optSpec{
	"clientID":             {kind: kindString, supported: true, doc: "JMS client id of the connection"},
	"userName":             {kind: kindString, supported: true, doc: "user name sent in ConnectionInfo"},
	"password":             {kind: kindString, supported: true, doc: "password sent in ConnectionInfo"},
	"alwaysSyncSend":       {kind: kindBool, def: "false", supported: true, doc: "every send waits for the broker"},
	"sendTimeout":          {kind: kindInt, def: "0", min: 0, supported: true, doc: "ms a synchronous send waits; 0 forever"},
	"closeTimeout":         {kind: kindInt, def: "15000", min: 0, supported: true, doc: "ms close waits for the broker"},
	"watchTopicAdvisories": {kind: kindBool, def: "true", supported: true, doc: "watch temporary destination advisories"},
	"prefetchPolicy.all":   {kind: kindInt, min: 0, supported: true, doc: "sets every prefetch below"},
	"prefetchPolicy.queuePrefetch": {kind: kindInt, def: "1000", min: 0, supported: true,
		doc: "queue consumer prefetch"},
	"prefetchPolicy.topicPrefetch": {kind: kindInt, def: "32767", min: 0, supported: true,
		doc: "topic consumer prefetch"},
	"prefetchPolicy.durableTopicPrefetch": {kind: kindInt, def: "100", min: 0, supported: true,
		doc: "durable subscriber prefetch"},
	"prefetchPolicy.queueBrowserPrefetch": {kind: kindInt, def: "500", min: 0, supported: true,
		doc: "queue browser prefetch"},
	"redeliveryPolicy.maximumRedeliveries": {kind: kindInt, def: "6", min: -1, supported: true,
		doc: "local redeliveries before poison ack; -1 no limit"},
	"redeliveryPolicy.initialRedeliveryDelay": {kind: kindLong, def: "1000", min: 0, supported: true,
		doc: "ms before the first local redelivery"},

	"useAsyncSend":                                {kind: kindBool, def: "false", inert: "false", doc: "persistent sends do not wait for the broker"},
	"dispatchAsync":                               {kind: kindBool, def: "true", inert: "true", doc: "broker dispatches asynchronously"},
	"copyMessageOnSend":                           {kind: kindBool, def: "true", inert: "true", doc: "copy a message when sent"},
	"disableTimeStampsByDefault":                  {kind: kindBool, def: "false", inert: "false", doc: "do not set JMSTimestamp"},
	"optimizeAcknowledge":                         {kind: kindBool, def: "false", inert: "false", doc: "batch acknowledgements"},
	"optimizeAcknowledgeTimeOut":                  {kind: kindLong, def: "300", min: 0, inert: "300", doc: "ms between batched acks"},
	"optimizedAckScheduledAckInterval":            {kind: kindLong, def: "0", min: 0, inert: "0", doc: "ms between scheduled batched acks"},
	"optimizedMessageDispatch":                    {kind: kindBool, def: "true", inert: "true", doc: "larger prefetch for durable subscribers"},
	"useCompression":                              {kind: kindBool, def: "false", inert: "false", doc: "compress message bodies"},
	"useRetroactiveConsumer":                      {kind: kindBool, def: "false", inert: "false", doc: "retroactive topic consumers"},
	"exclusiveConsumer":                           {kind: kindBool, def: "false", inert: "false", doc: "queue consumers are exclusive"},
	"nestedMapAndListEnabled":                     {kind: kindBool, def: "true", inert: "true", doc: "nested maps and lists in properties"},
	"objectMessageSerializationDefered":           {kind: kindBool, def: "false", inert: "false", doc: "defer ObjectMessage serialisation"},
	"producerWindowSize":                          {kind: kindInt, def: "0", min: 0, inert: "0", doc: "bytes of async sends in flight"},
	"connectResponseTimeout":                      {kind: kindInt, def: "0", min: 0, inert: "0", doc: "ms to wait for the ConnectionInfo response"},
	"consumerFailoverRedeliveryWaitPeriod":        {kind: kindLong, def: "0", min: 0, inert: "0", doc: "ms a transacted consumer waits for redeliveries after failover"},
	"checkForDuplicates":                          {kind: kindBool, def: "true", inert: "true", doc: "client-side duplicate suppression"},
	"messagePrioritySupported":                    {kind: kindBool, def: "false", inert: "false", doc: "consumers honour priority"},
	"transactedIndividualAck":                     {kind: kindBool, def: "false", inert: "false", doc: "ack each message in a transaction"},
	"nonBlockingRedelivery":                       {kind: kindBool, def: "false", inert: "false", doc: "redeliver without blocking the consumer"},
	"auditDepth":                                  {kind: kindInt, def: "2048", min: 0, inert: "2048", doc: "duplicate audit window per producer"},
	"auditMaximumProducerNumber":                  {kind: kindInt, def: "64", min: 0, inert: "64", doc: "producers tracked by the duplicate audit"},
	"clientIDPrefix":                              {kind: kindString, doc: "prefix of generated client ids"},
	"connectionIDPrefix":                          {kind: kindString, doc: "prefix of generated connection ids"},
	"statsEnabled":                                {kind: kindBool, def: "false", inert: "false", doc: "JMS statistics"},
	"warnAboutUnstartedConnectionTimeout":         {kind: kindLong, def: "500", min: noMin, inert: "500", doc: "ms before warning about an unstarted connection"},
	"alwaysSessionAsync":                          {kind: kindBool, def: "true", inert: "true", doc: "sessions dispatch on their own thread"},
	"useDedicatedTaskRunner":                      {kind: kindBool, def: "false", inert: "false", doc: "one thread per session"},
	"maxThreadPoolSize":                           {kind: kindInt, def: "1000", min: 1, inert: "1000", doc: "session thread pool size"},
	"rmIdFromConnectionId":                        {kind: kindBool, def: "false", inert: "false", doc: "XA resource manager id from the connection id"},
	"consumerExpiryCheckEnabled":                  {kind: kindBool, def: "true", inert: "true", doc: "consumers drop expired messages"},
	"trustAllPackages":                            {kind: kindBool, def: "false", inert: "false", doc: "ObjectMessage deserialisation allow-list off"},
	"prefetchPolicy.optimizeDurableTopicPrefetch": {kind: kindInt, def: "1000", min: 0, inert: "1000", doc: "durable prefetch with optimizeAcknowledge"},
	"prefetchPolicy.maximumPendingMessageLimit":   {kind: kindInt, def: "0", min: 0, inert: "0", doc: "topic pending limit for slow consumers"},
	"redeliveryPolicy.maximumRedeliveryDelay":     {kind: kindLong, def: "-1", min: -1, inert: "-1", doc: "cap of the redelivery delay, ms; -1 none"},
	"redeliveryPolicy.redeliveryDelay":            {kind: kindLong, def: "1000", min: 0, inert: "1000", doc: "ms between later redeliveries"},
	"redeliveryPolicy.useExponentialBackOff":      {kind: kindBool, def: "false", inert: "false", doc: "grow the redelivery delay"},
	"redeliveryPolicy.backOffMultiplier":          {kind: kindFloat, def: "5", inert: "5", doc: "redelivery delay multiplier"},
	"redeliveryPolicy.useCollisionAvoidance":      {kind: kindBool, def: "false", inert: "false", doc: "randomise the redelivery delay"},
	"redeliveryPolicy.collisionAvoidancePercent":  {kind: kindInt, def: "15", min: 0, inert: "15", doc: "randomisation percent"},
	"redeliveryPolicy.preDispatchCheck":           {kind: kindBool, def: "true", inert: "true", doc: "broker checks redelivery count before dispatch"},
}

// normalizeValue parses raw according to spec and returns its canonical
// text. name is used in error messages only.
func normalizeValue(name, raw string, bare bool, spec optSpec) (string, error) {
	if bare && spec.kind != kindString {
		return "", fmt.Errorf("%w: option %q has no value", ErrInvalidURL, name)
	}
	switch spec.kind {
	case kindBool:
		switch strings.ToLower(raw) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return "", fmt.Errorf("%w: option %s=%q: want true or false", ErrInvalidURL, name, raw)
	case kindInt, kindLong:
		bits := 64
		if spec.kind == kindInt {
			bits = 32
		}
		n, err := strconv.ParseInt(raw, 10, bits)
		if err != nil {
			return "", fmt.Errorf("%w: option %s=%q: want a whole number (int%d)", ErrInvalidURL, name, raw, bits)
		}
		if n < spec.min {
			return "", fmt.Errorf("%w: option %s=%d: must be at least %d", ErrInvalidURL, name, n, spec.min)
		}
		return strconv.FormatInt(n, 10), nil
	case kindFloat:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("%w: option %s=%q: want a finite number", ErrInvalidURL, name, raw)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return raw, nil
}

// unknownOption builds the error for an option no table knows, naming up to
// three close matches.
func unknownOption(where, name string, tables ...map[string]optSpec) error {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	lower := strings.ToLower(name)
	for _, t := range tables {
		for k := range t {
			d := editDistance(lower, strings.ToLower(k))
			if d <= 3 || strings.Contains(strings.ToLower(k), lower) && len(lower) >= 4 {
				cs = append(cs, cand{k, d})
			}
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].name < cs[j].name
	})
	if len(cs) > 3 {
		cs = cs[:3]
	}
	hint := ""
	if len(cs) > 0 {
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.name
		}
		hint = " (did you mean " + strings.Join(names, ", ") + "?)"
	}
	return fmt.Errorf("%w: unknown %s option %q%s", ErrInvalidURL, where, name, hint)
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
