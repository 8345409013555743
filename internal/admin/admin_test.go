package admin

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/network"
)

func TestHealthAndReadiness(t *testing.T) {
	var ready atomic.Bool
	s := New(Options{Ready: ready.Load}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before ready: %d", code)
	}
	ready.Store(true)
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz when ready: %d %q", code, body)
	}
	if code, _ := get("/nothing"); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", code)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

var fakeBridges = []network.Status{
	{Connector: "east", Remote: "tcp://10.0.0.2:61616", State: "connected", Since: time.Unix(1700000000, 0).UTC(),
		Demand: 3, Subs: 2, Forwarded: 40, Sent: 39, DeadLettered: 1, Connects: 1},
	{Connector: "east", Remote: "tcp://10.0.0.3:61616", State: "backing off", LastError: "connection refused",
		Connects: 4},
}

// get serves one request on s and returns the status code and body.
func get(t *testing.T, s *Server, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestNetwork(t *testing.T) {
	ready := func() bool { return true }
	tests := []struct {
		name    string
		network func() []network.Status
		want    string
	}{
		{"no connectors", nil, `{"bridges":[]}`},
		{"nil slice", func() []network.Status { return nil }, `{"bridges":[]}`},
		{"bridges", func() []network.Status { return fakeBridges }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, New(Options{Ready: ready, Network: tt.network}, nil), "/network")
			if code != http.StatusOK {
				t.Fatalf("code %d: %s", code, body)
			}
			if tt.want != "" {
				if strings.TrimSpace(body) != tt.want {
					t.Fatalf("body %s, want %s", body, tt.want)
				}
				return
			}
			var got struct{ Bridges []network.Status }
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if len(got.Bridges) != 2 || got.Bridges[0] != fakeBridges[0] || got.Bridges[1] != fakeBridges[1] {
				t.Fatalf("bridges %+v", got.Bridges)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	var ready atomic.Bool
	s := New(Options{Ready: ready.Load, Network: func() []network.Status { return fakeBridges }}, nil)
	code, body := get(t, s, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("code %d: %s", code, body)
	}
	const a, b = `{connector="east",remote="tcp://10.0.0.2:61616"}`, `{connector="east",remote="tcp://10.0.0.3:61616"}`
	for _, want := range []string{
		"pier_up 1", "pier_serving 0",
		"pier_bridge_up" + a + " 1", "pier_bridge_up" + b + " 0",
		"pier_bridge_demand" + a + " 3", "pier_bridge_demand" + b + " 0",
		"pier_bridge_subscriptions" + a + " 2",
		"pier_bridge_forwarded_total" + a + " 40",
		"pier_bridge_sent_total" + a + " 39",
		"pier_bridge_connects_total" + a + " 1", "pier_bridge_connects_total" + b + " 4",
		"pier_bridge_dead_lettered_total" + a + " 1",
		"# TYPE pier_bridge_sent_total counter", "# TYPE pier_bridge_demand gauge",
		"go_goroutines ", "process_cpu_seconds_total ",
	} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
	ready.Store(true)
	if _, body := get(t, s, "/metrics"); !strings.Contains(body, "\npier_serving 1\n") {
		t.Errorf("pier_serving when ready:\n%s", body)
	}
	// Without connectors there are no bridge series, and two servers have
	// registries of their own.
	_, body = get(t, New(Options{Ready: ready.Load}, nil), "/metrics")
	if strings.Contains(body, "pier_bridge_") || !strings.Contains(body, "\npier_up 1\n") {
		t.Errorf("no connectors:\n%s", body)
	}
}
