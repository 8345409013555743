package broker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/message"
)

// securedBroker runs a broker whose guard is examples/secure.yaml's: app
// (group apps) owns orders.>, admin (group admins) everything.
func securedBroker(t *testing.T, temp *auth.Grants) *Broker {
	t.Helper()
	all, apps := []string{"admins"}, []string{"apps"}
	g, err := auth.New(auth.Options{
		Enforced: true,
		Users: []auth.User{
			{Name: "app", Hash: "app-pw", Plain: true, Groups: apps},
			{Name: "app2", Hash: "app2-pw", Plain: true, Groups: apps},
			{Name: "admin", Hash: "admin-pw", Plain: true, Groups: all},
			{Name: "writer", Hash: "w", Plain: true, Groups: []string{"writers"}},
		},
		Entries: []auth.Entry{
			{Pattern: ">", Grants: auth.Grants{Read: all, Write: all, Admin: all}},
			{Topic: true, Pattern: ">", Grants: auth.Grants{Read: all, Write: all, Admin: all}},
			{Pattern: "orders.>", Grants: auth.Grants{Read: apps, Write: apps, Admin: apps}},
			{Pattern: "drop.>", Grants: auth.Grants{Write: []string{"writers"}}},
		},
		Temp:      temp,
		FailDelay: 1, MaxFailDelay: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return startBroker(t, newMemStore(), Config{Guard: g})
}

func login(t *testing.T, b *Broker, user, pw string) (*Conn, *sink) {
	t.Helper()
	k := newSink()
	c, err := b.Connect(context.Background(), ConnOptions{Credentials: auth.Credentials{Username: user, Password: pw}, Sink: k})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	t.Cleanup(c.Close)
	return c, k
}

func denied(t *testing.T, what string, err error, want string) {
	t.Helper()
	if !errors.Is(err, auth.ErrNotAuthorized) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: err = %v, want a refusal saying %q", what, err, want)
	}
}

func TestConnectAuthenticates(t *testing.T) {
	b := securedBroker(t, nil)
	for _, cred := range []auth.Credentials{{Username: "app", Password: "x"}, {Username: "nobody"}, {}} {
		if _, err := b.Connect(context.Background(), ConnOptions{Credentials: cred, Sink: newSink()}); !errors.Is(err, auth.ErrAuthentication) {
			t.Errorf("%+v: err = %v, want ErrAuthentication", cred, err)
		}
	}
	c, _ := login(t, b, "app", "app-pw")
	if c.Subject().User != "app" {
		t.Errorf("subject %q", c.Subject().User)
	}
	in, err := b.Connect(context.Background(), ConnOptions{Internal: true, Sink: newSink()})
	if err != nil || !in.Subject().IsSystem() {
		t.Fatalf("internal connection: %v", err)
	}
	in.Close()
}

func TestAuthorizeSendAndConsume(t *testing.T) {
	b := securedBroker(t, nil)
	ctx := context.Background()
	app, appSink := login(t, b, "app", "app-pw")
	admin, _ := login(t, b, "admin", "admin-pw")

	send(t, app, q("orders.new"), "o1", true)
	subscribe(t, app, SubOptions{ID: "s1", Dest: q("orders.new"), Prefetch: 10})
	if d := appSink.next(t); string(d.Msg.Body) != "o1" || d.Msg.UserID != "app" {
		t.Errorf("got %q from %q", d.Msg.Body, d.Msg.UserID)
	}
	m := &message.Message{Dest: q("payments"), Body: []byte("p")}
	denied(t, "send elsewhere", app.Send(ctx, m, ""), "User app is not authorized to write to: queue://payments")
	_, err := app.Subscribe(ctx, SubOptions{ID: "s2", Dest: q("payments")})
	denied(t, "consume elsewhere", err, "User app is not authorized to read from: queue://payments")
	_, err = app.Browse(ctx, q("payments"), "", 0)
	denied(t, "browse elsewhere", err, "User app is not authorized to read from: queue://payments")
	_, err = app.Subscribe(ctx, SubOptions{ID: "s3", Dest: q(">")})
	denied(t, "wildcard beyond its grant", err, "queue://>")
	subscribe(t, app, SubOptions{ID: "s4", Dest: q("orders.*")})
	// The connection keeps working after refusals.
	send(t, app, q("orders.new"), "o2", false)
	// JMSXUserID cannot be forged.
	forged := &message.Message{Dest: q("orders.x"), Body: []byte("f"), UserID: "admin"}
	if err := app.Send(ctx, forged, ""); err != nil || forged.UserID != "app" {
		t.Errorf("forged user id: %v, UserID %q", err, forged.UserID)
	}
	denied(t, "producer for elsewhere", app.MaySend(q("orders.x,payments")), "queue://payments")
	if err := app.MaySend(q("orders.not.yet")); err != nil {
		t.Errorf("a producer for a queue app may write to (not created yet): %v", err)
	}
	send(t, admin, q("payments"), "p1", true)
	if _, ok := b.QueueStats("payments"); !ok {
		t.Error("admin's send did not create payments")
	}
}

// A composite destination with one forbidden member is refused whole:
// nothing reaches the allowed member either.
func TestCompositeRefusedWhole(t *testing.T) {
	b := securedBroker(t, nil)
	app, _ := login(t, b, "app", "app-pw")
	send(t, app, q("orders.a"), "warm", true) // orders.a exists
	m := &message.Message{Dest: q("orders.a,payments"), Body: []byte("both"), Persistent: true}
	denied(t, "composite", app.Send(context.Background(), m, ""), "queue://payments")
	if st, _ := b.QueueStats("orders.a"); st.Pending != 1 {
		t.Errorf("orders.a holds %d messages, want only the first", st.Pending)
	}
	m = &message.Message{Dest: message.Destination{Kind: message.Queue, Name: "orders.a,topic://prices"}, Body: []byte("x")}
	denied(t, "composite with a topic", app.Send(context.Background(), m, ""), "topic://prices")
	_, err := app.Subscribe(context.Background(), SubOptions{ID: "c", Dest: q("orders.a,payments")})
	denied(t, "composite consumer", err, "queue://payments")
}

// Creating a destination needs admin: write alone sends only to one that
// exists.
func TestCreateNeedsAdmin(t *testing.T) {
	b := securedBroker(t, nil)
	ctx := context.Background()
	w, _ := login(t, b, "writer", "w")
	denied(t, "create by send", w.Send(ctx, &message.Message{Dest: q("drop.box"), Body: []byte("x")}, ""),
		"User writer is not authorized to create: queue://drop.box")
	admin, _ := login(t, b, "admin", "admin-pw")
	subscribe(t, admin, SubOptions{ID: "s", Dest: q("drop.box")})
	send(t, w, q("drop.box"), "now it exists", true)
	// Topics: the first use creates.
	app, _ := login(t, b, "app", "app-pw")
	_, err := app.Subscribe(ctx, SubOptions{ID: "t", Dest: topic("orders.feed")})
	denied(t, "topic outside grant", err, "topic://orders.feed")
}

func TestTemporaryDestinations(t *testing.T) {
	ctx := context.Background()
	grants := &auth.Grants{Read: []string{"admins"}, Write: []string{"apps", "admins"}, Admin: []string{"apps", "admins"}}
	b := securedBroker(t, grants)
	app, appSink := login(t, b, "app", "app-pw")
	app2, _ := login(t, b, "app2", "app2-pw")
	writer, _ := login(t, b, "writer", "w")
	reply, err := app.TempDestination(message.TempQueue, "ID:app-1:1")
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, app, SubOptions{ID: "r", Dest: reply})
	// Another user of a granted group may reply to it.
	send(t, app2, reply, "answer", false)
	if d := appSink.next(t); string(d.Msg.Body) != "answer" {
		t.Errorf("reply %q", d.Msg.Body)
	}
	denied(t, "write without grant", writer.Send(ctx, &message.Message{Dest: reply, Body: []byte("x")}, ""),
		"User writer is not authorized to write to: temp-queue://ID:app-1:1")
	_, err = app2.Subscribe(ctx, SubOptions{ID: "steal", Dest: reply})
	denied(t, "read another's temp queue", err, "User app2 is not authorized to read from")
	_, err = writer.TempDestination(message.TempQueue, "ID:writer-1:1")
	denied(t, "create without admin", err, "User writer is not authorized to create")

	// Without a temp entry: creating is allowed, another's is not usable.
	b = securedBroker(t, nil)
	app, _ = login(t, b, "app", "app-pw")
	admin, _ := login(t, b, "admin", "admin-pw")
	reply, err = app.TempDestination(message.TempQueue, "ID:app-2:1")
	if err != nil {
		t.Fatal(err)
	}
	send(t, app, reply, "own", false)
	denied(t, "write another's without a temp entry", admin.Send(ctx, &message.Message{Dest: reply, Body: []byte("x")}, ""),
		"usable by their own connection only")
}

// Open brokers (no guard) behave as before: user ids are as given.
func TestOpenBrokerTakesUserNameAsGiven(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	k := newSink()
	c, err := b.Connect(context.Background(), ConnOptions{Credentials: auth.Credentials{Username: "bob"}, Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := &message.Message{Dest: q("a"), Body: []byte("x"), UserID: "carol"}
	if err := c.Send(context.Background(), m, ""); err != nil || m.UserID != "carol" {
		t.Errorf("send: %v, UserID %q (an open broker keeps what the client set)", err, m.UserID)
	}
	m = &message.Message{Dest: q("a"), Body: []byte("y")}
	if err := c.Send(context.Background(), m, ""); err != nil || m.UserID != "bob" {
		t.Errorf("send: %v, UserID %q", err, m.UserID)
	}
}
