//go:build crossprocess

package security

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
)

// TestGoClient: Pier's Go client against a secured broker over tcp://.
// Refused logins fail Dial with an error matching client.ErrSecurity and
// carrying the broker's words; a refused persistent send and a refused
// consumer return ErrSecurity, a refused non-persistent send reaches
// Options.OnAsyncError, and the connection keeps working.
func TestGoClient(t *testing.T) {
	_, addr, _ := securePier(t, "go")
	url := "tcp://" + addr
	for _, tc := range []struct{ name, user, password, want string }{
		{"wrong-password", "app", "not-" + passwords["app"], "User name [app] or password is invalid."},
		{"unknown-user", "nobody", "whatever", "User name [nobody] or password is invalid."},
		{"anonymous", "", "", "anonymous connections are not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			c, err := client.Dial(ctx, url, client.Options{Username: tc.user, Password: tc.password})
			if err == nil {
				c.Close(ctx)
				t.Fatalf("Dial as %q succeeded", tc.user)
			}
			checkSecurity(t, err, tc.want)
		})
	}
	t.Run("refused-send", func(t *testing.T) {
		ctx := testContext(t)
		async := make(chan error, 4)
		c := dialGo(t, url, client.Options{Username: "app", Password: passwords["app"],
			OnAsyncError: func(err error) {
				select {
				case async <- err:
				default:
				}
			}})
		s, err := c.Session(ctx, client.AutoAck)
		if err != nil {
			t.Fatal(err)
		}
		payments := client.Queue("payments")
		p, err := s.Producer(ctx, payments)
		if err == nil {
			err = p.Send(ctx, client.NewTextMessage("from app"))
		}
		checkSecurity(t, err, "User app is not authorized to write to: queue://payments")
		_, err = s.Consumer(ctx, payments)
		checkSecurity(t, err, "User app is not authorized to read from: queue://payments")
		if p != nil {
			if err := p.Send(ctx, client.NewTextMessage("async from app"), client.NonPersistent()); err != nil {
				t.Fatalf("non-persistent send returned %v; want the refusal through OnAsyncError", err)
			}
			select {
			case err := <-async:
				checkSecurity(t, err, "User app is not authorized to write to: queue://payments")
			case <-time.After(10 * time.Second):
				t.Fatal("OnAsyncError was not called for the refused non-persistent send")
			}
		}
		goRoundTrip(t, s, "orders.go", "still working")
		if err := c.Err(); err != nil {
			t.Fatalf("the connection ended: %v", err)
		}
	})
}

// TestGoClientTLS: the Go client over ssl:// with a pool holding the
// broker CA (by IP and by the name localhost); without it (the system's
// roots) the handshake fails; a client certificate with CN=app logs in as
// app without a password, and one whose CN is no user is refused.
func TestGoClientTLS(t *testing.T) {
	f := setup(t)
	_, addr, _ := tlsPier(t, "go-tls")
	_, port, _ := net.SplitHostPort(addr)
	appCert, err := tls.LoadX509KeyPair(f.certs.ClientCert, f.certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tls.LoadX509KeyPair(f.certs.StrangerCert, f.certs.StrangerKey)
	if err != nil {
		t.Fatal(err)
	}
	login := client.Options{Username: "app", Password: passwords["app"]}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run("ca-pool-"+host, func(t *testing.T) {
			opts := login
			opts.TLS = &tls.Config{RootCAs: f.ca}
			c := dialGo(t, "ssl://"+net.JoinHostPort(host, port), opts)
			s, err := c.Session(testContext(t), client.AutoAck)
			if err != nil {
				t.Fatal(err)
			}
			goRoundTrip(t, s, "orders.go-tls", "over tls")
		})
	}
	t.Run("system-roots", func(t *testing.T) {
		ctx := testContext(t)
		c, err := client.Dial(ctx, "ssl://"+addr, login)
		if err == nil {
			c.Close(ctx)
			t.Fatal("Dial over ssl:// succeeded without trusting the broker's CA")
		}
		if errors.Is(err, client.ErrSecurity) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("want a certificate verification error, got %v", err)
		}
		t.Logf("refused: %v", err)
	})
	t.Run("client-certificate", func(t *testing.T) {
		ctx := testContext(t)
		c := dialGo(t, "ssl://"+addr, client.Options{TLS: &tls.Config{RootCAs: f.ca, Certificates: []tls.Certificate{appCert}}})
		s, err := c.Session(ctx, client.AutoAck)
		if err != nil {
			t.Fatal(err)
		}
		goRoundTrip(t, s, "orders.go-cert", "by certificate")
		p, err := s.Producer(ctx, client.Queue("payments"))
		if err == nil {
			err = p.Send(ctx, client.NewTextMessage("by certificate"))
		}
		// The refusal names the user the certificate stands for.
		checkSecurity(t, err, "User app is not authorized to write to: queue://payments")
	})
	t.Run("stranger-certificate", func(t *testing.T) {
		ctx := testContext(t)
		opts := client.Options{TLS: &tls.Config{RootCAs: f.ca, Certificates: []tls.Certificate{stranger}}}
		c, err := client.Dial(ctx, "ssl://"+addr, opts)
		if err == nil {
			c.Close(ctx)
			t.Fatal("a certificate whose CN is no user logged in")
		}
		checkSecurity(t, err, "")
	})
}

// checkSecurity fails unless err matches client.ErrSecurity and its
// message contains want.
func checkSecurity(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, client.ErrSecurity) {
		t.Fatalf("want an error matching client.ErrSecurity, got %v", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q lacks %q", err, want)
	}
	var be *client.BrokerError
	if !errors.As(err, &be) || be.Class != "java.lang.SecurityException" {
		t.Fatalf("want a *client.BrokerError of java.lang.SecurityException, got %#v", be)
	}
}

// dialGo connects; the connection is closed when the test ends.
func dialGo(t *testing.T, url string, opts client.Options) *client.Conn {
	t.Helper()
	c, err := client.Dial(testContext(t), url, opts)
	if err != nil {
		t.Fatalf("Dial %s as %q: %v", url, opts.Username, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

// goRoundTrip sends a persistent text message to a queue and receives it.
func goRoundTrip(t *testing.T, s *client.Session, queue, text string) {
	t.Helper()
	ctx := testContext(t)
	p, err := s.Producer(ctx, client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, client.NewTextMessage(text)); err != nil {
		t.Fatalf("send to %s: %v", queue, err)
	}
	k, err := s.Consumer(ctx, client.Queue(queue))
	if err != nil {
		t.Fatalf("consumer of %s: %v", queue, err)
	}
	defer k.Close(ctx)
	m, err := k.Receive(ctx)
	if err != nil {
		t.Fatalf("receive from %s: %v", queue, err)
	}
	if got, _ := m.Text(); got != text {
		t.Fatalf("%s: received %q, want %q", queue, got, text)
	}
}

// testContext is a context bounded by 30 s and the test's end.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
