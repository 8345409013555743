package network

import (
	"net"
	"reflect"
	"testing"
)

// FuzzDuplexProperties: what parses writes back to itself; nothing
// panics.
func FuzzDuplexProperties(f *testing.F) {
	f.Add("name=x&network_ttl=2&conduit_subscriptions=true&excluded_destinations=queue%3A%2F%2Fa.%3E")
	f.Add("name=x&prefetch_size=0")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseDuplexProperties(s)
		if err != nil {
			return
		}
		again, err := parseDuplexProperties(duplexProperties(&c))
		if err != nil {
			t.Fatalf("%q: written back: %v", s, err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("%q: %+v, written and read back %+v", s, c, again)
		}
	})
}

// FuzzFailoverAddrs: every address accepted is host:port.
func FuzzFailoverAddrs(f *testing.F) {
	f.Add("failover:(tcp://a:1,tcp://b:2?x=y)")
	f.Add("failover:()")
	f.Add("failover:(tcp://[::1]:5)")
	f.Fuzz(func(t *testing.T, s string) {
		addrs, err := failoverAddrs(s)
		if err != nil {
			return
		}
		if len(addrs) == 0 {
			t.Fatalf("%q: no addresses", s)
		}
		for _, a := range addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				t.Fatalf("%q: %q: %v", s, a, err)
			}
		}
	})
}
