//go:build crossprocess

package security

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConsole: a broker with a tls section serves its console over HTTPS
// with its certificate; /healthz and /readyz stay open, /network needs a
// login of a configured user (basic authentication).
func TestConsole(t *testing.T) {
	p, _, _ := tlsPier(t, "console")
	for _, tc := range []struct {
		path, user, password string
		want                 int
	}{
		{"/healthz", "", "", http.StatusOK},
		{"/readyz", "", "", http.StatusOK},
		{"/network", "", "", http.StatusUnauthorized},
		{"/network", "admin", "not-" + passwords["admin"], http.StatusUnauthorized},
		{"/network", "admin", passwords["admin"], http.StatusOK},
	} {
		code, body, err := p.Get(tc.path, tc.user, tc.password)
		if err != nil {
			t.Fatalf("GET %s as %q: %v", tc.path, tc.user, err)
		}
		if code != tc.want {
			t.Errorf("GET %s as %q: %d, want %d: %s", tc.path, tc.user, code, tc.want, body)
		}
	}
	// Plain HTTP is not served on the HTTPS port.
	plain := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + strings.TrimPrefix(p.console, "https://") + "/readyz"
	if resp, err := plain.Get(url); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("GET %s over plain HTTP answered 200", url)
		}
	}
}
