package wsserve

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/piermq/pier/client/clienttest"
	"github.com/piermq/pier/internal/protocol/netserve"
)

// Over wss:// the session finds the client's verified certificate, as on
// stomp+ssl://.
func TestTLSClientCertificate(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	scfg := ca.ServerConfig(t)
	scfg.ClientCAs, scfg.ClientAuth = ca.Pool, tls.VerifyClientCertIfGiven
	h := newEcho("")
	r := newRig(t, rigOptions{stomp: h, tls: scfg})
	alice := ca.Issue(t, "alice")
	aliceLeaf, err := x509.ParseCertificate(alice.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
	}{
		{"with a certificate", []tls.Certificate{alice}},
		{"without", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := ca.ClientConfig()
			ccfg.Certificates = tc.certs
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: ccfg}}
			defer client.CloseIdleConnections()
			c := r.dialWith(dialOptions(client, "v12.stomp"), "/")
			got := netserve.PeerCertificates(h.next(t))
			if tc.certs == nil {
				if got != nil {
					t.Fatalf("certificates %v without a client certificate", got)
				}
			} else if len(got) == 0 || !got[0].Equal(aliceLeaf) {
				t.Fatalf("PeerCertificates = %v, want alice's", got)
			}
			c.c.CloseNow()
		})
	}
}
