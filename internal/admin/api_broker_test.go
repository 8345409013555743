package admin

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store/storetest"
)

// The REST API over a real broker on an in-memory store: what each change
// does to the queues and to the store, across a restart too.

// realEnv is a console over a broker over st.
type realEnv struct {
	apiEnv
	st *storetest.Memory
	b  *broker.Broker
}

func startReal(t *testing.T, st *storetest.Memory) *realEnv {
	t.Helper()
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r := &realEnv{st: st, b: b}
	r.s = New(Options{Ready: func() bool { return true }, Core: func() Core { return b }}, nil)
	return r
}

// restart closes the broker and starts another over the same store.
func (r *realEnv) restart(t *testing.T) *realEnv {
	t.Helper()
	r.b.Close()
	return startReal(t, r.st.Reopen())
}

// sink collects deliveries.
type sink chan *broker.Delivery

func (k sink) Deliver(d *broker.Delivery) { k <- d }

func (k sink) next(t *testing.T) *broker.Delivery {
	t.Helper()
	select {
	case d := <-k:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
		return nil
	}
}

func queue(name string) message.Destination {
	return message.Destination{Kind: message.Queue, Name: name}
}

// send sends n persistent messages "<prefix>0".. through the API and
// returns their ids.
func (r *realEnv) send(t *testing.T, q, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		rec := r.call(t, "POST", "/api/v1/queues/"+q+"/messages", fmt.Sprintf(`{"body":"%s%d"}`, prefix, i))
		if rec.Code != http.StatusCreated {
			t.Fatalf("send: %d %s", rec.Code, rec.Body)
		}
		ids = append(ids, decode[struct{ ID string }](t, rec).ID)
	}
	return ids
}

// browse returns the ids and bodies on a queue, through the API.
func (r *realEnv) browse(t *testing.T, q string) (ids, bodies []string) {
	t.Helper()
	rec := r.call(t, "GET", "/api/v1/queues/"+q+"/messages?limit=1000", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("browse %s: %d %s", q, rec.Code, rec.Body)
	}
	page := decode[PageJSON[MessageJSON]](t, rec)
	if page.Total != len(page.Items) {
		t.Fatalf("browse %s: total %d, %d items", q, page.Total, len(page.Items))
	}
	for _, m := range page.Items {
		ids = append(ids, m.ID)
		bodies = append(bodies, m.BodyPreview)
	}
	return ids, bodies
}

func (r *realEnv) count(t *testing.T, what string, body string, want int, method, path string) {
	t.Helper()
	rec := r.call(t, method, path, body)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != fmt.Sprintf(`{"%s":%d}`, what, want) {
		t.Fatalf("%s %s %s: %d %s, want %s %d", method, path, body, rec.Code, rec.Body, what, want)
	}
}

// TestBrokerPurge: a purge empties the queue, in the store too.
func TestBrokerPurge(t *testing.T) {
	r := startReal(t, storetest.NewMemory(0))
	r.send(t, "orders", "m", 5)
	if n := r.st.Count("queue://orders"); n != 5 {
		t.Fatalf("store holds %d before the purge", n)
	}
	if d := decode[DestJSON](t, r.call(t, "GET", "/api/v1/queues/orders", "")); d.Depth != 5 || d.Enqueued != 5 {
		t.Fatalf("before the purge: %+v", d)
	}
	r.count(t, "removed", "", 5, "POST", "/api/v1/queues/orders/purge")
	if n := r.st.Count("queue://orders"); n != 0 {
		t.Fatalf("store holds %d after the purge", n)
	}
	if d := decode[DestJSON](t, r.call(t, "GET", "/api/v1/queues/orders", "")); d.Depth != 0 {
		t.Fatalf("after the purge: %+v", d)
	}
	// A restarted broker finds nothing of it (an empty queue is not
	// remembered: it is made again by its next use).
	r = r.restart(t)
	if n := r.st.Count("queue://orders"); n != 0 {
		t.Fatalf("store holds %d after a restart", n)
	}
	if rec := r.call(t, "GET", "/api/v1/queues/orders/messages", ""); rec.Code != http.StatusNotFound &&
		(rec.Code != http.StatusOK || decode[PageJSON[MessageJSON]](t, rec).Total != 0) {
		t.Fatalf("after a restart: %d %s", rec.Code, rec.Body)
	}
	wantError(t, r.call(t, "POST", "/api/v1/queues/nothing/purge", ""), http.StatusNotFound, "no such queue nothing")
}

// deadLetter sends a message to q and refuses it, so that it goes to
// ActiveMQ.DLQ.
func (r *realEnv) deadLetter(t *testing.T, q, body string) {
	t.Helper()
	r.send(t, q, body, 1)
	k := make(sink, 10)
	c, err := r.b.Connect(context.Background(), broker.ConnOptions{Internal: true, Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Subscribe(context.Background(), broker.SubOptions{ID: "s", Dest: queue(q), Ack: broker.AckIndividual}); err != nil {
		t.Fatal(err)
	}
	d := k.next(t)
	if err := c.Nack(context.Background(), "s", d.Tag, ""); err != nil {
		t.Fatal(err)
	}
}

// TestBrokerRetry: retry puts a dead letter back on its original queue
// exactly once — a second retry finds nothing, a restart shows one copy.
func TestBrokerRetry(t *testing.T) {
	r := startReal(t, storetest.NewMemory(0))
	r.deadLetter(t, "orders", "a")
	r.deadLetter(t, "payments", "b")
	ids, _ := r.browse(t, "ActiveMQ.DLQ")
	if len(ids) != 2 || r.st.Count("queue://orders") != 0 {
		t.Fatalf("dead letters %v, orders %d", ids, r.st.Count("queue://orders"))
	}
	page := decode[PageJSON[MessageJSON]](t, r.call(t, "GET", "/api/v1/queues/ActiveMQ.DLQ/messages", ""))
	if page.Items[0].OriginalDestination != "queue://orders" || page.Items[1].OriginalDestination != "queue://payments" {
		t.Fatalf("dead letters %+v", page.Items)
	}
	// One by id, then all (the one left).
	r.count(t, "retried", `{"ids":["`+ids[0]+`"]}`, 1, "POST", "/api/v1/queues/ActiveMQ.DLQ/retry")
	r.count(t, "retried", `{"ids":["`+ids[0]+`"]}`, 0, "POST", "/api/v1/queues/ActiveMQ.DLQ/retry")
	r.count(t, "retried", `{}`, 1, "POST", "/api/v1/queues/ActiveMQ.DLQ/retry")
	r.count(t, "retried", `{}`, 0, "POST", "/api/v1/queues/ActiveMQ.DLQ/retry")
	// A queue's own messages have nowhere to go back to: 409 when named.
	own := r.send(t, "plain", "p", 1)
	wantError(t, r.call(t, "POST", "/api/v1/queues/plain/retry", `{"ids":["`+own[0]+`"]}`), http.StatusConflict, "original destination")
	for range 2 {
		if got := []int{r.st.Count("queue://orders"), r.st.Count("queue://payments"), r.st.Count("queue://ActiveMQ.DLQ")}; !slices.Equal(got, []int{1, 1, 0}) {
			t.Fatalf("store: orders, payments, DLQ hold %v", got)
		}
		o, ob := r.browse(t, "orders")
		p, pb := r.browse(t, "payments")
		if !reflect.DeepEqual(o, ids[:1]) || !reflect.DeepEqual(p, ids[1:]) || ob[0] != "a0" || pb[0] != "b0" {
			t.Fatalf("orders %v %v, payments %v %v", o, ob, p, pb)
		}
		r = r.restart(t)
	}
}

// TestBrokerMove: moved and copied messages are where the answers say,
// none lost or doubled, across a restart on the same store.
func TestBrokerMove(t *testing.T) {
	r := startReal(t, storetest.NewMemory(0))
	ids := r.send(t, "a", "m", 20)
	r.count(t, "moved", `{"ids":["`+strings.Join(ids[:5], `","`)+`"],"to":"queue://b"}`, 5, "POST", "/api/v1/queues/a/move")
	r.count(t, "moved", `{"ids":["`+strings.Join(ids[5:8], `","`)+`"],"to":"queue://c","copy":true}`, 3, "POST", "/api/v1/queues/a/move")
	// Ids no longer there are not counted.
	r.count(t, "moved", `{"ids":["`+ids[0]+`","nope"],"to":"queue://b"}`, 0, "POST", "/api/v1/queues/a/move")
	wantError(t, r.call(t, "POST", "/api/v1/queues/a/move", `{"to":"queue://a"}`), http.StatusBadRequest, "the queue the messages are on")
	for range 2 {
		a, _ := r.browse(t, "a")
		b, _ := r.browse(t, "b")
		c, _ := r.browse(t, "c")
		slices.Sort(a)
		want := slices.Clone(ids[5:])
		slices.Sort(want)
		sb := slices.Sorted(slices.Values(b))
		sc := slices.Sorted(slices.Values(c))
		if !slices.Equal(a, want) || !slices.Equal(sb, slices.Sorted(slices.Values(ids[:5]))) ||
			!slices.Equal(sc, slices.Sorted(slices.Values(ids[5:8]))) {
			t.Fatalf("a %v\nb %v\nc %v", a, b, c)
		}
		if got := []int{r.st.Count("queue://a"), r.st.Count("queue://b"), r.st.Count("queue://c")}; !slices.Equal(got, []int{15, 5, 3}) {
			t.Fatalf("store holds %v", got)
		}
		page := decode[PageJSON[MessageJSON]](t, r.call(t, "GET", "/api/v1/queues/b/messages", ""))
		if page.Items[0].OriginalDestination != "queue://a" {
			t.Fatalf("moved message %+v", page.Items[0])
		}
		r = r.restart(t)
	}
	// Everything else, to a topic with no subscriber: gone from a.
	r.count(t, "moved", `{"to":"topic://t"}`, 15, "POST", "/api/v1/queues/a/move")
	if n := r.st.Count("queue://a"); n != 0 {
		t.Fatalf("a holds %d", n)
	}
}

// TestBrokerEndpoints: the other endpoints over a real broker.
func TestBrokerEndpoints(t *testing.T) {
	r := startReal(t, storetest.NewMemory(0))
	ids := r.send(t, "orders", "m", 3)
	page := decode[PageJSON[DestJSON]](t, r.call(t, "GET", "/api/v1/destinations?type=queue", ""))
	if page.Total != 1 || page.Items[0].Name != "orders" || page.Items[0].Depth != 3 {
		t.Fatalf("destinations %+v", page)
	}
	r.count(t, "removed", `{"ids":["`+ids[1]+`"]}`, 1, "POST", "/api/v1/queues/orders/remove")
	if got, bodies := r.browse(t, "orders"); !slices.Equal(got, []string{ids[0], ids[2]}) || !slices.Equal(bodies, []string{"m0", "m2"}) {
		t.Fatalf("after remove: %v %v", got, bodies)
	}
	// A connection and a durable subscription.
	c, err := r.b.Connect(context.Background(), broker.ConnOptions{ClientID: "app", Sink: make(sink, 10),
		Credentials: auth.Credentials{Username: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := message.Destination{Kind: message.Topic, Name: "prices"}
	if _, err := c.Subscribe(context.Background(), broker.SubOptions{ID: "d", Dest: topic, DurableName: "sub"}); err != nil {
		t.Fatal(err)
	}
	conns := decode[PageJSON[ConnJSON]](t, r.call(t, "GET", "/api/v1/connections", ""))
	if conns.Total != 1 || conns.Items[0].ClientID != "app" || conns.Items[0].User != "alice" || conns.Items[0].Consumers != 1 {
		t.Fatalf("connections %+v", conns)
	}
	durs := decode[PageJSON[durableJSON]](t, r.call(t, "GET", "/api/v1/durables", ""))
	if durs.Total != 1 || durs.Items[0] != (durableJSON{ClientID: "app", Name: "sub", Topic: "prices", Online: true}) {
		t.Fatalf("durables %+v", durs)
	}
	wantError(t, r.call(t, "DELETE", "/api/v1/durables/app/sub", ""), http.StatusConflict, "in use")
	if rec := r.call(t, "DELETE", "/api/v1/connections/"+conns.Items[0].ID, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("close: %d %s", rec.Code, rec.Body)
	}
	wantError(t, r.call(t, "DELETE", "/api/v1/connections/"+conns.Items[0].ID, ""), http.StatusNotFound, "no such connection")
	if conns := decode[PageJSON[ConnJSON]](t, r.call(t, "GET", "/api/v1/connections", "")); conns.Total != 0 {
		t.Fatalf("after close: %+v", conns)
	}
	if rec := r.call(t, "DELETE", "/api/v1/durables/app/sub", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("unsubscribe: %d %s", rec.Code, rec.Body)
	}
	wantError(t, r.call(t, "DELETE", "/api/v1/durables/app/sub", ""), http.StatusNotFound, "no such durable subscription")
	b := decode[brokerJSON](t, r.call(t, "GET", "/api/v1/broker", ""))
	if b.Role != "master" || !b.Serving || b.Enqueued != 3 || b.Queues != 1 || b.Topics != 1 || b.MemoryLimit == 0 ||
		b.Started == nil || b.Connections == nil {
		t.Fatalf("broker %+v", b)
	}
	// Delete the queue: gone, from the store too.
	if rec := r.call(t, "DELETE", "/api/v1/queues/orders", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	wantError(t, r.call(t, "GET", "/api/v1/queues/orders", ""), http.StatusNotFound, "no such queue orders")
	if n := r.st.Count("queue://orders"); n != 0 {
		t.Fatalf("store holds %d of a deleted queue", n)
	}
}

// TestBrokerScheduledJobs: jobs listed in due order with their schedule
// and message, one removed by id (gone from the store: nothing fires
// after a restart), an unknown id 404.
func TestBrokerScheduledJobs(t *testing.T) {
	r := startReal(t, storetest.NewMemory(0))
	c, err := r.b.Connect(context.Background(), broker.ConnOptions{Sink: make(sink, 10)})
	if err != nil {
		t.Fatal(err)
	}
	for i, delay := range []int64{120000, 60000} {
		m := &message.Message{Dest: queue("later"), Body: []byte(fmt.Sprint("job", i)), BodyKind: message.Text,
			Persistent: true, Properties: map[string]any{broker.PropScheduledDelay: delay}}
		if err := c.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	page := decode[PageJSON[jobJSON]](t, r.call(t, "GET", "/api/v1/scheduler/jobs", ""))
	if page.Total != 2 || len(page.Items) != 2 || page.Items[0].Message.BodyPreview != "job1" ||
		page.Items[0].Delay != 60000 || page.Items[0].Due > page.Items[1].Due ||
		page.Items[0].Message.Destination != "queue://later" {
		t.Fatalf("jobs %+v", page)
	}
	if rec := r.call(t, "DELETE", "/api/v1/scheduler/jobs/"+page.Items[0].ID, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	wantError(t, r.call(t, "DELETE", "/api/v1/scheduler/jobs/"+page.Items[0].ID, ""), http.StatusNotFound, "no such scheduled job")
	wantError(t, r.call(t, "GET", "/api/v1/scheduler/jobs?limit=x", ""), http.StatusBadRequest, "limit")
	r = r.restart(t)
	page = decode[PageJSON[jobJSON]](t, r.call(t, "GET", "/api/v1/scheduler/jobs", ""))
	if page.Total != 1 || page.Items[0].Message.BodyPreview != "job0" {
		t.Fatalf("after the restart: %+v", page)
	}
}
