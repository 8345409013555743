//go:build crossprocess

package migrate

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// TestStaticNetworkBetweenGroups: the seed's load-balancing set-up, two
// groups (each a shared-kahaDB pair) whose members all carry the seed's
// <networkConnector uri="static:{tcp://...,tcp://...}" duplex="false"/> to
// the members of the other group. Messages sent to group one are consumed
// on group two, having crossed a bridge; so they are after group one's
// master is killed (the new master's bridge takes over), and after group
// two's master is killed (group one's bridge finds the new one).
func TestStaticNetworkBetweenGroups(t *testing.T) {
	t.Parallel()
	oneAddrs := [2]string{piertest.FreeAddr(t), piertest.FreeAddr(t)}
	twoAddrs := [2]string{piertest.FreeAddr(t), piertest.FreeAddr(t)}
	one := sharedPair(t, "DobboEdu1", oneAddrs, twoAddrs[:])
	two := sharedPair(t, "DobboEdu2", twoAddrs, oneAddrs[:])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const queue = "migrate.network"
	k := consumer(t, ctx, two.failoverURL(), queue)
	for i, kill := range []group{nil, one, two} {
		if kill != nil {
			m := kill.master(t, electTimeout)
			m.p.Kill()
			t.Logf("master %s killed; %s serves", m.id, kill.master(t, electTimeout).id)
		}
		sent := texts(fmt.Sprintf("%s batch %d", queue, i), 20)
		send(t, ctx, one.failoverURL(), queue, sent)
		last := expectTexts(t, ctx, k, sent)
		if len(last.BrokerPath) == 0 {
			text, _ := last.Text()
			t.Errorf("batch %d: %q reached group two without crossing a bridge", i, text)
		}
	}
}

// TestSeedTypoRefused: the seed's own typo, tcp://127.0.0.1:t3533 as the
// third member of a network connector: `pier serve --config activemq.xml`
// exits non-zero at once, saying which connector, which member and what is
// wrong, at the file and line of the connector, and opens no listener.
func TestSeedTypoRefused(t *testing.T) {
	t.Parallel()
	b := broker{name: "DobboEdu", openwire: piertest.FreeAddr(t), adapter: kahaDB,
		network: []string{piertest.FreeAddr(t), piertest.FreeAddr(t), "127.0.0.1:t3533"}}
	m := newMember(t, "typo", b, consoleFlag, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, piertest.Bin(t), append([]string{"serve", "--config", m.xmlPath()}, m.args...)...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if _, ok := err.(*exec.ExitError); !ok || ctx.Err() != nil {
		t.Fatalf("pier serve: %v after %s, want a non-zero exit at once:\n%s", err, took, out)
	}
	data, err := os.ReadFile(m.xmlPath())
	if err != nil {
		t.Fatal(err)
	}
	line := 0
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "t3533") {
			line = i + 1
		}
	}
	for _, want := range []string{
		`network connector "bridge"`, "member 3 of 3", "tcp://127.0.0.1:t3533", `port "t3533" is not a number`,
		m.xmlPath() + ":" + strconv.Itoa(line) + ":",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "msg=listening") {
		t.Errorf("pier opened a listener before refusing the file:\n%s", out)
	}
	for _, addr := range []string{m.openwire, m.console} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("something listens on %s", addr)
		}
	}
	t.Logf("refused in %s:\n%s", took.Round(time.Millisecond), out)
}
