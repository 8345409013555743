//go:build crossprocess

// Package migrate is the suite of issue 16: ActiveMQ's own activemq.xml
// files, written after the seed's three set-ups (a shared kahaDB
// directory, a jdbcPersistenceAdapter over a commons-dbcp MySQL data
// source, a replicatedLevelDB found through ZooKeeper) and its static:
// network connectors, each started with `pier serve --config
// <dir>/activemq.xml` as it is, with ${activemq.data} given as ActiveMQ
// gets it (ACTIVEMQ_DATA, or --property), and the console's address from
// --console or a jetty.xml beside the file. The ActiveMQ 5.17 JMS client
// (the failover programs of test/openwire/java, through javarun) sends and
// receives while masters are killed; nothing it was acknowledged may be
// lost.
//
// The files are written here, in t.TempDir(), on loopback addresses and
// free ports; the tests do not read the seed itself.
//
//	go build -o /tmp/pier ./cmd/pier && PIER_BIN=/tmp/pier go test -tags crossprocess -count=1 -v ./test/migrate/
package migrate

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store/sqlstore/sqltest"
	"github.com/piermq/pier/test/internal/javarun"
	"github.com/piermq/pier/test/internal/jmsfailover"
	"github.com/piermq/pier/test/internal/piertest"
)

// sqlServers is the private MariaDB of the suite, started on first use.
var sqlServers = sqltest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	sqlServers.Close()
	javarun.RemoveClasses()
	os.Exit(code)
}

// jvm runs the JMS failover programs of test/openwire/java.
var jvm = javarun.JVM{Src: filepath.Join("..", "openwire", "java"), Flags: []string{"-Xmx256m", "-XX:TieredStopAtLevel=1"}}

// seedURLOptions are the failover options of the seed's clients
// (mq.brokerURL).
const seedURLOptions = "?randomize=false&initialReconnectDelay=1000&maxReconnectDelay=30000"

const (
	// electTimeout bounds the wait for a group's master.
	electTimeout = 30 * time.Second
	// A failover run sends failoverN persistent messages, one every
	// failoverDelay, and its programs are killed after failoverLimit.
	failoverN     = 300
	failoverDelay = 5 * time.Millisecond
	failoverLimit = 90 * time.Second
	// consoleTimeout bounds one request to a console or replication port.
	consoleTimeout = 500 * time.Millisecond
)

// broker is one member's activemq.xml: the seed's fragments completed into
// a whole Spring file, as ActiveMQ ships it.
type broker struct {
	name     string // brokerName: one per group
	openwire string // host:port of the openwire transport connector
	// network, when not empty, is the seed's network connector to these
	// members (host:port, written as they are: a typo stays one), in
	// static:{...} braces.
	network []string
	// adapter is the persistenceAdapter's element, as the seed writes it.
	adapter string
	// beans are top-level beans after the broker (a data source).
	beans string
}

func (b broker) xml() string {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
       http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">

    <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>

`)
	fmt.Fprintf(&s, "    <broker xmlns=\"http://activemq.apache.org/schema/core\" brokerName=%q dataDirectory=\"${activemq.data}\">\n", b.name)
	if len(b.network) > 0 {
		// Before the persistence adapter, where the seed says to add it.
		fmt.Fprintf(&s, "        <networkConnectors>\n            <networkConnector uri=\"static:{tcp://%s}\" duplex=\"false\"/>\n        </networkConnectors>\n",
			strings.Join(b.network, ",tcp://"))
	}
	fmt.Fprintf(&s, `        <persistenceAdapter>
            %s
        </persistenceAdapter>
        <transportConnectors>
            <transportConnector name="openwire" uri="tcp://%s?maximumConnections=1000&amp;wireFormat.maxFrameSize=104857600"/>
        </transportConnectors>
    </broker>
%s</beans>
`, b.adapter, b.openwire, b.beans)
	return s.String()
}

// jettyXML is a jetty.xml whose WebConsolePort bean puts the console on
// hostport, as ActiveMQ's conf/jetty.xml does.
func jettyXML(hostport string) string {
	host, port, _ := strings.Cut(hostport, ":")
	return fmt.Sprintf(`<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd">
    <bean id="jettyPort" class="org.apache.activemq.web.WebConsolePort" init-method="start">
        <!-- the default port number for the web console -->
        <property name="host" value="%s"/>
        <property name="port" value="%s"/>
    </bean>
</beans>
`, host, port)
}

// member is one broker of a test's topology: a directory of its own
// holding its activemq.xml (and its jetty.xml when it has one), and its
// process once started.
type member struct {
	id       string
	dir      string // holds activemq.xml
	openwire string // host:port
	console  string // host:port
	args     []string
	env      []string
	p        *piertest.Pier
}

// console says how a member gets its console's address.
type console int

const (
	consoleFlag  console = iota // pier serve --console HOST:PORT
	consoleJetty                // a jetty.xml beside the activemq.xml
)

// newMember writes b (its openwire address chosen by the caller) into a
// new directory, with the console on a free port given the way c says,
// and ${activemq.data} set to data: through ACTIVEMQ_DATA, as ActiveMQ's
// start script sets it, for consoleJetty members, and through --property
// for the others, so both ways are used.
func newMember(t *testing.T, id string, b broker, c console, data string) *member {
	t.Helper()
	m := &member{id: id, dir: t.TempDir(), openwire: b.openwire, console: piertest.FreeAddr(t)}
	write(t, filepath.Join(m.dir, "activemq.xml"), b.xml())
	switch c {
	case consoleFlag:
		m.args = []string{"--console", m.console, "--property", "activemq.data=" + data}
	case consoleJetty:
		write(t, filepath.Join(m.dir, "jetty.xml"), jettyXML(m.console))
		m.env = []string{"ACTIVEMQ_DATA=" + data}
	}
	return m
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// xmlPath is the member's activemq.xml.
func (m *member) xmlPath() string { return filepath.Join(m.dir, "activemq.xml") }

// start runs `pier serve --config <dir>/activemq.xml` and waits until its
// console answers /healthz (a standby member serves no clients, so there
// is no msg=ready to wait for).
func (m *member) start(t *testing.T) {
	t.Helper()
	m.p = piertest.StartWith(t, piertest.Options{Name: m.id, ConfigPath: m.xmlPath(), Args: m.args, Env: m.env,
		Ready: func() bool { return get(m.console, "/healthz") == http.StatusOK }})
}

// get returns the status of GET http://hostport/path, 0 when there is no
// answer.
func get(hostport, path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), consoleTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostport+path, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// group is the members of one master/slave group.
type group []*member

// failoverURL is the group's client URL with the seed's options.
func (g group) failoverURL() string {
	urls := make([]string, len(g))
	for i, m := range g {
		urls[i] = "tcp://" + m.openwire
	}
	return "failover:(" + strings.Join(urls, ",") + ")" + seedURLOptions
}

// master waits until exactly one running member answers /readyz with 200
// and returns it; two at once fail the test.
func (g group) master(t *testing.T, timeout time.Duration) *member {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ready []*member
		for _, m := range g {
			if m.p != nil && m.p.Running() && get(m.console, "/readyz") == http.StatusOK {
				ready = append(ready, m)
			}
		}
		switch {
		case len(ready) == 1:
			return ready[0]
		case len(ready) > 1:
			t.Fatalf("%s and %s both serve", ready[0].id, ready[1].id)
		case time.Now().After(deadline):
			t.Fatalf("no master after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killMasterUnderLoad runs the JMS failover producer and consumer over
// g's failover URL and kills (SIGKILL) the master crashes times, evenly
// spread over the sends; each time another member must serve, and the
// killed one is started again as a standby. restarted, if not nil, is
// called then. Every acknowledged send must be received, a duplicate only
// if marked JMSRedelivered.
func killMasterUnderLoad(t *testing.T, g group, queue string, crashes int, restarted func(i int, killed *member)) {
	t.Helper()
	jmsfailover.Run(t, g.failoverURL(), jmsfailover.Options{JVM: jvm, Queue: queue, N: failoverN, Delay: failoverDelay,
		Timeout: failoverLimit, Crashes: crashes}, func(i int, acked int64) {
		m := g.master(t, electTimeout)
		start := time.Now()
		m.p.Kill()
		next := g.master(t, electTimeout)
		t.Logf("kill %d: master %s killed after %d acknowledged sends; %s serves %s later", i+1, m.id, acked, next.id,
			time.Since(start).Round(time.Millisecond))
		m.p.Restart()
		if restarted != nil {
			restarted(i, m)
		}
	})
}
