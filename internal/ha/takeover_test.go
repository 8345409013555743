package ha

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
)

// TestTakeoverStart: a member that finds the claim free starts; one that
// waited for another master took over, from the last time it saw that
// master hold the claim.
func TestTakeoverStart(t *testing.T) {
	dir := t.TempDir()
	a, b := newMember(t, dir), newMember(t, dir)
	if _, err := awaitWithin(t, a, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, took := a.TakeoverStart(); took {
		t.Error("the first master took over from nobody")
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := awaitWithin(t, b, 5*time.Second)
		waiting <- err
	}()
	time.Sleep(100 * time.Millisecond) // b sees a hold the lock
	closed := time.Now()
	a.Close()
	if err := <-waiting; err != nil {
		t.Fatal(err)
	}
	from, took := b.TakeoverStart()
	if !took || from.After(closed) || closed.Sub(from) > 100*time.Millisecond {
		t.Errorf("TakeoverStart = %v, %v; a closed at %v (b polls every 20ms)", from, took, closed)
	}
}

// lockedClaim is held by another member for its first n tries, each
// refusal saying how long the other's lease still runs.
type lockedClaim struct {
	n, tries int
}

func (c *lockedClaim) Acquire(context.Context) (uint64, error) {
	c.tries++
	if c.tries <= c.n {
		return 0, fmt.Errorf("%w: lease g (held by other for %dms more)", ErrLocked, 1000-c.tries)
	}
	return 1, nil
}
func (c *lockedClaim) Check(context.Context) (time.Time, error) { return time.Time{}, nil }
func (c *lockedClaim) Fence(uint64) error                       { return nil }
func (c *lockedClaim) Release()                                 {}
func (c *lockedClaim) Where() string                            { return "lease g" }

// TestWaitingSaidOnce: a slave says once that another broker is master,
// not at every try (a lease's refusal differs each time by the time left).
func TestWaitingSaidOnce(t *testing.T) {
	var buf bytes.Buffer
	g := NewGroup(&lockedClaim{n: 10}, func(context.Context, func() error) (store.Store, error) {
		return storetest.NewMemory(0), nil
	}, GroupConfig{Poll: time.Millisecond, Check: time.Second}, slog.New(slog.NewTextHandler(&buf, nil)))
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := g.Await(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "another broker is master; waiting"); n != 1 {
		t.Errorf("said %d times:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), `err="ha: another broker holds it: lease g (held by other for 999ms more)"`) {
		t.Errorf("log:\n%s", buf.String())
	}
}
