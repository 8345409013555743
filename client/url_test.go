package client

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseURLDefaults(t *testing.T) {
	u, err := ParseURL("failover:(tcp://A:61616,tcp://b:61617)")
	if err != nil {
		t.Fatal(err)
	}
	want := FailoverOptions{
		InitialReconnectDelay: 10 * time.Millisecond, MaxReconnectDelay: 30 * time.Second,
		UseExponentialBackOff: true, ReconnectDelayExponent: 2, MaxReconnectAttempts: -1,
		StartupMaxReconnectAttempts: -1, Randomize: true, Timeout: -time.Millisecond,
		UpdateURIsSupported: true, ReconnectSupported: true, WarnAfterReconnectAttempts: 10,
		BackupPoolSize: 1, MaxCacheSize: 131072, TrackTransactionProducers: true,
		RebalanceUpdateURIs: true, ReconnectDelay: 10 * time.Millisecond,
	}
	if !reflect.DeepEqual(u.Options, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", u.Options, want)
	}
	if !u.Failover || len(u.Brokers) != 2 || u.Brokers[0].Host != "a:61616" || u.Brokers[1].Scheme != "tcp" {
		t.Errorf("brokers: %+v", u)
	}
	if got := u.String(); got != "failover:(tcp://a:61616,tcp://b:61617)" {
		t.Errorf("String = %q", got)
	}
	tr := u.Brokers[0].Transport()
	if tr.ConnectionTimeout != 30*time.Second || tr.MaxInactivityDuration != 30*time.Second ||
		tr.MaxInactivityDurationInitialDelay != 10*time.Second || tr.TCPNoDelay || !tr.UseInactivityMonitor || tr.Version != 12 {
		t.Errorf("transport defaults: %+v", tr)
	}
}

func TestParseURLOptions(t *testing.T) {
	u, err := ParseURL("failover://(tcp://a:1?keepAlive=TRUE&wireFormat.maxInactivityDuration=1000, nio://[::1]:2)" +
		"?randomize=false&initialReconnectDelay=100&maxReconnectDelay=5000&useExponentialBackOff=false" +
		"&reconnectDelayExponent=1.5&maxReconnectAttempts=3&startupMaxReconnectAttempts=0&timeout=3000" +
		"&priorityBackup=true&priorityURIs=tcp://a:1,tcp://[::1]:2&updateURIsSupported=false" +
		"&nested.soTimeout=500&nested.keepAlive=false&jms.clientID=my+app&jms.prefetchPolicy.all=5")
	if err != nil {
		t.Fatal(err)
	}
	o := u.Options
	if o.Randomize || o.InitialReconnectDelay != 100*time.Millisecond || o.MaxReconnectDelay != 5*time.Second ||
		o.UseExponentialBackOff || o.ReconnectDelayExponent != 1.5 || o.MaxReconnectAttempts != 3 ||
		o.StartupMaxReconnectAttempts != 0 || o.Timeout != 3*time.Second || !o.PriorityBackup ||
		len(o.PriorityURIs) != 2 || o.PriorityURIs[1].Host != "[::1]:2" || o.UpdateURIsSupported {
		t.Errorf("options: %+v", o)
	}
	if u.JMS["clientID"] != "my app" || u.JMS["prefetchPolicy.all"] != "5" {
		t.Errorf("jms: %v", u.JMS)
	}
	b := u.Brokers[0]
	if b.Options["keepAlive"] != "true" || !b.Transport().KeepAlive {
		t.Errorf("broker options: %v", b.Options)
	}
	eff := u.Effective(b).Transport()
	if eff.KeepAlive || eff.SoTimeout != 500*time.Millisecond || eff.MaxInactivityDuration != time.Second {
		t.Errorf("nested must override: %+v", eff)
	}
	if u.Brokers[1].Scheme != "nio" {
		t.Errorf("scheme: %q", u.Brokers[1].Scheme)
	}
	if !u.isPriority(u.Brokers[1]) {
		t.Error("[::1]:2 should be a priority broker")
	}
	roundTrip(t, u)
}

func TestParseURLForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tcp://localhost:61616", "tcp://localhost:61616"},
		{"  TCP://Host.Example:61616?soTimeout=5&jms.clientID=x  ", "tcp://host.example:61616?soTimeout=5&jms.clientID=x"},
		// Without parentheses a trailing query belongs to the last broker.
		{"failover:tcp://a:1,tcp://b:2?soTimeout=7", "failover:(tcp://a:1,tcp://b:2?soTimeout=7)"},
		{"failover:(tcp://a:1)?randomize=true&timeout=-1", "failover:(tcp://a:1)"},
		{"failover:(tcp://a:1)?jms.clientID=a%2Cb(c)", "failover:(tcp://a:1)?jms.clientID=a%2Cb%28c%29"},
		{"failover:(tcp://a:1?trace)", ""}, // trace is boolean: bare key rejected
	} {
		u, err := ParseURL(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: want error, got %v", tc.in, u)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := u.String(); got != tc.want {
			t.Errorf("%q: String = %q, want %q", tc.in, got, tc.want)
		}
		roundTrip(t, u)
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"", "want tcp://"},
		{"localhost:61616", "unsupported"},
		{"tcp://a", "want host:port"},
		{"tcp://a:0", "1..65535"},
		{"tcp://a:65536", "1..65535"},
		{"tcp://a:x", "1..65535"},
		{"tcp://:1", "missing host"},
		{"tcp://u@a:1", "user info"},
		{"tcp://a:1/local:2", "path"},
		{"tcp://a:1?soTimout=5", `"soTimout" (did you mean soTimeout`},
		{"tcp://a:1?soTimeout=-5", "at least 0"},
		{"tcp://a:1?soTimeout=abc", "whole number"},
		{"tcp://a:1?keepAlive=yes", "true or false"},
		{"tcp://a:1?soTimeout=1&soTimeout=2", "twice"},
		{"tcp://a:1?randomize=false", "failover option"},
		{"tcp://a:1?wireFormat.version=5", "OpenWire 1, 9"},
		{"tcp://a:1?jms.clientId=x", "did you mean clientID"},
		{"tcp://a:1?x=%zz", "bad escape"},
		{"failover:()", "empty broker list"},
		{"failover:", "empty broker list"},
		{"failover:(tcp://a:1", "unbalanced"},
		{"failover:(tcp://a:1))", "unbalanced"},
		{"failover:(tcp://a:1)x", "unexpected"},
		{"failover:(tcp://a:1,)", "broker 2 is empty"},
		{"failover:(tcp://a:1,tcp://A:1)", "repeats broker 1"},
		{"failover:(tcp://a:1,nio://a:1)", "repeats"},
		{"failover:(tcp://a:1)?initialReconnectDelay=-1", "at least 0"},
		{"failover:(tcp://a:1)?maxReconnectDelay=x", "whole number"},
		{"failover:(tcp://a:1)?reconnectDelayExponent=0.5", "at least 1"},
		{"failover:(tcp://a:1)?reconnectDelayExponent=NaN", "finite"},
		{"failover:(tcp://a:1)?maxReconnectAttempts=-2", "at least -1"},
		{"failover:(tcp://a:1)?maxReconectAttempts=1", "did you mean maxReconnectAttempts"},
		{"failover:(tcp://a:1)?nested.keepalive=true", "did you mean keepAlive"},
		{"failover:(tcp://a:1)?priorityURIs=vm://b", "not supported"},
		{"tcp://a:1?socket.verifyHostName=false", "ssl:// URIs only"},
		{"failover:(tcp://a:1?socket.verifyHostName=false)", "ssl:// URIs only"},
		{"ssl://a:1?socket.verifyHostName=no", "true or false"},
		{"ssl://a:1?socket.verifyHostname=false", "did you mean socket.verifyHostName"},
		{"failover:(tcp://a:1?jms.clientID=x)", "belong on the failover URL"},
		{"failover:(failover:(tcp://a:1))", "nested failover"},
		{"failover:tcp://a:1,tcp://b:2?randomize=false", "failover option"},
	} {
		_, err := ParseURL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want it to contain %q", tc.in, err, tc.msg)
			continue
		}
		if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrUnsupportedScheme) {
			t.Errorf("%q: %v wraps neither sentinel", tc.in, err)
		}
	}
}

func TestParseURLUnsupportedSchemes(t *testing.T) {
	for _, s := range []string{"auto+ssl://a:1", "https://a:1", "vm://localhost", "discovery:(multicast://default)",
		"failover:(udp://a:1)", "stomp://a:1", "stomp+ssl://a:1", "auto://a:1"} {
		_, err := ParseURL(s)
		if !errors.Is(err, ErrUnsupportedScheme) || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%q: %v, want ErrUnsupportedScheme", s, err)
		}
	}
}

func TestUnsupported(t *testing.T) {
	u, err := ParseURL("failover:(tcp://a:1?trace=true&wireFormat.tightEncodingEnabled=false&closeAsync=true," +
		"tcp://b:2?wireFormat.cacheEnabled=true)?backup=true&trackMessages=false&updateURIsURL=file:/x" +
		"&nested.threadName&jms.useAsyncSend=true&jms.userName=u")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a:1: trace=true",
		"b:2: wireFormat.cacheEnabled=true",
		"failover: backup=true",
		"failover: updateURIsURL=file:/x",
		"jms: useAsyncSend=true",
		"nested: threadName=",
	}
	if got := u.Unsupported(); !reflect.DeepEqual(got, want) {
		t.Errorf("Unsupported\n got %q\nwant %q", got, want)
	}
	roundTrip(t, u)
	plain, _ := ParseURL("failover:(tcp://a:1)?randomize=false")
	if got := plain.Unsupported(); len(got) != 0 {
		t.Errorf("Unsupported = %q, want none", got)
	}
}

func TestParseBrokerList(t *testing.T) {
	got, err := ParseBrokerList(" tcp://h1:61616,,tcp://H1:61616 , tcp://h2:61616?soTimeout=1,vm://h3,tcp://h4,ssl://h5:1")
	if err == nil || !errors.Is(err, ErrUnsupportedScheme) || !errors.Is(err, ErrInvalidURL) {
		t.Errorf("err = %v, want both the vm and the portless entry reported", err)
	}
	if len(got) != 3 || got[0].Host != "h1:61616" || got[1].Options["soTimeout"] != "1" ||
		got[2].Scheme != "ssl" || !got[2].TLS() || got[0].TLS() {
		t.Errorf("list = %+v", got)
	}
	if got, err := ParseBrokerList(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
}

func TestFailoverOptionsValidate(t *testing.T) {
	o := DefaultFailoverOptions()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.ReconnectDelayExponent = 0.9
	if err := o.Validate(); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("exponent 0.9: %v", err)
	}
}

// roundTrip checks that u.String() parses back to u.
func roundTrip(t *testing.T, u *URL) {
	t.Helper()
	s := u.String()
	v, err := ParseURL(s)
	if err != nil {
		t.Fatalf("re-parse of %q: %v", s, err)
	}
	if !reflect.DeepEqual(u, v) {
		t.Fatalf("re-parse of %q differs\n got %+v\nwant %+v", s, v, u)
	}
}

func TestParseURLTLS(t *testing.T) {
	u, err := ParseURL("SSL://Broker.Example:61617?jms.userName=app")
	if err != nil {
		t.Fatal(err)
	}
	b := u.Brokers[0]
	if b.Scheme != "ssl" || !b.TLS() || b.Host != "broker.example:61617" || !b.Transport().VerifyHostName ||
		u.JMS["userName"] != "app" || u.String() != "ssl://broker.example:61617?jms.userName=app" {
		t.Errorf("ssl URL: %+v, %q", u, u.String())
	}
	roundTrip(t, u)

	u, err = ParseURL("failover:(ssl://a:1?socket.verifyHostName=FALSE,nio+ssl://b:2,tcp://c:3)" +
		"?nested.socket.verifyHostName=true&randomize=false")
	if err != nil {
		t.Fatal(err)
	}
	a, nb, c := u.Brokers[0], u.Brokers[1], u.Brokers[2]
	if a.Transport().VerifyHostName || !nb.TLS() || nb.Scheme != "nio+ssl" || c.TLS() {
		t.Errorf("brokers: %+v", u.Brokers)
	}
	if !u.Effective(a).Transport().VerifyHostName {
		t.Error("nested.socket.verifyHostName must override the broker's")
	}
	roundTrip(t, u)

	u, err = ParseURL("ssl://a:1?socket.enabledProtocols=TLSv1.3&socket.verifyHostName=false")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Unsupported(); !reflect.DeepEqual(got, []string{"a:1: socket.enabledProtocols=TLSv1.3"}) {
		t.Errorf("Unsupported = %q", got)
	}
	roundTrip(t, u)
}
