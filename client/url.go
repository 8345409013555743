package client

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalidURL marks every error ParseURL and ParseBrokerList return for a
// malformed URL, an unknown option or a bad option value.
var ErrInvalidURL = errors.New("client: invalid URL")

// ErrUnsupportedScheme marks a URL whose scheme ActiveMQ knows but Pier's
// client does not speak (auto, vm, discovery, udp, http, ...).
var ErrUnsupportedScheme = errors.New("client: unsupported URL scheme")

// URL is a parsed ActiveMQ connection URL, either a single broker
//
//	tcp://host:61616?keepAlive=true&jms.clientID=app
//	ssl://host:61617?socket.verifyHostName=false
//
// or a failover list
//
//	failover:(tcp://a:61616,tcp://b:61616?soTimeout=5000)?randomize=false&nested.keepAlive=true
//	failover:(ssl://a:61617,ssl://b:61617)
//
// exactly as ActiveMQ 5.17's ActiveMQConnectionFactory and
// FailoverTransportFactory read them (URISupport.parseComposite): options
// after the closing parenthesis belong to the failover transport, options
// inside belong to one broker. Without parentheses,
// failover:tcp://a:61616,tcp://b:61616?x=y, a trailing query belongs to the
// last broker, as in ActiveMQ. Option names are case-sensitive.
type URL struct {
	// Failover is true for a failover: URL. Dial a non-failover URL once
	// and never reconnect.
	Failover bool
	// Brokers lists the brokers in the order written; at least one, no two
	// with the same Host.
	Brokers []BrokerURL
	// Options are the failover transport's options; ActiveMQ's defaults
	// when the URL is not a failover URL.
	Options FailoverOptions
	// Nested holds the failover URL's "nested.NAME" options (key NAME,
	// normalised value): transport options applied to every broker,
	// including broker-pushed ones, overriding the broker's own (ActiveMQ
	// 5.9+). Use Effective to apply them. Nil when none.
	Nested map[string]string
	// JMS holds the "jms.NAME" options of the outermost URI (key NAME):
	// ActiveMQConnectionFactory properties such as clientID or
	// prefetchPolicy.all. Nil when none.
	JMS map[string]string
}

// BrokerURL is one broker address with its transport options.
type BrokerURL struct {
	// Scheme is "tcp", or "nio", which ActiveMQ clients use for the same
	// protocol over Java NIO (Pier dials both over plain TCP); or "ssl" or
	// "nio+ssl": OpenWire over TLS (see TLS and Options.TLS).
	Scheme string
	// Host is host:port with a lower-case host name; IPv6 addresses are in
	// brackets.
	Host string
	// Options holds the transport options written on this URI (names as in
	// ActiveMQ's TCP transport reference, e.g. soTimeout,
	// wireFormat.maxInactivityDuration), values normalised. Nil when none.
	// Transport gives a typed view with defaults.
	Options map[string]string
}

// ParseURL parses an ActiveMQ connection URL (see URL). Unknown options,
// malformed values, a bad port, an empty or duplicated broker list and
// unbalanced parentheses are errors wrapping ErrInvalidURL; schemes other
// than tcp, nio, ssl, nio+ssl and failover wrap ErrUnsupportedScheme.
func ParseURL(s string) (*URL, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !validScheme(scheme) {
		return nil, fmt.Errorf("%w: %q: want tcp://host:port, ssl://host:port or failover:(...)", ErrInvalidURL, s)
	}
	switch scheme = strings.ToLower(scheme); {
	case scheme == "failover":
		return parseFailover(rest)
	case brokerScheme(scheme):
		b, query, err := splitBroker(s)
		if err != nil {
			return nil, err
		}
		u := &URL{Options: DefaultFailoverOptions()}
		b.Options, u.JMS, err = parseTransportQuery(query, true, b.TLS())
		if err != nil {
			return nil, err
		}
		u.Brokers = []BrokerURL{b}
		return u, nil
	}
	return nil, unsupportedScheme(scheme)
}

func unsupportedScheme(scheme string) error {
	return fmt.Errorf("%w: %q is not supported by Pier's client (use tcp://, ssl://, nio://, nio+ssl:// or failover:)",
		ErrUnsupportedScheme, strings.ToLower(scheme))
}

// brokerScheme reports whether Pier's client dials a broker URI of this
// (lower-case) scheme.
func brokerScheme(scheme string) bool {
	switch scheme {
	case "tcp", "nio", "ssl", "nio+ssl":
		return true
	}
	return false
}

// TLS reports whether b is dialled over TLS (ssl:// or nio+ssl://).
func (b BrokerURL) TLS() bool { return b.Scheme == "ssl" || b.Scheme == "nio+ssl" }

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// parseFailover parses what follows "failover:".
func parseFailover(rest string) (*URL, error) {
	ssp := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "//"))
	if strings.Count(ssp, "(") != strings.Count(ssp, ")") {
		return nil, fmt.Errorf("%w: failover:%s: unbalanced parentheses", ErrInvalidURL, rest)
	}
	components, query := ssp, ""
	if strings.HasPrefix(ssp, "(") {
		end := matchParen(ssp)
		if end < 0 {
			return nil, fmt.Errorf("%w: failover:%s: unbalanced parentheses", ErrInvalidURL, rest)
		}
		components = ssp[1:end]
		after := strings.TrimSpace(ssp[end+1:])
		if after != "" && !strings.HasPrefix(after, "?") {
			return nil, fmt.Errorf("%w: failover: unexpected %q after ')': want ?options", ErrInvalidURL, after)
		}
		query = strings.TrimPrefix(after, "?")
	}
	u := &URL{Failover: true, Options: DefaultFailoverOptions()}
	parts := splitTopLevel(components)
	if len(parts) == 1 && strings.TrimSpace(parts[0]) == "" {
		return nil, fmt.Errorf("%w: failover: empty broker list", ErrInvalidURL)
	}
	seen := make(map[string]int)
	for i, p := range parts {
		b, err := parseBroker(strings.TrimSpace(p), i+1)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[b.Host]; dup {
			return nil, fmt.Errorf("%w: failover: broker %d (%s) repeats broker %d", ErrInvalidURL, i+1, b.Host, j)
		}
		seen[b.Host] = i + 1
		u.Brokers = append(u.Brokers, b)
	}
	if err := u.parseFailoverQuery(query); err != nil {
		return nil, err
	}
	return u, nil
}

// matchParen returns the index of the ')' closing s[0]=='(' or -1.
func matchParen(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitTopLevel splits s at commas outside parentheses, like
// URISupport.splitComponents (but keeping a trailing empty part, so that a
// trailing comma is reported).
func splitTopLevel(s string) []string {
	var parts []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[last:i])
				last = i + 1
			}
		}
	}
	return append(parts, s[last:])
}

// parseBroker parses one inner URI of a failover URL; n numbers it in
// errors.
func parseBroker(s string, n int) (BrokerURL, error) {
	if s == "" {
		return BrokerURL{}, fmt.Errorf("%w: failover: broker %d is empty", ErrInvalidURL, n)
	}
	scheme, _, _ := strings.Cut(s, ":")
	switch scheme = strings.ToLower(scheme); {
	case brokerScheme(scheme):
	case scheme == "failover":
		return BrokerURL{}, fmt.Errorf("%w: failover: broker %d: nested failover URLs are not supported", ErrInvalidURL, n)
	default:
		if !strings.Contains(s, "://") {
			return BrokerURL{}, fmt.Errorf("%w: failover: broker %d %q: want tcp://host:port or ssl://host:port", ErrInvalidURL, n, s)
		}
		return BrokerURL{}, unsupportedScheme(scheme)
	}
	b, query, err := splitBroker(s)
	if err != nil {
		return BrokerURL{}, err
	}
	b.Options, _, err = parseTransportQuery(query, false, b.TLS())
	if err != nil {
		return BrokerURL{}, fmt.Errorf("broker %s: %w", b.Host, err)
	}
	return b, nil
}

// splitBroker splits scheme://host:port?query into a BrokerURL without
// options and the raw query.
func splitBroker(s string) (BrokerURL, string, error) {
	scheme, rest, _ := strings.Cut(s, "://")
	if rest == s || strings.ContainsAny(scheme, "/?") {
		return BrokerURL{}, "", fmt.Errorf("%w: %q: want %s://host:port", ErrInvalidURL, s, strings.ToLower(scheme))
	}
	authority, query, _ := strings.Cut(rest, "?")
	if i := strings.IndexAny(authority, "/#"); i >= 0 {
		return BrokerURL{}, "", fmt.Errorf("%w: %q: a path or fragment after host:port is not supported", ErrInvalidURL, s)
	}
	if strings.Contains(query, "#") {
		return BrokerURL{}, "", fmt.Errorf("%w: %q: fragments are not supported", ErrInvalidURL, s)
	}
	host, err := normalizeHostPort(authority)
	if err != nil {
		return BrokerURL{}, "", fmt.Errorf("%w: %q: %v", ErrInvalidURL, s, err)
	}
	return BrokerURL{Scheme: strings.ToLower(scheme), Host: host}, query, nil
}

// normalizeHostPort validates host:port and lower-cases the host.
func normalizeHostPort(hp string) (string, error) {
	if strings.Contains(hp, "@") {
		return "", errors.New("user info (user@host) is not supported; use jms.userName and jms.password")
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", fmt.Errorf("want host:port: %v", err)
	}
	if host == "" {
		return "", errors.New("missing host")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || port != strconv.Itoa(p) {
		return "", fmt.Errorf("port %q: want 1..65535", port)
	}
	if strings.Contains(host, ":") {
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil && !strings.Contains(hp, "[") {
			return "", fmt.Errorf("bad IPv6 address %q", host)
		}
		host = strings.ToLower(host)
		return net.JoinHostPort(host, strconv.Itoa(p)), nil
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", fmt.Errorf("bad host name %q", host)
		}
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(p)), nil
}

// queryPair is one decoded name=value of a query.
type queryPair struct {
	name, value string
	bare        bool // written without '='
}

// splitQuery decodes a query as URISupport.parseQuery does ('&'
// separated, URL-decoded, '+' is a space), but rejects a repeated name.
func splitQuery(q string) ([]queryPair, error) {
	if q == "" {
		return nil, nil
	}
	var out []queryPair
	seen := make(map[string]bool)
	for _, kv := range strings.Split(q, "&") {
		if kv == "" {
			continue
		}
		k, v, hasEq := strings.Cut(kv, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || name == "" {
			return nil, fmt.Errorf("%w: bad option name %q", ErrInvalidURL, k)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: option %s: bad escape in %q", ErrInvalidURL, name, v)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: option %q given twice", ErrInvalidURL, name)
		}
		seen[name] = true
		out = append(out, queryPair{name: name, value: value, bare: !hasEq})
	}
	return out, nil
}

// parseTransportQuery parses a broker URI's query into normalised transport
// options and, when allowJMS (the URI is the outermost one), jms.* options.
// Options of the TLS transport (socket.verifyHostName, ...) are accepted
// only when isTLS (an ssl:// or nio+ssl:// URI): ActiveMQ's TCP transport
// refuses socket options a plain socket does not have.
func parseTransportQuery(q string, allowJMS, isTLS bool) (opts, jms map[string]string, err error) {
	pairs, err := splitQuery(q)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range pairs {
		if rest, ok := strings.CutPrefix(p.name, "jms."); ok {
			if !allowJMS {
				return nil, nil, fmt.Errorf("%w: option %q: jms.* options belong on the failover URL, after ')'", ErrInvalidURL, p.name)
			}
			if jms, err = setOption(jms, "jms", rest, p, jmsOptions); err != nil {
				return nil, nil, err
			}
			continue
		}
		if _, isFailover := failoverOptions[p.name]; isFailover {
			return nil, nil, fmt.Errorf("%w: %q is a failover option: write failover:(uri,...)?%s=...", ErrInvalidURL, p.name, p.name)
		}
		if spec, ok := transportOptions[p.name]; ok && spec.tlsOnly && !isTLS {
			return nil, nil, fmt.Errorf("%w: option %q applies to ssl:// URIs only", ErrInvalidURL, p.name)
		}
		if opts, err = setOption(opts, "transport", p.name, p, transportOptions); err != nil {
			return nil, nil, err
		}
	}
	return opts, jms, nil
}

// setOption validates p against table (under the key name) and stores its
// normalised value in m, allocating m when needed.
func setOption(m map[string]string, where, name string, p queryPair, table map[string]optSpec) (map[string]string, error) {
	spec, ok := table[name]
	if !ok {
		return m, unknownOption(where, name, table)
	}
	v, err := normalizeValue(p.name, p.value, p.bare, spec)
	if err != nil {
		return m, err
	}
	if name == "wireFormat.version" {
		if err := checkWireVersion(v); err != nil {
			return m, err
		}
	}
	if m == nil {
		m = make(map[string]string)
	}
	m[name] = v
	return m, nil
}

func checkWireVersion(v string) error {
	switch v {
	case "1", "9", "10", "11", "12":
		return nil
	}
	return fmt.Errorf("%w: wireFormat.version=%s: Pier speaks OpenWire 1, 9, 10, 11 and 12", ErrInvalidURL, v)
}

// ParseBrokerList parses the comma-separated broker URIs a broker pushes in
// ConnectionControl.connectedBrokers or reconnectTo (and that priorityURIs
// holds). Like FailoverTransport.processNewTransports it skips empty
// entries, drops repeats of a host:port, and keeps the entries it can parse:
// the returned error (wrapping ErrInvalidURL or ErrUnsupportedScheme) lists
// the ones it skipped, so a caller may log it and use the rest.
func ParseBrokerList(s string) ([]BrokerURL, error) {
	var out []BrokerURL
	var errs []error
	seen := make(map[string]bool)
	for i, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		b, err := parseBroker(p, i+1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !seen[b.Host] {
			seen[b.Host] = true
			out = append(out, b)
		}
	}
	return out, errors.Join(errs...)
}

// Effective returns b with the URL's nested.* options applied over b's own
// options (nested wins, as in ActiveMQ). Use it for every broker dialled,
// static or pushed by the broker.
func (u *URL) Effective(b BrokerURL) BrokerURL {
	if len(u.Nested) == 0 {
		return b
	}
	opts := make(map[string]string, len(b.Options)+len(u.Nested))
	for k, v := range b.Options {
		opts[k] = v
	}
	for k, v := range u.Nested {
		opts[k] = v
	}
	b.Options = opts
	return b
}

// String renders u canonically: failover URLs always with parentheses,
// failover options that differ from ActiveMQ's defaults, then nested.* and
// jms.* options, each group sorted by name. The result parses to a URL equal
// to u.
func (u *URL) String() string {
	var sb strings.Builder
	if !u.Failover && len(u.Brokers) == 1 {
		b := u.Brokers[0]
		sb.WriteString(b.String())
		sep := "?"
		if len(b.Options) > 0 {
			sep = "&"
		}
		writeQuery(&sb, sep, "jms.", u.JMS)
		return sb.String()
	}
	sb.WriteString("failover:(")
	for i, b := range u.Brokers {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(b.String())
	}
	sb.WriteByte(')')
	sep := writeQuery(&sb, "?", "", u.Options.nonDefault())
	sep = writeQuery(&sb, sep, "nested.", u.Nested)
	writeQuery(&sb, sep, "jms.", u.JMS)
	return sb.String()
}

// String renders b as scheme://host:port?options with sorted options.
func (b BrokerURL) String() string {
	var sb strings.Builder
	sb.WriteString(b.Scheme)
	sb.WriteString("://")
	sb.WriteString(b.Host)
	writeQuery(&sb, "?", "", b.Options)
	return sb.String()
}

// writeQuery appends m's entries, sorted, as prefix+name=value, the first
// preceded by sep; it returns the separator for what follows.
func writeQuery(sb *strings.Builder, sep, prefix string, m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sb.WriteString(sep)
		sb.WriteString(escapeQuery(prefix + k))
		sb.WriteByte('=')
		sb.WriteString(escapeQuery(m[k]))
		sep = "&"
	}
	return sep
}

// escapeQuery percent-encodes everything that would change how a query
// inside a failover URL splits or decodes, leaving URIs readable.
func escapeQuery(s string) string {
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:/@!$*;[]", c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&15])
	}
	return sb.String()
}

// Unsupported lists the options of u that ActiveMQ accepts but Pier's
// client does not honour, as "where: name=value" (where is "failover",
// "nested", "jms" or a broker's host:port), sorted. Options set to a value
// that changes nothing in Pier (for example wireFormat.tightEncodingEnabled
// =false or backup=false) are not listed. Callers should warn about each.
func (u *URL) Unsupported() []string {
	var out []string
	for _, kv := range u.Options.unsupported() {
		out = append(out, "failover: "+kv)
	}
	out = append(out, unsupportedIn("nested", u.Nested, transportOptions)...)
	out = append(out, unsupportedIn("jms", u.JMS, jmsOptions)...)
	for _, b := range u.Brokers {
		out = append(out, unsupportedIn(b.Host, b.Options, transportOptions)...)
	}
	sort.Strings(out)
	return out
}

func unsupportedIn(where string, m map[string]string, table map[string]optSpec) []string {
	var out []string
	for k, v := range m {
		if spec, ok := table[k]; ok && !spec.supported && (v != spec.inert || spec.kind == kindString && spec.inert == "") {
			out = append(out, where+": "+k+"="+v)
		}
	}
	return out
}
