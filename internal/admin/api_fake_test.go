package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store/storetest"
)

// fakeCore is a Core over maps, recording what it was asked; Connect is a
// real broker's (over an in-memory store), so that a test message goes
// through the front door as a client's would.
type fakeCore struct {
	b *broker.Broker

	mu        sync.Mutex
	dests     map[message.Destination]broker.DestInfo
	msgs      map[string][]broker.MessageInfo // by queue
	conns     []broker.ConnInfo
	durables  []broker.DurableInfo
	lastQuery broker.DestQuery
	calls     []string
}

func newFakeCore(t *testing.T, guard *auth.Guard) *fakeCore {
	t.Helper()
	b, err := broker.New(broker.Config{Guard: guard, MaxRedeliveries: broker.DefaultMaxRedeliveries},
		storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f := &fakeCore{b: b, dests: map[message.Destination]broker.DestInfo{}, msgs: map[string][]broker.MessageInfo{}}
	for _, d := range []broker.DestInfo{
		{Dest: message.Destination{Kind: message.Queue, Name: "orders"}, Depth: 2, InFlight: 1, Enqueued: 10,
			Dequeued: 8, Expired: 1, Consumers: 3, Producers: 4, Memory: 500},
		{Dest: message.Destination{Kind: message.Queue, Name: "ActiveMQ.DLQ"}, Depth: 1},
		{Dest: message.Destination{Kind: message.Queue, Name: "a/b c"}},
		{Dest: message.Destination{Kind: message.Topic, Name: "prices"}, Consumers: 1},
	} {
		f.dests[d.Dest] = d
	}
	q := message.Destination{Kind: message.Queue, Name: "orders"}
	f.msgs["orders"] = []broker.MessageInfo{
		{ID: "m1", Position: 0, Dest: q, Timestamp: 1700000000000, Priority: 4, Persistent: true,
			CorrelationID: "c1", Type: "t1", ReplyTo: message.Destination{Kind: message.Queue, Name: "replies"},
			GroupID: "g", GroupSeq: 2, UserID: "alice", Properties: map[string]any{"n": int64(7), "s": "x"},
			BodyKind: message.Text, BodySize: 5, BodyPreview: []byte("hello"), InFlight: true},
		{ID: "m2", Position: 1, Dest: q, BodyKind: message.Bytes, BodySize: 3, BodyPreview: []byte{0xff, 0, 1}},
	}
	f.msgs["ActiveMQ.DLQ"] = []broker.MessageInfo{{ID: "d1", Dest: message.Destination{Kind: message.Queue, Name: "ActiveMQ.DLQ"},
		OriginalDest: q, DeliveryCount: 7}}
	f.msgs["a/b c"] = nil
	f.conns = []broker.ConnInfo{{ID: "ID:c-1", Protocol: "stomp", Remote: "127.0.0.1:5000", User: "alice",
		ClientID: "app", Since: time.Unix(1700000000, 0), Consumers: 1, Producers: 2}}
	f.durables = []broker.DurableInfo{{ClientID: "app", Name: "sub", Topic: "prices", Selector: "a > 1", Backlog: 9}}
	return f
}

func (f *fakeCore) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// called returns the calls recorded, and forgets them.
func (f *fakeCore) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeCore) Destinations(q broker.DestQuery) broker.DestPage {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastQuery = q
	var items []broker.DestInfo
	for d, info := range f.dests {
		if (q.Kind == 0 || d.Kind == q.Kind) && strings.Contains(strings.ToLower(d.Name), strings.ToLower(q.Contains)) {
			items = append(items, info)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Dest.Name < items[j].Dest.Name })
	total := len(items)
	items = items[min(q.Offset, total):min(q.Offset+q.Limit, total)]
	return broker.DestPage{Total: total, Items: items}
}

func (f *fakeCore) Destination(d message.Destination) (broker.DestInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, ok := f.dests[d]
	return info, ok
}

func (f *fakeCore) queue(name string) ([]broker.MessageInfo, error) {
	if _, ok := f.dests[message.Destination{Kind: message.Queue, Name: name}]; !ok {
		return nil, fmt.Errorf("%w: queue://%s", broker.ErrNoSuchDestination, name)
	}
	return f.msgs[name], nil
}

func (f *fakeCore) Browse(_ context.Context, queue string, offset, limit int) ([]broker.MessageInfo, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, err := f.queue(queue)
	if err != nil {
		return nil, 0, err
	}
	f.record("browse %s %d %d", queue, offset, limit)
	return ms[min(offset, len(ms)):min(offset+limit, len(ms))], len(ms), nil
}

func (f *fakeCore) Purge(_ context.Context, queue string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, err := f.queue(queue)
	if err != nil {
		return 0, err
	}
	f.msgs[queue] = nil
	f.record("purge %s", queue)
	return len(ms), nil
}

func (f *fakeCore) DeleteDestination(_ context.Context, d message.Destination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.dests[d]; !ok {
		return fmt.Errorf("%w: %s", broker.ErrNoSuchDestination, d)
	}
	delete(f.dests, d)
	f.record("delete %s", d)
	return nil
}

// matching returns how many of ms the ids name (all for nil ids).
func matching(ms []broker.MessageInfo, ids []string) int {
	if ids == nil {
		return len(ms)
	}
	n := 0
	for _, m := range ms {
		if slices.Contains(ids, m.ID) {
			n++
		}
	}
	return n
}

func (f *fakeCore) RemoveMessages(_ context.Context, queue string, ids []string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, err := f.queue(queue)
	if err != nil {
		return 0, err
	}
	f.record("remove %s %v", queue, ids)
	return matching(ms, ids), nil
}

func (f *fakeCore) MoveMessages(_ context.Context, queue string, ids []string, to message.Destination, copy bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, err := f.queue(queue)
	if err != nil {
		return 0, err
	}
	f.record("move %s %v %s %t", queue, ids, to, copy)
	return matching(ms, ids), nil
}

func (f *fakeCore) RetryMessages(_ context.Context, queue string, ids []string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, err := f.queue(queue)
	if err != nil {
		return 0, err
	}
	if ids != nil && !strings.HasPrefix(queue, "ActiveMQ.DLQ") { // as the broker: only named messages are an error
		return 0, fmt.Errorf("%w: %s", broker.ErrNotDeadLetter, queue)
	}
	f.record("retry %s %v", queue, ids)
	return matching(ms, ids), nil
}

func (f *fakeCore) Overview() broker.Overview {
	return broker.Overview{Name: "east", ID: "ID:east", Started: time.Unix(1700000000, 0),
		Connections: map[string]int{"stomp": 1}, MemoryUsed: 10, MemoryLimit: 100, Queues: 3, Topics: 1,
		ScheduledJobs: 2, Enqueued: 10, Dequeued: 8, StoreUsed: 4096, StoreLimit: 1 << 20, StoreMessages: 7}
}

func (f *fakeCore) Connections() []broker.ConnInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.conns)
}

func (f *fakeCore) CloseConnection(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.conns {
		if c.ID == id {
			f.conns = slices.Delete(f.conns, i, i+1)
			f.record("close %s", id)
			return nil
		}
	}
	return fmt.Errorf("%w: %s", broker.ErrNoSuchConnection, id)
}

func (f *fakeCore) DurableSubscriptions() []broker.DurableInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.durables)
}

func (f *fakeCore) DeleteDurable(_ context.Context, clientID, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, d := range f.durables {
		if d.ClientID == clientID && d.Name == name {
			f.durables = slices.Delete(f.durables, i, i+1)
			f.record("unsubscribe %s %s", clientID, name)
			return nil
		}
	}
	return fmt.Errorf("%w: %s/%s", broker.ErrNoSuchDurable, clientID, name)
}

func (f *fakeCore) Connect(ctx context.Context, o broker.ConnOptions) (*broker.Conn, error) {
	return f.b.Connect(ctx, o)
}

// Users of the secured test console.
var testUsers = map[string]string{"admin": "admin-pw", "viewer": "viewer-pw", "writer": "writer-pw"}

// testGuard is a front door with an admin (group admins), a viewer (group
// users) and a writer (group writers, not an admin of the console), who
// may all read every queue; admins and writers may send to orders.> only.
func testGuard(t *testing.T) *auth.Guard {
	t.Helper()
	var users []auth.User
	for name, group := range map[string]string{"admin": "admins", "viewer": "users", "writer": "writers"} {
		h, err := auth.HashPassword(testUsers[name], 4)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, auth.User{Name: name, Hash: h, Groups: []string{group}})
	}
	g, err := auth.New(auth.Options{Enforced: true, Users: users, FailDelay: time.Millisecond,
		MaxFailDelay: time.Millisecond, Entries: []auth.Entry{
			{Pattern: ">", Grants: auth.Grants{Read: []string{"*"}}},
			{Pattern: "orders.>", Grants: auth.Grants{Write: []string{"admins", "writers"}, Admin: []string{"admins"}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// clock is a settable time for sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// apiEnv is a console over a fake core.
type apiEnv struct {
	s     *Server
	core  *fakeCore
	clock *clock
}

// newAPIEnv returns a console with security on (secured) or off.
func newAPIEnv(t *testing.T, secured bool) *apiEnv {
	t.Helper()
	var g *auth.Guard
	if secured {
		g = testGuard(t)
	}
	e := &apiEnv{core: newFakeCore(t, g), clock: &clock{t: time.Unix(1700000100, 0)}}
	e.s = New(Options{Ready: func() bool { return true }, Guard: g, Name: "east", Version: "1.2.3",
		Core: func() Core { return e.core }, Now: e.clock.now}, nil)
	return e
}

// call is one request: method, path, JSON body and options (a user, a
// header, a cookie).
func (e *apiEnv) call(t *testing.T, method, path, body string, opts ...func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(r)
	}
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, r)
	return rec
}

func as(user string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, testUsers[user]) }
}

func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(c) }
}

// The scheduler is the real broker's.
func (f *fakeCore) ScheduledJobList(ctx context.Context, offset, limit int) ([]broker.JobInfo, int, error) {
	return f.b.ScheduledJobList(ctx, offset, limit)
}

func (f *fakeCore) RemoveScheduledJob(ctx context.Context, id string) error {
	return f.b.RemoveScheduledJob(ctx, id)
}
