package proc

import (
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestSelf(t *testing.T) {
	p := Proc{PID: os.Getpid(), ClkTck: 100}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) { // burn some CPU to be counted
		_ = make([]byte, 1024)
		if c, err := p.CPU(); err != nil {
			t.Fatal(err)
		} else if c > 20*time.Millisecond {
			break
		}
	}
	if c, _ := p.CPU(); c <= 0 {
		t.Errorf("CPU %v after burning some", c)
	}
	if kb, err := p.RSSKB(); err != nil || kb <= 0 {
		t.Errorf("RSS %d KiB, %v", kb, err)
	}
	if !p.Alive() {
		t.Error("this process is not alive")
	}
	if (Proc{PID: 1 << 30, ClkTck: 100}).Alive() {
		t.Error("a process that does not exist is alive")
	}
	if _, err := (Proc{PID: os.Getpid()}).CPU(); err == nil {
		t.Error("no clock ticks accepted")
	}
}

func TestLine(t *testing.T) {
	got := Line("a", 1500*time.Millisecond, "b", 2.25, "c", "x", "odd")
	if want := "a=1.500 b=2.2 c=x"; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
	if PerOp(time.Millisecond, 0) != 0 || PerOp(time.Millisecond, 4) != 250 || Ms(time.Second) != 1000 {
		t.Error("PerOp or Ms wrong")
	}
}

// TestWatch: the peak is what the sampler saw while f ran, not the figure
// before or after (f gives its 64 MiB back to the system before it returns).
func TestWatch(t *testing.T) {
	p := Proc{PID: os.Getpid(), ClkTck: 100}
	u, err := Watch(p, func() error {
		buf := make([]byte, 64<<20)
		for i := range buf { // touch every page, and burn CPU
			buf[i] = byte(i)
		}
		time.Sleep(300 * time.Millisecond) // sampled at least twice meanwhile
		runtime.KeepAlive(buf)
		debug.FreeOSMemory()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if u.RSSPeak-max(u.RSSBefore, u.RSSAfter) < 32<<10 {
		t.Errorf("RSS peak %d KiB, before %d, after %d: 64 MiB were touched meanwhile", u.RSSPeak, u.RSSBefore, u.RSSAfter)
	}
	if u.CPU <= 0 {
		t.Errorf("CPU %v while touching 64 MiB", u.CPU)
	}
	want := errors.New("step failed")
	if _, err := Watch(p, func() error { return want }); err != want {
		t.Errorf("Watch returned %v, want the step's error", err)
	}
}
