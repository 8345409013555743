//go:build crossprocess

// Package console is the cross-process suite of the web console: a real
// `pier serve` ($PIER_BIN) with users, driven through its pages in Debian's
// headless chromium (/usr/bin/chromium, through chromedp) as an operator
// would: log in, list destinations, open a queue, browse it page by page,
// send a test message, move, purge, retry a dead letter to its queue; a
// user outside console.admin_groups sees no buttons and is refused (403)
// when forcing a change; a slave's console says it is a slave. What the
// pages did is checked from outside the browser too, with the Go client
// (package client) over OpenWire.
//
// On failure each test saves a screenshot and the page's HTML under
// $PIER_TEST_ARTIFACTS (default: a new directory under the system's
// temporary directory), and logs where.
//
//	go build -o /tmp/pier ./cmd/pier
//	PIER_BIN=/tmp/pier go test -tags crossprocess -count=1 -v ./test/console/
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/piertest"
)

// The suite's users: admin is in admins (console.admin_groups' default),
// viewer only in viewers, so it may look but not change.
var passwords = map[string]string{"admin": "admin-secret", "viewer": "viewer-secret"}

var groups = map[string]string{"admin": "admins", "viewer": "viewers"}

// hashes are the users' bcrypt hashes, made once with `pier passwd`.
var hashes struct {
	once sync.Once
	m    map[string]string
	err  error
}

func passwordHashes(t *testing.T) map[string]string {
	t.Helper()
	bin := piertest.Bin(t)
	hashes.once.Do(func() {
		hashes.m = map[string]string{}
		for u, pw := range passwords {
			cmd := exec.Command(bin, "passwd", "--cost", "4")
			cmd.Stdin = strings.NewReader(pw + "\n")
			out, err := cmd.Output()
			if err != nil {
				hashes.err = fmt.Errorf("pier passwd for %s: %v", u, err)
				return
			}
			hashes.m[u] = strings.TrimSpace(string(out))
		}
	})
	if hashes.err != nil {
		t.Fatal(hashes.err)
	}
	return hashes.m
}

// securityYAML: the two users; admins may do anything with any queue or
// topic, viewers may only read.
func securityYAML(t *testing.T) string {
	h := passwordHashes(t)
	var b strings.Builder
	b.WriteString("security:\n  users:\n")
	for _, u := range []string{"admin", "viewer"} {
		fmt.Fprintf(&b, "    - name: %s\n      password_hash: %q\n      groups: [%s]\n", u, h[u], groups[u])
	}
	b.WriteString(`  authorization:
    - queue: ">"
      read: [admins, viewers]
      write: [admins]
      admin: [admins]
    - topic: ">"
      read: [admins, viewers]
      write: [admins]
      admin: [admins]
`)
	return b.String()
}

// broker is one `pier serve` with OpenWire and a console on free loopback
// ports.
type broker struct {
	*piertest.Pier
	console  string // http://host:port
	openwire string // tcp://host:port
	name     string
}

// brokerOpts are what a test asks of startBroker.
type brokerOpts struct {
	name string
	// journal is store.journal.dir; empty: a new directory. Two brokers on
	// one directory are a shared-directory group.
	journal string
	// standby: wait for the console to answer /healthz only (a slave is
	// never ready).
	standby bool
	// open: no security section (no users: the console lets everyone in).
	open bool
	// extra is appended to the configuration (network_connectors: ...).
	extra string
}

func startBroker(t *testing.T, o brokerOpts) *broker {
	t.Helper()
	if o.name == "" {
		o.name = "console-test"
	}
	if o.journal == "" {
		o.journal = filepath.Join(t.TempDir(), "journal")
	}
	b := &broker{console: "http://" + piertest.FreeAddr(t), openwire: "tcp://" + piertest.FreeAddr(t), name: o.name}
	security := o.extra
	if !o.open {
		security += "\n" + securityYAML(t)
	}
	cfg := fmt.Sprintf(`broker:
  name: %s
  data_dir: %s
transports:
  openwire: %s
  stomp: ""
console:
  listen: %s
store:
  kind: journal
  journal:
    dir: %s
%s`, o.name, t.TempDir(), b.openwire, strings.TrimPrefix(b.console, "http://"), o.journal, security)
	probe := "/readyz"
	if o.standby {
		probe = "/healthz"
	}
	ready := func() bool {
		code, _, err := b.get(probe)
		return err == nil && code == http.StatusOK
	}
	b.Pier = piertest.StartWith(t, piertest.Options{Name: o.name, Config: cfg, Ready: ready})
	return b
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// get fetches a console path without credentials.
func (b *broker) get(path string) (int, string, error) {
	resp, err := httpClient.Get(b.console + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// api calls the REST API as admin with basic authentication (the way a
// script does) and decodes the JSON answer into out (when not nil).
func (b *broker) api(t *testing.T, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.console+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", passwords["admin"])
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// depth is a queue's depth as the REST API reports it.
func (b *broker) depth(t *testing.T, queue string) int64 {
	t.Helper()
	var q struct {
		Depth int64 `json:"depth"`
	}
	if code := b.api(t, http.MethodGet, "/api/v1/queues/"+queue, nil, &q); code != http.StatusOK {
		t.Fatalf("GET /api/v1/queues/%s: %d", queue, code)
	}
	return q.Depth
}

// ctx is a context for one client step.
func stepCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects the Go client as admin.
func (b *broker) dial(t *testing.T, opts client.Options) *client.Conn {
	t.Helper()
	opts.Username, opts.Password = "admin", passwords["admin"]
	opts.NoTopicAdvisories = true
	c, err := client.Dial(stepCtx(t), b.openwire, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", b.openwire, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// session dials as admin and opens a session in mode; the connection is
// closed when the test ends (or earlier by the caller).
func (b *broker) session(t *testing.T, opts client.Options, mode client.AckMode) (*client.Conn, *client.Session) {
	t.Helper()
	c := b.dial(t, opts)
	s, err := c.Session(stepCtx(t), mode)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// sendTexts sends texts to queue, each with the property n (its index).
func (b *broker) sendTexts(t *testing.T, queue string, texts ...string) {
	t.Helper()
	c, s := b.session(t, client.Options{}, client.AutoAck)
	p, err := s.Producer(stepCtx(t), client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		m := client.NewTextMessage(text)
		m.SetProperty("n", int32(i))
		if err := p.Send(stepCtx(t), m); err != nil {
			t.Fatalf("send to %s: %v", queue, err)
		}
	}
	c.Close(stepCtx(t))
}

// sendEach sends one message of n bytes to each of queues through one
// anonymous producer: persistent (each stored before the next) or not
// (asynchronous, to make many quickly).
func (b *broker) sendEach(t *testing.T, queues []string, persistent bool, n int) {
	t.Helper()
	c, s := b.session(t, client.Options{}, client.AutoAck)
	p, err := s.Producer(stepCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", n)
	opts := []client.SendOption{nil}
	if !persistent {
		opts = append(opts, client.NonPersistent())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, q := range queues {
		opts[0] = client.To(client.Queue(q))
		if err := p.Send(ctx, client.NewTextMessage(body), opts...); err != nil {
			t.Fatalf("send to %s: %v", q, err)
		}
	}
	c.Close(stepCtx(t))
}

// deadLetter sends text to queue and has a transacted consumer roll it
// back until the client's redelivery limit (1) sends it to ActiveMQ.DLQ.
func (b *broker) deadLetter(t *testing.T, queue, text string) {
	t.Helper()
	b.sendTexts(t, queue, text)
	c, tx := b.session(t, client.Options{MaxRedeliveries: 1}, client.Transacted)
	k, err := tx.Consumer(stepCtx(t), client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		m, err := k.Receive(stepCtx(t))
		if err != nil {
			t.Fatalf("receive %d of %q: %v", i+1, text, err)
		}
		if got, _ := m.Text(); got != text {
			t.Fatalf("received %q, want %q", got, text)
		}
		if err := tx.Rollback(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(stepCtx(t))
}

// durableBacklog makes an offline durable subscription clientID/name on
// topic and publishes n messages to it.
func (b *broker) durableBacklog(t *testing.T, clientID, name, topic string, n int) {
	t.Helper()
	c, s := b.session(t, client.Options{ClientID: clientID}, client.AutoAck)
	k, err := s.Consumer(stepCtx(t), client.Topic(topic), client.Durable(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Close(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	p, err := s.Producer(stepCtx(t), client.Topic(topic))
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := p.Send(stepCtx(t), client.NewTextMessage("price")); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(stepCtx(t))
}

// receiveAll consumes what queue holds (until nothing comes for quiet)
// and returns the texts.
func (b *broker) receiveAll(t *testing.T, queue string, quiet time.Duration) []string {
	t.Helper()
	c, s := b.session(t, client.Options{}, client.AutoAck)
	k, err := s.Consumer(stepCtx(t), client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		m, err := k.Receive(ctx)
		cancel()
		if err != nil {
			break
		}
		text, _ := m.Text()
		got = append(got, text)
	}
	c.Close(stepCtx(t))
	return got
}

// browse returns the messages queue holds, without consuming them.
func (b *broker) browse(t *testing.T, queue string) []*client.Message {
	t.Helper()
	c, s := b.session(t, client.Options{}, client.AutoAck)
	ms, err := s.Browse(stepCtx(t), client.Queue(queue), "")
	if err != nil {
		t.Fatalf("browse %s: %v", queue, err)
	}
	c.Close(stepCtx(t))
	return ms
}
