//go:build crossprocess

package openwire

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTransactionAcrossFailover: a transaction in flight (messages consumed,
// one sent) when the broker is killed ends, after the client failed over to
// the restarted broker, with TransactionRolledBackException — and none of
// it applied: the consumed messages are all back, the sent one is not there.
func TestTransactionAcrossFailover(t *testing.T) {
	classpath(t)
	b := startBroker(t)
	url := failoverURL(b.Addr()) + "&initialReconnectDelay=100"
	queue := fmt.Sprintf("ow.txfailover.%d", time.Now().UnixNano())
	goFile := filepath.Join(t.TempDir(), "go")
	inflight := make(chan struct{}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startJava(t, ctx, func(line string) {
		if line == "INFLIGHT" {
			inflight <- struct{}{}
		}
	}, "TxFailover", url, queue, goFile)
	select {
	case <-inflight:
	case <-time.After(60 * time.Second):
		t.Fatalf("transaction not in flight after 60 s:\n%s", p.Output())
	}
	b.Kill()
	time.Sleep(300 * time.Millisecond)
	b.Restart()
	time.Sleep(2 * time.Second) // let the client fail over before it commits
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(90 * time.Second); err != nil {
		t.Fatalf("TxFailover: %v\n%s", err, p.Output())
	}
	out := p.Output()
	if !strings.Contains(out, "\nROLLEDBACK\n") {
		t.Errorf("commit after failover did not end with TransactionRolledBackException:\n%s", out)
	}
	if !strings.Contains(out, "QUEUE 5 OUT 0") {
		t.Errorf("after the rolled back transaction want QUEUE 5 OUT 0 (nothing applied):\n%s", out)
	}
}
