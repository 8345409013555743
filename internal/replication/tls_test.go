package replication

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a certificate for cn signed by ca, with the given extended
// key usages (none: valid for any).
func (ca *testCA) issue(t *testing.T, cn string, usages ...x509.ExtKeyUsage) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usages,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// member is the TLS of a member of ca's group named cn.
func (ca *testCA) member(t *testing.T, cn string) *TLS {
	t.Helper()
	return &TLS{Certificate: ca.issue(t, cn, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth), CA: ca.pool}
}

// records collects log records.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec.Clone())
	r.mu.Unlock()
	return nil
}

// with returns the records whose message is msg, their attributes as text.
func (r *records) with(msg string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		attrs := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}

const refusedLine = "replication port refused a connection"

// startTLSMux listens with a group member's TLS, answering status queries
// as node n1.
func startTLSMux(t *testing.T, member *TLS, timeout time.Duration, logs *records) (*muxLayer, string) {
	t.Helper()
	m, err := listenMux("127.0.0.1:0", "127.0.0.1:1", func() Status { return Status{ID: "n1", State: "Leader"} },
		member, timeout, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		m.Wait()
	})
	return m, m.ln.Addr().String()
}

func TestMuxTLSAcceptsGroupMembers(t *testing.T) {
	group := newTestCA(t, "group")
	m, addr := startTLSMux(t, group.member(t, "n1"), time.Second, &records{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	peer := group.member(t, "n2")

	st, err := QueryStatus(ctx, addr, peer)
	if err != nil || st.ID != "n1" {
		t.Fatalf("status: %+v, %v", st, err)
	}
	c, err := dialPort(ctx, addr, peer.clientConfig(), muxRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := acceptWithin(t, m, 2*time.Second)
	if got == nil {
		t.Fatal("a member's Raft connection did not reach Raft")
	}
	defer got.Close()
	got.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(got, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if v := got.(*tls.Conn).ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("TLS version %x, want 1.3 between two Go members", v)
	}

	// TLS 1.2 is the oldest version spoken.
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS11} {
		cfg := peer.clientConfig()
		cfg.MaxVersion = v
		c, err := dialPort(ctx, addr, cfg, muxStatus)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			var st Status
			err = json.NewDecoder(c).Decode(&st)
			c.Close()
		}
		if ok := v >= tls.VersionTLS12; (err == nil) != ok {
			t.Errorf("status over TLS version %x: %v", v, err)
		}
	}
}

// acceptWithin returns the next Raft connection of m, or nil if none
// comes within d.
func acceptWithin(t *testing.T, m *muxLayer, d time.Duration) net.Conn {
	t.Helper()
	select {
	case c := <-m.conns:
		return c
	case <-time.After(d):
		return nil
	}
}

func TestMuxTLSRefusesStrangers(t *testing.T) {
	group, other := newTestCA(t, "group"), newTestCA(t, "other")
	logs := &records{}
	m, addr := startTLSMux(t, group.member(t, "n1"), time.Second, logs)
	for _, tc := range []struct {
		name   string
		client *TLS // nil: plain TCP
	}{
		{"plain TCP", nil},
		{"no certificate", &TLS{CA: group.pool}},
		{"certificate of another CA", other.member(t, "n2")},
		{"certificate of another CA, trusting the group", &TLS{Certificate: other.member(t, "n2").Certificate, CA: group.pool}},
		{"group certificate without clientAuth", &TLS{Certificate: group.issue(t, "n2", x509.ExtKeyUsageServerAuth), CA: group.pool}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			if st, err := QueryStatus(ctx, addr, tc.client); err == nil {
				t.Fatalf("status answered: %+v", st)
			} else if errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
				t.Fatalf("status refused only after %s: %v", time.Since(start), err)
			} else {
				t.Logf("status: %v", err)
			}
			var cfg *tls.Config
			if tc.client != nil {
				cfg = tc.client.clientConfig()
			}
			// With TLS 1.3 the client's handshake may end before the
			// server has checked its certificate: the refusal comes on
			// the first read.
			c, err := dialPort(ctx, addr, cfg, muxRaft)
			if err == nil {
				c.Write([]byte("junk that is no Raft RPC"))
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := io.ReadAll(c); isTimeout(err) {
					t.Errorf("a stranger's Raft connection was left open: %v", err)
				}
				c.Close()
			}
			if got := acceptWithin(t, m, 200*time.Millisecond); got != nil {
				got.Close()
				t.Fatal("a stranger's connection reached Raft")
			}
		})
	}
	t.Run("plain status byte", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte{muxStatus})
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if b, err := io.ReadAll(c); len(b) > 0 || isTimeout(err) {
			t.Fatalf("answered %q (%v)", b, err)
		}
	})
	// Every refusal came from 127.0.0.1 within a minute: one line.
	lines := logs.with(refusedLine)
	if len(lines) != 1 || lines[0]["peer"] == "" || lines[0]["err"] == "" || !strings.HasPrefix(lines[0]["peer"], "127.0.0.1:") {
		t.Fatalf("refusal log lines: %v", lines)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestMuxTLSHandshakeDeadline: a stranger that connects and sends nothing
// is closed once the opening timeout has passed, and so is one that stops
// in the middle of a handshake.
func TestMuxTLSHandshakeDeadline(t *testing.T) {
	group := newTestCA(t, "group")
	logs := &records{}
	_, addr := startTLSMux(t, group.member(t, "n1"), 200*time.Millisecond, logs)
	for _, send := range [][]byte{nil, {0x16, 0x03, 0x01, 0x00, 0x80}} { // nothing; a record header without its record
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(send)
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(c)
		c.Close()
		if isTimeout(err) {
			t.Fatalf("sent %x: the connection was not closed (%v)", send, err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("sent %x: closed only after %s", send, took)
		}
	}
	if lines := logs.with(refusedLine); len(lines) != 1 {
		t.Fatalf("refusal log lines: %v", lines)
	}
}

// TestMuxCloseEndsOpeningConnections: Close does not wait for strangers
// that hold a connection open without a handshake.
func TestMuxCloseEndsOpeningConnections(t *testing.T) {
	group := newTestCA(t, "group")
	m, err := listenMux("127.0.0.1:0", "127.0.0.1:1", func() Status { return Status{} }, group.member(t, "n1"),
		time.Minute, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", m.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		m.mu.Lock()
		n := len(m.mu.opening)
		m.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection was not accepted")
		}
	}
	start := time.Now()
	m.Close()
	m.Wait()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %s", took)
	}
}

func TestRefusalsLoggedOncePerHostAndInterval(t *testing.T) {
	logs := &records{}
	r := newRefusals(slog.New(logs), 100*time.Millisecond)
	a1 := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1000}
	a2 := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1001}
	b := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1000}
	boom := errors.New("boom")
	r.note(a1, boom)
	r.note(a2, boom) // same host, other port: suppressed
	r.note(a1, boom)
	r.note(b, boom)
	if lines := logs.with(refusedLine); len(lines) != 2 || lines[0]["peer"] != a1.String() || lines[1]["peer"] != b.String() {
		t.Fatalf("lines: %v", lines)
	}
	time.Sleep(150 * time.Millisecond)
	r.note(a2, boom)
	lines := logs.with(refusedLine)
	if len(lines) != 3 || lines[2]["peer"] != a2.String() || lines[2]["refused_since_last_line"] != "2" || lines[2]["err"] != "boom" {
		t.Fatalf("lines: %v", lines)
	}
}

func TestGroupOverMutualTLS(t *testing.T) {
	group, other := newTestCA(t, "group"), newTestCA(t, "other")
	g := newGroup(t, 3, func(c *Config) { c.TLS = group.member(t, c.NodeID) })
	_, m := g.master()
	addN(t, m.Store(), 1, 51)
	g.converged(m)
	for id, addr := range g.peers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if st, err := QueryStatus(ctx, addr, group.member(t, "admin")); err != nil || st.ID != id || st.AppliedIndex == 0 {
			t.Errorf("status of %s: %+v, %v", id, st, err)
		}
		if _, err := QueryStatus(ctx, addr, nil); err == nil {
			t.Errorf("%s answered a plain status query", id)
		}
		if _, err := QueryStatus(ctx, addr, other.member(t, "admin")); err == nil {
			t.Errorf("%s answered a status query with another CA's certificate", id)
		}
	}
	// The master learnt its peers' client URLs over the same TLS (the
	// leader asks every 3 s with a 1 s timeout; the wait is generous for a
	// busy machine under the race detector, where leadership may move).
	learnt := func() bool {
		for _, n := range g.nodes {
			if len(n.ClusterURLs()) == 3 {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); !learnt(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("cluster URLs: master %v", m.ClusterURLs())
		}
	}
}

func TestOpenRefusesACertificateOutsideTheGroup(t *testing.T) {
	group, other := newTestCA(t, "group"), newTestCA(t, "other")
	addr := freeAddr(t)
	for _, tc := range []struct {
		name string
		tls  *TLS
		want string
	}{
		{"another CA", &TLS{Certificate: other.member(t, "n1").Certificate, CA: group.pool}, "does not verify against the group's CA"},
		{"no clientAuth", &TLS{Certificate: group.issue(t, "n1", x509.ExtKeyUsageServerAuth), CA: group.pool}, "clientAuth"},
		{"no certificate", &TLS{CA: group.pool}, "no certificate"},
		{"no CA", &TLS{Certificate: group.member(t, "n1").Certificate}, "no group CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(context.Background(), Config{NodeID: "n1", Bind: addr, Peers: map[string]string{"n1": addr},
				Dir: t.TempDir(), TLS: tc.tls})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
