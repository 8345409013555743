package stomp

import (
	"testing"

	"github.com/piermq/pier/internal/broker"
)

func TestAdministratorClosesConnection(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.connect("1.2", "client-id", "app")
	c.send(NewFrame(CmdSubscribe, "id", "s", "destination", "/queue/work", "receipt", "r1"))
	c.expect(CmdReceipt, "receipt-id", "r1")
	conns := r.b.Connections()
	if len(conns) != 1 || conns[0].Protocol != "stomp" || conns[0].Remote != c.nc.LocalAddr().String() ||
		conns[0].ClientID != "app" || conns[0].Consumers != 1 {
		t.Fatalf("connections: %+v", conns)
	}
	if err := r.b.CloseConnection(conns[0].ID); err != nil {
		t.Fatal(err)
	}
	frames, err := readToClose(t, c.nc)
	checkErrorThenClose(t, frames, err, "closed by an administrator")
	if conns := r.b.Connections(); len(conns) != 0 {
		t.Fatalf("still connected: %+v", conns)
	}
	// The client id is free again.
	r.connect("1.2", "client-id", "app")
}

var _ broker.Closer = (*session)(nil)
