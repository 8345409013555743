package zktest

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// TestStopRestartWipe: a znode survives a stop and a restart on the same
// port, and not a wipe.
func TestStopRestartWipe(t *testing.T) {
	s := Start(t)
	exists := func() (bool, error) {
		c, _, err := zk.Connect([]string{s.Addr}, time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			return false, err
		}
		defer c.Close()
		ok, _, err := c.Exists("/kept")
		return ok, err
	}
	create := func() {
		t.Helper()
		c, _, err := zk.Connect([]string{s.Addr}, time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Create("/kept", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	create()
	s.Stop()
	if _, err := srvr(s.Addr); err == nil {
		t.Fatal("a stopped server answers")
	}
	if err := s.Wipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if ok, err := exists(); ok || err != nil {
		t.Fatalf("after a wipe: /kept exists %v (%v)", ok, err)
	}
	create()
	s.Stop()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if ok, err := exists(); !ok || err != nil {
		t.Fatalf("after a restart: /kept exists %v (%v), want true", ok, err)
	}
	if err := s.Restart(); err == nil {
		t.Fatal("Restart of a running server succeeded")
	}
}
