//go:build crossprocess

package migrate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/piertest"
)

// session opens a connection to url (closed at the end of the test) and an
// auto-acknowledged session on it.
func session(t *testing.T, ctx context.Context, url string) *client.Session {
	t.Helper()
	c, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// texts are n message texts: prefix #0, prefix #1, ...
func texts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s #%d", prefix, i)
	}
	return out
}

// send sends each of texts to queue through url, as a persistent text
// message.
func send(t *testing.T, ctx context.Context, url, queue string, texts []string) {
	t.Helper()
	p, err := session(t, ctx, url).Producer(ctx, client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range texts {
		if err := p.Send(ctx, client.NewTextMessage(s)); err != nil {
			t.Fatalf("send %q to %s: %v", s, queue, err)
		}
	}
}

// consumer opens a consumer of queue through url.
func consumer(t *testing.T, ctx context.Context, url, queue string) *client.Consumer {
	t.Helper()
	k, err := session(t, ctx, url).Consumer(ctx, client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// expectTexts receives from k until it has every one of texts (a
// duplicate only if marked redelivered), then nothing more for a moment;
// it returns the last message received.
func expectTexts(t *testing.T, ctx context.Context, k *client.Consumer, texts []string) *client.Message {
	t.Helper()
	want := map[string]bool{}
	for _, s := range texts {
		want[s] = true
	}
	got := map[string]bool{}
	var last *client.Message
	for len(got) < len(texts) {
		m, err := k.Receive(ctx)
		if err != nil {
			t.Fatalf("%s: %d of %d received: %v", k.Destination(), len(got), len(texts), err)
		}
		s, _ := m.Text()
		switch {
		case !want[s]:
			t.Fatalf("%s: %q unexpected", k.Destination(), s)
		case got[s] && !m.Redelivered:
			t.Fatalf("%s: %q twice, not marked redelivered", k.Destination(), s)
		}
		got[s], last = true, m
	}
	quiet, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if m, err := k.Receive(quiet); err == nil {
		s, _ := m.Text()
		t.Fatalf("%s: a message more: %q", k.Destination(), s)
	}
	return last
}

// pier runs the pier binary with args (and env added to the test's) and
// returns its standard output and error.
func pier(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(piertest.Bin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// listening are the listeners a broker's log says it opened, "proto addr"
// each, sorted.
func listening(log string) []string {
	var out []string
	for _, m := range listeningRE.FindAllStringSubmatch(log, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var listeningRE = regexp.MustCompile(`msg=listening .*?proto=(\S+) addr=(\S+)`)
