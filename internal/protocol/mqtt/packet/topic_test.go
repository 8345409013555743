package packet

import (
	"errors"
	"strings"
	"testing"
)

func TestValidTopicName(t *testing.T) {
	for _, ok := range []string{"a", "/", "a/b", "$SYS/x", " ", "A\U0002A6D4", "a//b", strings.Repeat("x", 65535)} {
		if err := ValidTopicName(ok); err != nil {
			t.Errorf("%.20q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/+", "#", "a/#", "a\x00", "\xff", "\xed\xa0\x80", strings.Repeat("x", 65536)} {
		err := ValidTopicName(bad)
		if err == nil || !errors.Is(err, &Error{Reason: TopicNameInvalid}) {
			t.Errorf("%.20q: %v, want Topic Name invalid", bad, err)
		}
	}
}

func TestValidTopicFilter(t *testing.T) {
	for _, c := range []struct {
		filter string
		v4, v5 bool
	}{
		{"#", true, true}, {"+", true, true}, {"a/#", true, true}, {"+/+", true, true}, {"/+", true, true},
		{"sport/+/player1", true, true}, {"+/tennis/#", true, true}, {"$SYS/#", true, true}, {"a//b", true, true},
		{"$share/g/a/#", true, true}, {"$share/g/+", true, true}, {"$share", true, true},
		{"$share/g", true, false}, {"$share//a", true, false}, {"$share/g+/a", false, false},
		{"$share/g/", true, false}, {"$share/g#/a", false, false},
		{"", false, false}, {"a#", false, false}, {"a/#/b", false, false}, {"#/", false, false},
		{"a+", false, false}, {"+a/b", false, false}, {"a/b+", false, false}, {"a\x00", false, false},
		{"$share/\xf8/a", false, false}, {"$share/g/\xf8", false, false},
	} {
		for _, v := range []struct {
			version byte
			want    bool
		}{{Version311, c.v4}, {Version5, c.v5}} {
			err := ValidTopicFilter(c.filter, v.version)
			if (err == nil) != v.want {
				t.Errorf("%q in version %d: %v, want valid %v", c.filter, v.version, err, v.want)
			}
			if err != nil && !errors.Is(err, &Error{Reason: TopicFilterInvalid}) {
				t.Errorf("%q: %v is not Topic Filter invalid", c.filter, err)
			}
		}
	}
}

func TestSplitShared(t *testing.T) {
	share, inner, ok := SplitShared("$share/consumers/sport/+/score")
	if !ok || share != "consumers" || inner != "sport/+/score" {
		t.Errorf("got %q %q %v", share, inner, ok)
	}
	for _, f := range []string{"$share/g", "$share//a", "sport/#", "$share/g/a/#/b", "$shared/g/a"} {
		if _, _, ok := SplitShared(f); ok {
			t.Errorf("%q split", f)
		}
	}
}

// The examples of MQTT 5.0 sections 4.7.1 and 4.7.2.
func TestMatch(t *testing.T) {
	for _, c := range []struct {
		filter, name string
		want         bool
	}{
		{"sport/tennis/player1/#", "sport/tennis/player1", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
		{"sport/#", "sport", true},
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/tennis/+", "sport/tennis/player2", true},
		{"sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"sport/+", "sport", false},
		{"sport/+", "sport/", true},
		{"+/+", "/finance", true},
		{"/+", "/finance", true},
		{"+", "/finance", false},
		{"#", "$SYS/monitor/Clients", false},
		{"+/monitor/Clients", "$SYS/monitor/Clients", false},
		{"$SYS/#", "$SYS/monitor/Clients", true},
		{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
		{"#", "a/b", true},
		{"#", "/", true},
		{"ACCOUNTS", "Accounts", false},
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a/+/c", "a//c", true},
		{"a/#", "a/", true},
		{"+/+/+", "a/b", false},
	} {
		if got := Match(c.filter, c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.filter, c.name, got, c.want)
		}
	}
}

// refMatch is a second, plain implementation of the matching rules.
func refMatch(filter, name string) bool {
	if name != "" && name[0] == '$' && filter != "" && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	f, n := strings.Split(filter, "/"), strings.Split(name, "/")
	for i, level := range f {
		if level == "#" {
			return true
		}
		if i >= len(n) {
			return false
		}
		if level != "+" && level != n[i] {
			return false
		}
	}
	return len(f) == len(n)
}

func FuzzTopicFilter(f *testing.F) {
	for _, s := range []string{"#", "+", "a/#", "sport/+/player1", "$share/g/a/#", "$SYS/#", "a//b", "/+", "+/+", "sport/#"} {
		f.Add(s, "sport/tennis/player1")
		f.Add(s, "$SYS/x")
		f.Add(s, "sport")
	}
	f.Fuzz(func(t *testing.T, filter, name string) {
		for _, v := range []byte{Version311, Version5} {
			if ValidTopicFilter(filter, v) == nil && utf8Problem(filter) != "" {
				t.Fatalf("%q valid with bad UTF-8", filter)
			}
		}
		share, inner, shared := SplitShared(filter)
		if shared && (ValidTopicFilter(filter, Version5) != nil || share == "" || ValidTopicFilter(inner, Version311) != nil) {
			t.Fatalf("SplitShared(%q) = %q, %q", filter, share, inner)
		}
		if ValidTopicFilter(filter, Version311) != nil || ValidTopicName(name) != nil {
			return
		}
		got := Match(filter, name)
		if want := refMatch(filter, name); got != want {
			t.Fatalf("Match(%q, %q) = %v, the plain rules say %v", filter, name, got, want)
		}
		if !Match(name, name) {
			t.Fatalf("%q does not match itself", name)
		}
		if !strings.ContainsAny(filter, "+#") && got != (filter == name) {
			t.Fatalf("Match(%q, %q) = %v without wildcards", filter, name, got)
		}
	})
}
