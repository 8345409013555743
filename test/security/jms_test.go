//go:build crossprocess

package security

import (
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/javarun"
)

// TestJMS runs the JMS scenarios of java/Scenarios.java over tcp:// in
// one JVM against a broker with the suite's security section: logins
// refused with JMSSecurityException (wrong password, unknown user,
// anonymous), sends, consumers and browsers refused where not granted on
// a connection that then sends and receives, a composite with a
// forbidden member refused whole, admin needed to create a queue,
// another user's temporary queue, advisories, JMSXUserID. The broker's
// audit log must show each refused login.
func TestJMS(t *testing.T) {
	javaClasspath(t)
	p, addr, _ := securePier(t, "jms")
	mark := p.LogLen()
	runScenarios(t, nil, "tcp://"+addr,
		"login-ok", "login-wrong-password", "login-unknown-user", "login-anonymous",
		"refused-send", "refused-async-send", "refused-consumer", "refused-browser",
		"composite", "admin-to-create", "temp-reply", "advisories", "jmsxuserid")
	log := p.LogSince(mark)
	for _, want := range [][]string{
		{"msg=\"login refused\"", "user=app", "proto=openwire", "wrong password"},
		{"msg=\"login refused\"", "user=nobody", "unknown user"},
		{"msg=\"login refused\"", "anonymous connections are not allowed"},
		{"msg=\"access denied\"", "user=app", "dest=queue://payments"},
	} {
		if countLines(log, want...) == 0 {
			t.Errorf("the broker's log has no line with %q", want)
		}
	}
}

// TestJMSTLS runs the JMS client over ssl:// in three JVMs, whose
// javax.net.ssl system properties differ: a truststore made by keytool
// and a password login; the same plus a keystore with the client
// certificate (CN=app) and no password, which logs in as app; and neither,
// where the handshake must fail (the positive control of the truststore).
func TestJMSTLS(t *testing.T) {
	f := setup(t)
	javaClasspath(t)
	p, addr, _ := tlsPier(t, "jms-tls")
	url := "ssl://" + addr
	trust := []string{"-Djavax.net.ssl.trustStore=" + f.certs.TrustStore,
		"-Djavax.net.ssl.trustStorePassword=" + storePass, "-Djavax.net.ssl.trustStoreType=JKS"}
	keys := []string{"-Djavax.net.ssl.keyStore=" + f.certs.KeyStore,
		"-Djavax.net.ssl.keyStorePassword=" + storePass, "-Djavax.net.ssl.keyStoreType=JKS"}
	t.Run("group", func(t *testing.T) {
		t.Run("truststore", func(t *testing.T) {
			t.Parallel()
			runScenarios(t, trust, url, "tls-password")
		})
		t.Run("keystore", func(t *testing.T) {
			t.Parallel()
			runScenarios(t, append(trust, keys...), url, "tls-certificate")
		})
		t.Run("untrusted", func(t *testing.T) {
			t.Parallel()
			runScenarios(t, nil, url, "tls-untrusted")
		})
	})
	if countLines(p.Log(), "msg=login", "user=app", "proto=openwire", "method=certificate") == 0 {
		t.Errorf("the broker logged no certificate login of app")
	}
	if countLines(p.Log(), "msg=login", "user=app", "proto=openwire", "method=password") == 0 {
		t.Errorf("the broker logged no password login of app over ssl://")
	}
}

// Failover parameters: failoverN persistent messages, one every
// failoverDelay ms, the broker killed once half of them were acknowledged.
const (
	failoverN       = 400
	failoverDelay   = 5
	failoverTimeout = 90 * time.Second
)

var failoverResult = regexp.MustCompile(`RESULT received=(\d+) distinct=(\d+) duplicates=(\d+) missing=(\d+)`)

// TestJMSFailover: a logged-in failover producer and consumer (the JMS
// client's failover: transport) while the secured broker is killed with
// SIGKILL and restarted on the same data: every acknowledged persistent
// message must arrive exactly once, both clients must have reconnected,
// and the broker must log their second logins (the failover transport
// sends the credentials again).
func TestJMSFailover(t *testing.T) {
	javaClasspath(t)
	p, addr, _ := securePier(t, "failover")
	url := "failover:(tcp://" + addr + ")?initialReconnectDelay=100&maxReconnectDelay=500" +
		"&maxReconnectAttempts=100&startupMaxReconnectAttempts=3"
	queue := "orders.failover"
	user, pw := "app", passwords["app"]

	consumer := startJava(t, nil, nil, "FailoverReceive", url, user, pw, queue, strconv.Itoa(failoverN), strconv.Itoa(int(failoverTimeout/time.Second)))
	if err := consumer.AwaitLine("READY", 30*time.Second); err != nil {
		t.Fatalf("consumer not ready: %v\n%s", err, consumer.Output())
	}
	var acked [failoverN]atomic.Bool
	var count atomic.Int64
	producer := startJava(t, func(line string) {
		if s, ok := strings.CutPrefix(line, "ACK "); ok {
			if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < failoverN && !acked[i].Swap(true) {
				count.Add(1)
			}
		}
	}, nil, "FailoverSend", url, user, pw, queue, strconv.Itoa(failoverN), strconv.Itoa(failoverDelay))

	deadline := time.Now().Add(60 * time.Second)
	for count.Load() < failoverN/2 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d sends acknowledged after 60 s:\n%s", count.Load(), producer.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Kill()
	t.Logf("broker killed after %d acknowledged sends", count.Load())
	mark := p.LogLen()
	p.Restart()

	if err := producer.Wait(failoverTimeout); err != nil {
		t.Fatalf("producer: %v\n%s", err, tail(producer.Output(), 8<<10))
	}
	if n := count.Load(); n != failoverN {
		t.Fatalf("the producer exited 0 with %d of %d sends acknowledged", n, failoverN)
	}
	cerr := consumer.Wait(failoverTimeout)
	out := consumer.Output()
	m := failoverResult.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("consumer printed no RESULT (%v):\n%s", cerr, tail(out, 8<<10))
	}
	t.Logf("consumer: %s", m[0])
	if m[4] != "0" {
		t.Errorf("%s acknowledged messages never arrived", m[4])
	}
	if m[3] != "0" {
		t.Errorf("%s messages arrived twice", m[3])
	}
	for _, j := range []*javarun.Proc{producer, consumer} {
		if !strings.Contains(j.Output(), "\nRESUMED\n") {
			t.Errorf("%s never resumed on a new connection:\n%s", j.Main(), tail(j.Output(), 4<<10))
		}
	}
	// Both clients logged in again on the restarted broker.
	since := p.LogSince(mark)
	if n := countLines(since, "msg=login", "user=app", "proto=openwire", "method=password"); n < 2 {
		t.Errorf("the restarted broker logged %d logins of app, want 2 (producer and consumer):\n%s", n, tail(since, 4<<10))
	}
	if cerr != nil && !t.Failed() {
		t.Errorf("consumer: %v\n%s", cerr, tail(out, 8<<10))
	}
	if t.Failed() {
		t.Logf("consumer output:\n%s", tail(out, 8<<10))
	}
}
