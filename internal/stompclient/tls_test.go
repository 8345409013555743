package stompclient

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/piermq/pier/client/clienttest"
	"github.com/piermq/pier/internal/stompclient/stomptest"
)

func TestDialTLS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	s := startServer(t, stomptest.Config{TLS: ca.ServerConfig(t)})
	addr, err := ParseAddr("stomp+ssl://" + s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(testCtx(t), addr, Options{TLS: ca.ClientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.nc.(*tls.Conn); !ok {
		t.Fatal("the connection does not use TLS")
	}
	sub, err := c.Subscribe(testCtx(t), "/queue/tls", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(testCtx(t), "/queue/tls", []byte("secret"), Persistent()); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sub); string(m.Body) != "secret" {
		t.Errorf("received %q", m.Body)
	}

	// The system's roots do not know the test CA; a plain client is not
	// understood.
	_, err = Dial(testCtx(t), addr, Options{})
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("without the CA: %v, want a certificate verification error", err)
	}
	if c, err := Dial(testCtx(t), s.Addr(), Options{}); err == nil {
		c.Close()
		t.Error("plain STOMP to a TLS port worked")
	}
}

func TestDialTLSClientCertificate(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	s := startServer(t, stomptest.Config{TLS: ca.RequireClientCerts(ca.ServerConfig(t))})
	if c, err := Dial(testCtx(t), "stomp+ssl://"+s.Addr(), Options{TLS: ca.ClientConfig()}); err == nil {
		c.Close()
		t.Fatal("connected without the client certificate the server requires")
	}
	cfg := ca.ClientConfig()
	cfg.Certificates = []tls.Certificate{ca.Issue(t, "app")}
	c, err := Dial(testCtx(t), "stomp+ssl://"+s.Addr(), Options{TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if cfg.ServerName != "" {
		t.Error("Dial modified Options.TLS")
	}
}

func TestServerErrorOneLine(t *testing.T) {
	for _, tc := range []struct {
		e    ServerError
		want string
	}{
		{ServerError{Message: "login failed"}, "stompclient: server error: login failed"},
		{ServerError{Message: "denied", Body: "denied\n"}, "stompclient: server error: denied"},
		{ServerError{Message: "User name [x] or password is invalid.",
			Body: "java.lang.SecurityException: User name [x] or password is invalid.\n\tat org.apache...\n"},
			"stompclient: server error: User name [x] or password is invalid.: java.lang.SecurityException: User name [x] or password is invalid."},
		{ServerError{Body: "only a body\nsecond line"}, "stompclient: server error: only a body"},
	} {
		if got := tc.e.Error(); got != tc.want || strings.Contains(got, "\n") {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}
