//go:build crossprocess

package migrate

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// kahaDB is the seed's first set-up, as it writes it: every member of the
// group names the same directory, ${activemq.data} being the shared mount.
const kahaDB = `<kahaDB directory="${activemq.data}/kahadb"/>`

// sharedPair writes and starts a shared-kahaDB pair: brokerName name,
// OpenWire on the two addresses, ${activemq.data} one shared directory,
// network (if any) the members of the seed's network connector. Member a
// gets its console from --console, member b from a jetty.xml. a starts
// first, so it is the master.
func sharedPair(t *testing.T, name string, openwire [2]string, network []string) group {
	t.Helper()
	shared := t.TempDir()
	g := group{
		newMember(t, name+"-a", broker{name: name, openwire: openwire[0], network: network, adapter: kahaDB}, consoleFlag, shared),
		newMember(t, name+"-b", broker{name: name, openwire: openwire[1], network: network, adapter: kahaDB}, consoleJetty, shared),
	}
	g[0].start(t)
	if m := g.master(t, electTimeout); m != g[0] {
		t.Fatalf("%s serves, want %s, the first started", m.id, g[0].id)
	}
	g[1].start(t)
	return g
}

// TestSharedKahaDBKillMaster: the seed's first set-up, two members whose
// kahaDB directory is the same, started from their activemq.xml. A
// backlog sent before the crash, and the JMS client's failover producer
// and consumer across a kill -9 of the master: the other member takes the
// directory over and serves the backlog and every acknowledged send.
func TestSharedKahaDBKillMaster(t *testing.T) {
	t.Parallel()
	g := sharedPair(t, "DobboEdu", [2]string{piertest.FreeAddr(t), piertest.FreeAddr(t)}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Messages waiting in the directory when the master dies: only a
	// member that reads the same directory has them.
	backlog := texts("backlog", 20)
	send(t, ctx, g.failoverURL(), "migrate.kahadb.backlog", backlog)
	killMasterUnderLoad(t, g, "migrate.kahadb", 1, nil)
	expectTexts(t, ctx, consumer(t, ctx, g.failoverURL(), "migrate.kahadb.backlog"), backlog)
}

// TestImportedYAMLServesTheSame: `pier config import` of the shared-kahaDB
// member's activemq.xml (console from its jetty.xml), written to a .yaml
// file, is accepted by `pier config check` as the XML is, and `pier serve
// --config x.yaml` opens the same listeners as the XML did, on the same
// store: what the XML broker was sent, the YAML broker delivers, and a
// send and receive through it work.
func TestImportedYAMLServesTheSame(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	m := newMember(t, "xml", broker{name: "DobboEdu", openwire: piertest.FreeAddr(t), adapter: kahaDB}, consoleJetty, data)
	yamlPath := filepath.Join(t.TempDir(), "x.yaml")
	out, stderr, err := pier(t, m.env, "config", "import", m.xmlPath())
	if err != nil {
		t.Fatalf("pier config import: %v\n%s", err, stderr)
	}
	write(t, yamlPath, out)
	for _, f := range []string{m.xmlPath(), yamlPath} {
		out, stderr, err := pier(t, m.env, "config", "check", f)
		if err != nil || strings.TrimSpace(out) != "ok" {
			t.Errorf("pier config check %s: %v, %q\n%s", f, err, out, stderr)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := "failover:(tcp://" + m.openwire + ")" + seedURLOptions
	m.start(t)
	before := texts("sent to the XML broker", 10)
	send(t, ctx, url, "migrate.import", before)
	if err := m.p.Stop(10 * time.Second); err != nil {
		t.Fatalf("the XML broker's stop: %v", err)
	}
	xmlListeners := listening(m.p.Log())

	y := piertest.StartWith(t, piertest.Options{Name: "yaml", ConfigPath: yamlPath,
		Ready: func() bool { return get(m.console, "/readyz") == http.StatusOK }})
	if got := listening(y.Log()); !slices.Equal(got, xmlListeners) || len(got) < 2 {
		t.Errorf("listeners from the YAML: %v; from the XML: %v", got, xmlListeners)
	}
	expectTexts(t, ctx, consumer(t, ctx, url, "migrate.import"), before)
	after := texts("sent to the YAML broker", 1)
	send(t, ctx, url, "migrate.import.yaml", after)
	expectTexts(t, ctx, consumer(t, ctx, url, "migrate.import.yaml"), after)
}
