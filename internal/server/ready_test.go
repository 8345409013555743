package server

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// takeoverGate is a fake gate that took over from another master at from.
type takeoverGate struct {
	*fakeGate
	from time.Time
	took bool
}

func (g *takeoverGate) TakeoverStart() (time.Time, bool) { return g.from, g.took }

// syncBuffer is a buffer the server's goroutines may log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReadyLine: a master that took over says how long the takeover took,
// not how long the process has run; a first start says how long it took.
func TestReadyLine(t *testing.T) {
	leakCheck(t)
	for _, c := range []struct {
		name string
		took bool
		want string
	}{
		{"takeover", true, "takeover=1.5"},
		{"first start", false, "startup="},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs syncBuffer
			g := &takeoverGate{fakeGate: newFakeGate(), from: time.Now().Add(-1500 * time.Millisecond), took: c.took}
			f := newFakes()
			h := start(t, Deps{OpenStore: opener(newFakeStore(), g), Listeners: []Listener{f.listener("fake", "127.0.0.1:0")},
				Log: slog.New(slog.NewTextHandler(&logs, nil))})
			end := g.grant()
			defer end()
			h.ready()
			waitFor(t, "the ready line", func() bool { return strings.Contains(logs.String(), "msg=ready") })
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "msg=ready") {
					line = l
				}
			}
			if !strings.Contains(line, c.want) || c.took == strings.Contains(line, "startup=") {
				t.Errorf("ready line %q, want %s", line, c.want)
			}
			if strings.Contains(logs.String(), "msg=master ") {
				t.Errorf("the gate says it became master; the server repeated it:\n%s", logs.String())
			}
			h.stop()
		})
	}
}
