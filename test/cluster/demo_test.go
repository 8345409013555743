//go:build crossprocess

package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// pier demo, as a newcomer runs it: both groups elect, a message sent to
// group one's failover URL is consumed from group two's through the
// bridge, a master killed in group one is replaced, and Ctrl-C stops all
// six brokers.
func TestDemo(t *testing.T) {
	bin := piertest.Bin(t)
	dir := t.TempDir()
	demo := exec.Command(bin, "demo", "--dir", dir)
	out, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	demo.Stderr = &stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if demo.ProcessState == nil {
			_ = demo.Process.Kill()
			_ = demo.Wait()
		}
	}()
	printed := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Ctrl-C stops") {
				printed <- all.String()
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	var banner string
	select {
	case banner = <-printed:
	case <-time.After(90 * time.Second):
		t.Fatalf("pier demo printed no banner within 90 s; stderr:\n%s", stderr.String())
	}
	one := "failover:(tcp://127.0.0.1:53511,tcp://127.0.0.1:53512,tcp://127.0.0.1:53513)"
	two := "failover:(tcp://127.0.0.1:53531,tcp://127.0.0.1:53532,tcp://127.0.0.1:53533)"
	for _, want := range []string{one, two, "http://127.0.0.1:8161", "http://127.0.0.1:8173"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not name %s:\n%s", want, banner)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	consume := exec.CommandContext(ctx, bin, "consume", "--url", two, "--destination", "queue://demo", "--count", "2", "--timeout", "50s")
	var got bytes.Buffer
	consume.Stdout, consume.Stderr = &got, &got
	if err := consume.Start(); err != nil {
		t.Fatal(err)
	}
	send := func(body string) {
		t.Helper()
		if b, err := exec.CommandContext(ctx, bin, "produce", "--url", one, "--destination", "queue://demo", "--body", body).CombinedOutput(); err != nil {
			t.Fatalf("produce: %v\n%s", err, b)
		}
	}
	send("hello from group one")
	// Kill group one's master: the group elects another, the bridge and
	// the producer's failover find it.
	master := ""
	for i, m := range []string{"a", "b", "c"} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", 8161+i))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				master = m
			}
		}
	}
	if master == "" {
		t.Fatal("no member of group one says it is ready")
	}
	if b, err := exec.CommandContext(ctx, "pkill", "-9", "-f", "--", "serve --config "+dir+"/group-one-"+master+".yaml").CombinedOutput(); err != nil {
		t.Fatalf("pkill: %v %s", err, b)
	}
	send("after the kill")
	if err := consume.Wait(); err != nil {
		t.Fatalf("consume: %v\n%s\ndemo stderr:\n%s", err, got.String(), stderr.String())
	}
	t.Logf("master killed: %s; consumer output:\n%s", master, got.String())
	for _, want := range []string{"hello from group one", "after the kill"} {
		if !strings.Contains(got.String(), want) {
			t.Errorf("group two did not receive %q:\n%s", want, got.String())
		}
	}
	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- demo.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("pier demo exited with %v after Ctrl-C; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("pier demo did not stop within 40 s of Ctrl-C")
	}
	for _, p := range []int{53511, 53512, 53513, 53531, 53532, 53533, 8161, 8173, 62611, 62633} {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 200*time.Millisecond); err == nil {
			c.Close()
			t.Errorf("port %d still answers after the demo stopped", p)
		}
	}
}
