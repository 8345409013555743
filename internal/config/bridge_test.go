package config

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestBridgeURIWithTLS(t *testing.T) {
	for _, tc := range []struct {
		uri, urls, addrs string
	}{
		{"ssl://h:1", "[[ssl://h:1]]", "[[h:1]]"},
		{"SSL://H:1?transport.verifyHostName=true", "[[ssl://H:1]]", "[[H:1]]"},
		{"static:(ssl://a:1,tcp://b:2?x=y)", "[[ssl://a:1] [tcp://b:2]]", "[[a:1] [b:2]]"},
		{"static:(tcp://a:1,failover:(ssl://b:2,ssl://[::1]:3)?randomize=false)",
			"[[tcp://a:1] [ssl://b:2 ssl://[::1]:3]]", "[[a:1] [b:2 [::1]:3]]"},
		{"failover:(ssl://a:1,tcp://b:2)", "[[ssl://a:1 tcp://b:2]]", "[[a:1 b:2]]"},
	} {
		if err := checkBridgeURI(tc.uri); err != nil {
			t.Errorf("%s: %v", tc.uri, err)
			continue
		}
		n := NetworkConnector{URI: tc.uri}
		urls, err := n.MemberURLs()
		if got := fmt.Sprint(urls); err != nil || got != tc.urls {
			t.Errorf("%s: MemberURLs %s %v, want %s", tc.uri, got, err, tc.urls)
		}
		addrs, err := n.Members()
		if got := fmt.Sprint(addrs); err != nil || got != tc.addrs {
			t.Errorf("%s: Members %s %v, want %s", tc.uri, got, err, tc.addrs)
		}
	}
	for _, bad := range []string{"stomp+ssl://h:1", "static:(ssl://h)", "failover:(ssl://:1)", "static:(nio+ssl://h:1)",
		"https://h:1"} {
		if err := checkBridgeURI(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// FuzzMemberURLs: a connector URI that passes validation yields its
// members as tcp:// or ssl:// URLs, and Members the same addresses.
func FuzzMemberURLs(f *testing.F) {
	for _, s := range []string{"ssl://a:1", "static:(ssl://a:1,failover:(tcp://b:2,ssl://c:3)?randomize=false)?x=1",
		"failover:(SSL://[::1]:1)", "static:(ssl://a:1,http://b:2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if checkBridgeURI(uri) != nil {
			return
		}
		n := NetworkConnector{URI: uri}
		urls, err := n.MemberURLs()
		if err != nil || len(urls) == 0 {
			t.Fatalf("%q passes validation but MemberURLs: %v %v", uri, urls, err)
		}
		addrs, err := n.Members()
		if err != nil || len(addrs) != len(urls) {
			t.Fatalf("%q: Members %v %v, MemberURLs %v", uri, addrs, err, urls)
		}
		for i, m := range urls {
			if len(m) == 0 || len(addrs[i]) != len(m) {
				t.Fatalf("%q: member %d: %v / %v", uri, i, m, addrs[i])
			}
			for j, u := range m {
				scheme, hp, ok := strings.Cut(u, "://")
				if !ok || scheme != "tcp" && scheme != "ssl" || hp != addrs[i][j] {
					t.Fatalf("%q: %q (address %q)", uri, u, addrs[i][j])
				}
				if _, _, err := net.SplitHostPort(hp); err != nil {
					t.Fatalf("%q: %q: %v", uri, u, err)
				}
			}
		}
	})
}
