package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/piermq/pier/internal/message"
)

// duplexProperties writes the settings a duplex connector asks the remote
// broker to bridge back with (BrokerInfo.networkProperties), as a URL
// query.
func duplexProperties(c *Connector) string {
	v := url.Values{}
	v.Set("name", c.Name)
	v.Set("conduit_subscriptions", strconv.FormatBool(c.Conduit))
	v.Set("decrease_network_consumer_priority", strconv.FormatBool(c.DecreasePriority))
	v.Set("dynamic_only", strconv.FormatBool(c.DynamicOnly))
	for key, n := range map[string]int{"network_ttl": c.TTL, "prefetch_size": c.Prefetch} {
		if n > 0 { // 0: unset, the default
			v.Set(key, strconv.Itoa(n))
		}
	}
	for _, f := range []struct {
		key  string
		list []message.Destination
	}{{"excluded_destinations", c.Excluded}, {"dynamically_included_destinations", c.DynamicallyIncluded},
		{"statically_included_destinations", c.StaticallyIncluded}} {
		for _, d := range f.list {
			v.Add(f.key, d.String())
		}
	}
	return v.Encode()
}

// parseDuplexProperties reads what duplexProperties wrote.
func parseDuplexProperties(s string) (Connector, error) {
	var c Connector
	v, err := url.ParseQuery(s)
	if err != nil {
		return c, fmt.Errorf("network: duplex properties %q: %w", s, err)
	}
	c.Name = v.Get("name")
	if c.Name == "" || strings.ContainsAny(c.Name, "/\x00\n") {
		return c, fmt.Errorf("network: duplex properties: connector name %q", c.Name)
	}
	for _, f := range []struct {
		key string
		n   *int
	}{{"network_ttl", &c.TTL}, {"prefetch_size", &c.Prefetch}} {
		if x := v.Get(f.key); x != "" {
			if *f.n, err = strconv.Atoi(x); err != nil || *f.n < 1 {
				return c, fmt.Errorf("network: duplex properties: %s %q: want a positive number", f.key, x)
			}
		}
	}
	for _, f := range []struct {
		key string
		b   *bool
	}{{"conduit_subscriptions", &c.Conduit}, {"decrease_network_consumer_priority", &c.DecreasePriority},
		{"dynamic_only", &c.DynamicOnly}} {
		if x := v.Get(f.key); x != "" {
			if *f.b, err = strconv.ParseBool(x); err != nil {
				return c, fmt.Errorf("network: duplex properties: %s %q: want true or false", f.key, x)
			}
		}
	}
	for _, f := range []struct {
		key  string
		into *[]message.Destination
	}{{"excluded_destinations", &c.Excluded}, {"dynamically_included_destinations", &c.DynamicallyIncluded},
		{"statically_included_destinations", &c.StaticallyIncluded}} {
		for _, x := range v[f.key] {
			d, err := message.ParseDestination(x)
			if err != nil {
				return c, fmt.Errorf("network: duplex properties: %s: %w", f.key, err)
			}
			*f.into = append(*f.into, d)
		}
	}
	return c, nil
}

// failoverAddrs returns the addresses of failover:(tcp://a,ssl://b,...)
// as a duplex connector advertises its broker: host:port for tcp://,
// ssl://host:port for ssl:// (see normalizeAddr); member options are
// dropped.
func failoverAddrs(s string) ([]string, error) {
	body, ok := strings.CutPrefix(s, "failover:(")
	body, ok2 := strings.CutSuffix(body, ")")
	if !ok || !ok2 || body == "" {
		return nil, fmt.Errorf("network: duplex URL %q: want failover:(tcp://host:port,...)", s)
	}
	var out []string
	for _, u := range strings.Split(body, ",") {
		u, _, _ = strings.Cut(strings.TrimSpace(u), "?")
		a, err := normalizeAddr(u)
		if err != nil || !strings.Contains(u, "://") {
			return nil, fmt.Errorf("network: duplex URL %q: member %q: want tcp://host:port or ssl://host:port", s, u)
		}
		out = append(out, a)
	}
	return out, nil
}

// normalizeAddr checks a member address and returns it as bridges show
// it: host:port for OpenWire over TCP, ssl://host:port over TLS.
func normalizeAddr(a string) (string, error) {
	scheme, hp, ok := strings.Cut(a, "://")
	if !ok {
		scheme, hp = "tcp", a
	}
	host, port, err := net.SplitHostPort(hp)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("address %q: want host:port, tcp://host:port or ssl://host:port", a)
	}
	switch strings.ToLower(scheme) {
	case "tcp":
		return hp, nil
	case "ssl":
		return "ssl://" + hp, nil
	}
	return "", fmt.Errorf("address %q: want tcp://host:port or ssl://host:port", a)
}

// dialURL is the client URL of a member address (see normalizeAddr).
func dialURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "tcp://" + addr
}

// normalizeMembers returns the validated addresses ms as normalizeAddr
// writes them, in new slices.
func normalizeMembers(ms [][]string) [][]string {
	out := make([][]string, len(ms))
	for i, m := range ms {
		out[i] = make([]string, len(m))
		for j, a := range m {
			out[i][j], _ = normalizeAddr(a)
		}
	}
	return out
}

// DuplexRequest is a remote broker's request to be bridged back to: its
// duplex connector connected to this broker.
type DuplexRequest struct {
	// RemoteID and RemoteName are the remote broker's id and name (the
	// name in logs). A request from this broker itself (a connector that
	// lists it) is refused.
	RemoteID, RemoteName string
	// URL is where to reach it: failover:(tcp://a,ssl://b,...), the remote
	// group's members, tried in turn.
	URL string
	// Properties are its connector's settings (BrokerInfo.networkProperties).
	Properties string
	// Username and Password are what its bridge logged in here with: the
	// bridge back presents them to the remote broker.
	Username, Password string
}

// duplexStartWait bounds how long a duplex request waits for the network
// to start.
const duplexStartWait = 10 * time.Second

// Duplex runs a bridge back to a remote broker whose duplex connector
// connected to this one, until ctx ends (its connection closes) or Run
// stops: to the addresses of req.URL, with the settings and the
// credentials req carries, over TLS (Config.DuplexTLS) for ssl://
// addresses. It returns at once.
func (n *Network) Duplex(ctx context.Context, req DuplexRequest) error {
	members, err := failoverAddrs(req.URL)
	if err != nil {
		return err
	}
	c, err := parseDuplexProperties(req.Properties)
	if err != nil {
		return err
	}
	c.Name = "duplex-" + c.Name
	c.Members = [][]string{members}
	c.Username, c.Password, c.TLS = req.Username, req.Password, n.duplexTLS
	c.ensureDefaults()
	if err := c.validate(); err != nil {
		return err
	}
	n.mu.Lock()
	if n.mu.b == nil {
		// The listeners open as the network starts: a request that
		// comes first waits for it (a refusal would leave the remote's
		// bridge connected one way for good).
		running := n.mu.running
		n.mu.Unlock()
		t := time.NewTimer(duplexStartWait)
		select {
		case <-running:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		n.mu.Lock()
	}
	defer n.mu.Unlock()
	switch {
	case n.mu.b == nil:
		return errors.New("network: not serving")
	case req.RemoteID != "" && req.RemoteID == n.mu.b.ID():
		return fmt.Errorf("network: a duplex request from this broker itself (%s)", req.RemoteID)
	}
	bctx, cancel := context.WithCancel(n.mu.ctx)
	stop := context.AfterFunc(ctx, cancel)
	br := n.newBridge(&c, c.Members[0], n.mu.b)
	br.log = br.log.With("duplex_for", req.RemoteName)
	n.mu.bridges = append(n.mu.bridges, br)
	wg := n.mu.wg // see start
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stop()
		defer cancel()
		br.run(bctx)
		n.mu.Lock()
		n.mu.bridges = slices.DeleteFunc(n.mu.bridges, func(x *bridge) bool { return x == br })
		n.mu.Unlock()
	}()
	return nil
}
