//go:build crossprocess

package security

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// An activemq.xml with ActiveMQ's <sslContext> (the broker's key in a JKS
// key store, the clients' CA in a trust store) runs as it is: clients
// connect over ssl:// trusting the broker's CA, log in with a password or
// with a client certificate the trust store verifies, and a certificate
// the trust store does not know is refused.
func TestActiveMQSSLContext(t *testing.T) {
	f := setup(t)
	bin := piertest.Bin(t)
	dir := t.TempDir()
	c := f.certs
	p12 := filepath.Join(dir, "broker.p12")
	for _, step := range [][]string{
		{"openssl", "pkcs12", "-export", "-in", c.BrokerCert, "-inkey", c.BrokerKey, "-certfile", c.CA,
			"-name", "broker", "-out", p12, "-passout", "pass:" + storePass},
		{"keytool", "-importkeystore", "-noprompt", "-srckeystore", p12, "-srcstoretype", "PKCS12",
			"-srcstorepass", storePass, "-destkeystore", "broker.ks", "-deststoretype", "JKS",
			"-deststorepass", storePass, "-destkeypass", storePass},
		{"keytool", "-importcert", "-noprompt", "-alias", "clients", "-file", c.ClientCA,
			"-keystore", "broker.ts", "-storetype", "JKS", "-storepass", storePass},
	} {
		if err := run(dir, step...); err != nil {
			t.Fatal(err)
		}
	}
	addr := piertest.FreeAddr(t)
	xml := fmt.Sprintf(`<beans xmlns="http://www.springframework.org/schema/beans">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="tls-xml" dataDirectory="${activemq.data}">
    <plugins>
      <simpleAuthenticationPlugin>
        <users>
          <authenticationUser username="app" password="%s" groups="apps"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <sslContext>
      <sslContext keyStore="file:${activemq.conf}/broker.ks" keyStorePassword="%s"
                  trustStore="file:${activemq.conf}/broker.ts" trustStorePassword="%s"/>
    </sslContext>
    <transportConnectors>
      <transportConnector name="ssl" uri="ssl://%s?wantClientAuth=true"/>
    </transportConnectors>
  </broker>
</beans>
`, passwords["app"], storePass, storePass, addr)
	if err := os.WriteFile(filepath.Join(dir, "activemq.xml"), []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(bin, "serve", "--config", filepath.Join(dir, "activemq.xml"), "--console", "off")
	srv.Env = append(os.Environ(), "ACTIVEMQ_DATA="+filepath.Join(dir, "data"))
	var log strings.Builder
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("pier serve:\n%s", log.String())
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pier serve --config activemq.xml is not listening on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	url := "ssl://" + addr
	pier := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := pier("produce", "--url", url, "--ca-file", c.CA, "--login", "app", "--passcode", passwords["app"],
		"--destination", "queue://tls.xml", "--body", "with a password"); err != nil {
		t.Fatalf("password login over ssl://: %v\n%s", err, out)
	}
	if out, err := pier("produce", "--url", url, "--ca-file", c.CA, "--cert-file", c.ClientCert, "--key-file", c.ClientKey,
		"--destination", "queue://tls.xml", "--body", "with a certificate"); err != nil {
		t.Fatalf("certificate login (CN=app, verified by the trust store): %v\n%s", err, out)
	}
	out, err := pier("consume", "--url", url, "--ca-file", c.CA, "--login", "app", "--passcode", passwords["app"],
		"--destination", "queue://tls.xml", "--count", "2", "--timeout", "10s")
	if err != nil || !strings.Contains(out, "with a password") || !strings.Contains(out, "with a certificate") {
		t.Fatalf("consume: %v\n%s", err, out)
	}
	if out, err := pier("produce", "--url", url, "--ca-file", c.CA, "--cert-file", c.StrangerCert, "--key-file", c.StrangerKey,
		"--destination", "queue://tls.xml", "--body", "stranger"); err == nil {
		t.Fatalf("a certificate of no user logged in:\n%s", out)
	}
	if out, err := pier("produce", "--url", url, "--destination", "queue://tls.xml", "--body", "x", "--login", "app",
		"--passcode", passwords["app"]); err == nil {
		t.Fatalf("a client that does not trust the broker's CA connected:\n%s", out)
	}
}
