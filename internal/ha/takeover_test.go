package ha

import (
	"testing"
	"time"
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
