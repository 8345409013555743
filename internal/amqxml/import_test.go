package amqxml

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/config"
	"go.yaml.in/yaml/v3"
)

// testOptions read files for real and take no environment, so a test does
// not depend on the machine's ACTIVEMQ_* variables.
func testOptions(props map[string]string) Options {
	return Options{
		Properties:   props,
		Getenv:       func(string) string { return "" },
		HashPassword: func(pw string) (string, error) { return "$2a$04$" + strings.Repeat("x", 53), nil },
	}
}

func load(t *testing.T, name string, props map[string]string) (*config.Config, *Result) {
	t.Helper()
	path := filepath.Join("testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, res, err := Load(path, data, testOptions(props))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg, res
}

func TestSeedSharedKahaDB(t *testing.T) {
	cfg, res := load(t, "kahadb-shared.xml", map[string]string{"activemq.data": "/mnt/shared"})
	want := map[string]any{
		"broker.name":      cfg.Broker.Name == "DobboEdu",
		"broker.data_dir":  cfg.Broker.DataDir == "/mnt/shared",
		"no scheduler":     cfg.Broker.NoScheduler,
		"store.kind":       cfg.Store.Kind == config.StoreJournal,
		"journal.dir":      cfg.Store.Journal.Dir == "/mnt/shared/kahadb",
		"max_size":         cfg.Store.Journal.MaxSize == 100*config.GiB,
		"openwire":         cfg.Transports.OpenWire == "tcp://127.0.0.1:51611",
		"stomp":            cfg.Transports.STOMP == "stomp://127.0.0.1:51613",
		"max_connections":  cfg.Limits.MaxConnections == 2000, // two connectors of 1000
		"max_frame_size":   cfg.Limits.MaxFrameSize == 100*config.MiB,
		"console (jetty)":  cfg.Console.Listen == "127.0.0.1:8191",
		"memory (default)": cfg.Limits.Memory == config.DefaultMemory,
		"no anonymous key": cfg.Security.AllowAnonymous == nil,
	}
	for what, ok := range want {
		if ok != true {
			t.Errorf("%s: not as translated:\n%s", what, res.YAML)
		}
	}
	for _, w := range []string{"managementContext", "percentOfJvmHeap", "tempUsage", "shutdownHooks"} {
		if !hasWarning(res, w) {
			t.Errorf("no warning about %s: %v", w, res.Warnings)
		}
	}
}

func hasWarning(res *Result, s string) bool {
	for _, w := range res.Warnings {
		if strings.Contains(w.Msg, s) && w.Line > 0 {
			return true
		}
	}
	return false
}

func TestSeedJDBC(t *testing.T) {
	cfg, res := load(t, "jdbc-mysql.xml", nil)
	if cfg.Store.Kind != config.StoreSQL || cfg.Store.SQL.Driver != "mysql" ||
		cfg.Store.SQL.DSN != "root:root@tcp(localhost:3306)/smq" {
		t.Errorf("store %+v\n%s", cfg.Store, res.YAML)
	}
	for _, w := range []string{"relaxAutoCommit", "maxActive", "createTablesOnStartup"} {
		if !hasWarning(res, w) {
			t.Errorf("no warning about %s: %v", w, res.Warnings)
		}
	}
}

func TestSeedReplicatedLevelDB(t *testing.T) {
	cfg, res := load(t, "replicated-leveldb.xml", map[string]string{"activemq.data": "/var/lib/amq"})
	r := cfg.Store.Replicated
	if cfg.Store.Kind != config.StoreReplicated || r.Replicas != 3 || r.Bind != "tcp://0.0.0.0:62621" ||
		r.Hostname != "edu-zk-01" || r.ZooKeeper.Address != "192.168.1.81:2181,192.168.1.82:2182,192.168.1.83:2183" ||
		r.ZooKeeper.Path != "/activemq1/leveldb-stores" || cfg.Store.Journal.Dir != "/var/lib/amq/leveldb" || !r.Insecure {
		t.Errorf("store %+v\n%s", cfg.Store, res.YAML)
	}
	if !hasWarning(res, "without TLS") || !hasWarning(res, "anyone who can reach") {
		t.Errorf("the open replication and client ports are not warned about: %v", res.Warnings)
	}
	if cfg.Security.AllowAnonymous == nil || !*cfg.Security.AllowAnonymous {
		t.Error("no authentication plugin and a listener on 0.0.0.0: ActiveMQ lets anyone in, the translation must say so")
	}
}

// The seed's own typo: a clear error naming the connector, the member and
// the port, at the line of the connector.
func TestSeedTypoRefused(t *testing.T) {
	data, err := os.ReadFile("testdata/network-typo.xml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Import("network-typo.xml", data, testOptions(nil))
	var es config.Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("err = %v, want one error", err)
	}
	e := es[0]
	line := lineOf(t, data, "t3533")
	if e.Line != line {
		t.Errorf("error at line %d, want %d (the connector's)", e.Line, line)
	}
	for _, s := range []string{`network connector "bridge"`, "member 3 of 3", "tcp://192.168.1.101:t3533", `port "t3533" is not a number`} {
		if !strings.Contains(e.Msg, s) {
			t.Errorf("%q does not say %q", e.Msg, s)
		}
	}
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("%v is not config.ErrInvalid", err)
	}
}

func lineOf(t *testing.T, data []byte, s string) int {
	t.Helper()
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the file", s)
	return 0
}

// Every value line of the YAML names the XML line it came from, and that
// line holds the attribute or element named.
func TestEveryLineNamesItsSource(t *testing.T) {
	data, err := os.ReadFile("testdata/kahadb-shared.xml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import("testdata/kahadb-shared.xml", data, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	xmlLines := strings.Split(string(data), "\n")
	src := regexp.MustCompile(`# kahadb-shared\.xml:(\d+) <(\w+)(?: name="\w*")?(?: (\w+))?>`)
	values := 0
	for _, l := range strings.Split(string(res.YAML), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") || !strings.Contains(l, ": ") {
			continue
		}
		values++
		if strings.Contains(l, "jetty.xml:") {
			continue
		}
		m := src.FindStringSubmatch(l)
		if m == nil {
			if !strings.Contains(l, "# kahadb-shared.xml:") {
				t.Errorf("no source comment: %q", l)
			}
			continue
		}
		n, _ := strconv.Atoi(m[1])
		x := xmlLines[n-1]
		if !strings.Contains(x, "<"+m[2]) || (m[3] != "" && !strings.Contains(x, m[3]+"=")) {
			t.Errorf("%q: line %d is %q", l, n, x)
		}
	}
	if values < 10 {
		t.Errorf("only %d values translated:\n%s", values, res.YAML)
	}
}

func TestPlaceholders(t *testing.T) {
	p := &properties{given: map[string]string{"x": "given"}, files: map[string]string{"x": "file", "y": "file"},
		env: func(k string) string {
			return map[string]string{"ACTIVEMQ_BASE": "/opt/amq", "HOME_DIR": "/home/a"}[k]
		}, conf: "/etc/amq"}
	for in, want := range map[string]string{
		"${x}":                 "given",
		"${y}/z":               "file/z",
		"${activemq.data}":     "/opt/amq/data",
		"${activemq.base}":     "/opt/amq",
		"${activemq.conf}":     "/etc/amq",
		"${HOME_DIR}":          "/home/a",
		"${nope:fallback}":     "fallback",
		"plain":                "plain",
		"a${x}b${y}c":          "agivenbfilec",
		"${activemq.home}/lib": "/opt/amq/lib",
	} {
		got, err := p.expand(in)
		if err != nil || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"${nope}", "${x", "${}"} {
		if _, err := p.expand(bad); err == nil {
			t.Errorf("expand(%q): no error", bad)
		}
	}
	if _, err := p.expand("${nope}"); err == nil || !strings.Contains(err.Error(), "--property nope=VALUE") {
		t.Errorf("the error does not say how to give the value: %v", err)
	}
	d := &properties{env: func(string) string { return "" }}
	if v, _ := d.lookup("activemq.data"); v != "./data" {
		t.Errorf("activemq.data defaults to %q, want ./data as ActiveMQ", v)
	}
}

func TestUnresolvedPlaceholderLocated(t *testing.T) {
	x := `<beans><broker brokerName="b">
  <persistenceAdapter>
    <kahaDB directory="${shared.mount}/kahadb"/>
  </persistenceAdapter>
  <transportConnectors><transportConnector uri="tcp://127.0.0.1:61616"/></transportConnectors>
</broker></beans>`
	_, err := Import("a.xml", []byte(x), testOptions(nil))
	if err == nil || !strings.Contains(err.Error(), "a.xml:3:") || !strings.Contains(err.Error(), "${shared.mount}") {
		t.Fatalf("err = %v, want it at line 3 naming the placeholder", err)
	}
	cfg, _, err := Load("a.xml", []byte(x), testOptions(map[string]string{"shared.mount": "/nfs"}))
	if err != nil || cfg.Store.Journal.Dir != "/nfs/kahadb" {
		t.Fatalf("with --property: %v, %+v", err, cfg)
	}
}

// What changes behaviour and is not understood stops the start; what does
// not is a warning; both with their line.
func TestNotUnderstood(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
		line             int
	}{
		{"plugin", `<plugins><timeStampingBrokerPlugin zeroExpirationOverride="1000"/></plugins>`, "timeStampingBrokerPlugin", 2},
		{"element", `<proxyConnectors><proxyConnector bind="tcp://0.0.0.0:1" remote="tcp://x:2"/></proxyConnectors>`, "proxyConnectors", 2},
		{"adapter", `<persistenceAdapter><mKahaDB directory="x"/></persistenceAdapter>`, "mKahaDB", 2},
		{"ldap", `<plugins><jaasCertificateAuthenticationPlugin configuration="c"/></plugins>`, "jaasCertificateAuthenticationPlugin", 2},
		{"camel", ``, "Camel", 5},
		{"second openwire", `<transportConnectors><transportConnector uri="nio://127.0.0.1:61618"/></transportConnectors>`, "a second openwire listener", 3},
		{"bad size", `<systemUsage><systemUsage><memoryUsage><memoryUsage limit="lots"/></memoryUsage></systemUsage></systemUsage>`, `limit="lots"`, 2},
		{"bad bool", `<networkConnectors><networkConnector uri="static:(tcp://a:1)" duplex="yes"/></networkConnectors>`, `duplex="yes"`, 2},
		{"multicast", `<networkConnectors><networkConnector uri="multicast://default"/></networkConnectors>`, "multicast discovery", 2},
	} {
		x := "<beans><broker brokerName=\"b\">\n" + c.body + "\n<transportConnectors><transportConnector uri=\"tcp://127.0.0.1:61616\"/></transportConnectors>\n</broker>\n"
		if c.name == "camel" {
			x += `<import resource="camel.xml"/>` + "\n"
		}
		x += "</beans>"
		_, err := Import("a.xml", []byte(x), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "a.xml:"+strconv.Itoa(c.line)+":") {
			t.Errorf("%s: err = %v, want %q at line %d", c.name, err, c.want, c.line)
		}
	}
	x := "<broker brokerName=\"b\" useJmx=\"true\">\n<managementContext><managementContext createConnector=\"false\"/></managementContext>\n" +
		"<plugins><loggingBrokerPlugin/></plugins>\n<transportConnectors><transportConnector uri=\"tcp://127.0.0.1:61616\"/></transportConnectors></broker>"
	res, err := Import("a.xml", []byte(x), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"useJmx", "managementContext", "loggingBrokerPlugin"} {
		if !hasWarning(res, w) {
			t.Errorf("no warning about %s: %v", w, res.Warnings)
		}
	}
}

// A value Pier's own validation refuses is reported at the XML line it
// came from.
func TestYAMLErrorsLocatedInXML(t *testing.T) {
	x := "<broker brokerName=\"b\">\n<transportConnectors>\n<transportConnector uri=\"tcp://127.0.0.1:61616\"/>\n</transportConnectors>\n" +
		"<destinationPolicy><policyMap><policyEntries>\n<policyEntry queue=\"a..b\" queuePrefetch=\"5\"/>\n</policyEntries></policyMap></destinationPolicy>\n</broker>"
	_, _, err := Load("a.xml", []byte(x), testOptions(nil))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	if es[0].File != "a.xml" || es[0].Line != 6 {
		t.Errorf("error at %s:%d, want a.xml:6: %v", es[0].File, es[0].Line, err)
	}
}

func TestSecurityTranslated(t *testing.T) {
	x := `<beans><broker brokerName="b">
<plugins>
  <simpleAuthenticationPlugin anonymousAccessAllowed="false">
    <users>
      <authenticationUser username="app" password="secret" groups="apps,users"/>
    </users>
  </simpleAuthenticationPlugin>
  <authorizationPlugin><map><authorizationMap>
    <authorizationEntries>
      <authorizationEntry queue="orders.>" read="apps" write="apps" admin="apps"/>
      <authorizationEntry topic="ActiveMQ.Advisory.>" read="*" write="*" admin="*"/>
    </authorizationEntries>
    <tempDestinationAuthorizationEntry>
      <tempDestinationAuthorizationEntry read="apps" write="apps" admin="apps"/>
    </tempDestinationAuthorizationEntry>
  </authorizationMap></map></authorizationPlugin>
  <redeliveryPlugin fallbackToDeadLetter="true" sendToDlqIfMaxRetriesExceeded="true">
    <redeliveryPolicyMap><redeliveryPolicyMap>
      <redeliveryPolicyEntries>
        <redeliveryPolicy queue="orders.>" maximumRedeliveries="3" initialRedeliveryDelay="1000" useExponentialBackOff="true" backOffMultiplier="2"/>
      </redeliveryPolicyEntries>
      <defaultEntry><redeliveryPolicy maximumRedeliveries="4" redeliveryDelay="5000"/></defaultEntry>
    </redeliveryPolicyMap></redeliveryPolicyMap>
  </redeliveryPlugin>
</plugins>
<transportConnectors><transportConnector uri="tcp://0.0.0.0:61616"/></transportConnectors>
</broker></beans>`
	var hashed []string
	opts := testOptions(nil)
	opts.HashPassword = func(pw string) (string, error) {
		hashed = append(hashed, pw)
		return "$2a$04$" + strings.Repeat("y", 53), nil
	}
	cfg, res, err := Load("a.xml", []byte(x), opts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.YAML), "secret") || len(hashed) != 1 || hashed[0] != "secret" {
		t.Errorf("the password is not (only) hashed: %v\n%s", hashed, res.YAML)
	}
	s := cfg.Security
	if len(s.Users) != 1 || s.Users[0].Name != "app" || strings.Join(s.Users[0].Groups, ",") != "apps,users" {
		t.Errorf("users %+v", s.Users)
	}
	if len(s.Authorization) != 2 || s.Authorization[0].Queue != "orders.>" || s.Authorization[1].Topic != "ActiveMQ.Advisory.>" ||
		s.Authorization[1].Read[0] != "*" || s.TempDestinations == nil || s.TempDestinations.Admin[0] != "apps" {
		t.Errorf("authorization %+v temp %+v", s.Authorization, s.TempDestinations)
	}
	if s.AllowAnonymous != nil && *s.AllowAnonymous {
		t.Error("anonymous access allowed with an authentication plugin")
	}
	r := cfg.Policies.Redelivery
	if r.MaxRedeliveries != 4 || r.InitialRedeliveryDelay.Seconds() != 5 {
		t.Errorf("default redelivery %+v", r)
	}
	if len(cfg.Policies.Destinations) != 1 {
		t.Fatalf("destinations %+v", cfg.Policies.Destinations)
	}
	d := cfg.Policies.Destinations[0]
	if d.Queue != "orders.>" || d.Redelivery.MaxRedeliveries == nil || *d.Redelivery.MaxRedeliveries != 3 {
		t.Errorf("orders.> redelivery %+v\n%s", d, res.YAML)
	}
}

func TestJDBCURLs(t *testing.T) {
	for _, c := range []struct{ url, user, pass, driver, dsn string }{
		{"jdbc:mysql://db:3306/amq?relaxAutoCommit=true", "u", "p", "mysql", "u:p@tcp(db:3306)/amq"},
		{"jdbc:mariadb://db/amq", "u", "", "mysql", "u@tcp(db:3306)/amq"},
		{"jdbc:postgresql://db:5432/amq?ssl=true", "u", "p@ss", "postgres", "postgres://u:p%40ss@db:5432/amq?sslmode=require"},
		{"jdbc:postgresql://db/amq", "", "", "postgres", "postgres://db/amq"},
	} {
		d, dsn, _, err := jdbcDSN(c.url, c.user, c.pass)
		if err != nil || d != c.driver || dsn != c.dsn {
			t.Errorf("%s: %s %s %v; want %s %s", c.url, d, dsn, err, c.driver, c.dsn)
		}
	}
	for _, bad := range []string{"mysql://db/x", "jdbc:derby:memory:x", "jdbc:mysql://db:x1/amq", "jdbc:mysql://db:3306/"} {
		if _, _, _, err := jdbcDSN(bad, "", ""); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestBridgeURIs(t *testing.T) {
	for in, want := range map[string]string{
		"static:{tcp://a:1,tcp://b:2}":                "static:(tcp://a:1,tcp://b:2)",
		"static:(tcp://a:1)?maxReconnectDelay=1000":   "static:(tcp://a:1)?maxReconnectDelay=1000",
		"masterslave:(tcp://a:1,tcp://b:2,tcp://c:3)": "static:(failover:(tcp://a:1,tcp://b:2,tcp://c:3))",
		"tcp://a:1": "static:(tcp://a:1)",
		"static:(nio://a:1,failover:(tcp://b:2,tcp://c:3))": "static:(tcp://a:1,failover:(tcp://b:2,tcp://c:3))",
	} {
		got, err := bridgeURI(in)
		if err != nil || got != want {
			t.Errorf("bridgeURI(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"static:(tcp://a:1", "static:(tcp://a:99999)", "static:(stomp://a:1)", "static:()", "static:(tcp://:1)", "static:(failover:(tcp://b:x))"} {
		if _, err := bridgeURI(bad); err == nil {
			t.Errorf("bridgeURI(%q): no error", bad)
		}
	}
}

func TestDetect(t *testing.T) {
	for in, want := range map[string]bool{
		"<?xml version=\"1.0\"?><beans/>": true, "\ufeff\n  <beans/>": true, "broker:\n  name: x\n": false, "": false, "# <beans>": false,
	} {
		if Detect([]byte(in)) != want {
			t.Errorf("Detect(%q) != %v", in, want)
		}
	}
}

// FuzzImport: any input either translates into YAML that parses, or is
// refused with located errors; never a panic.
func FuzzImport(f *testing.F) {
	for _, name := range []string{"kahadb-shared.xml", "jdbc-mysql.xml", "replicated-leveldb.xml", "network-typo.xml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<broker><transportConnectors><transportConnector uri="tcp://x:1?a=b"/></transportConnectors></broker>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := testOptions(map[string]string{"activemq.data": "/d"})
		opts.ReadFile = func(string) ([]byte, error) { return nil, os.ErrNotExist }
		res, err := Import("f.xml", data, opts)
		if err != nil {
			var es config.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not config.Errors", err)
			}
			return
		}
		var n yaml.Node
		if err := yaml.Unmarshal(res.YAML, &n); err != nil {
			t.Fatalf("the translation is not YAML: %v\n%s", err, res.YAML)
		}
	})
}

// ActiveMQ's default file has a <storeUsage limit>; with a JDBC store it
// is not the journal's (which a SQL store does not have).
func TestStoreUsageWithJDBC(t *testing.T) {
	data, err := os.ReadFile("testdata/jdbc-mysql.xml")
	if err != nil {
		t.Fatal(err)
	}
	x := strings.Replace(string(data), "<transportConnectors>",
		`<systemUsage><systemUsage><storeUsage><storeUsage limit="100 gb"/></storeUsage></systemUsage></systemUsage>
        <transportConnectors>`, 1)
	cfg, res, err := Load("testdata/jdbc-mysql.xml", []byte(x), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Kind != config.StoreSQL || !hasWarning(res, "storeUsage limit") {
		t.Errorf("store %+v, warnings %v", cfg.Store, res.Warnings)
	}
}

func TestSSLContext(t *testing.T) {
	x := `<beans><broker brokerName="b">
<sslContext>
  <sslContext keyStore="file:${activemq.conf}/broker.ks" keyStorePassword="secret"
              trustStore="classpath:broker.ts" trustStorePassword="tsecret"/>
</sslContext>
<transportConnectors>
  <transportConnector name="ssl" uri="ssl://127.0.0.1:61617?wantClientAuth=true"/>
  <transportConnector name="stomp+ssl" uri="stomp+ssl://127.0.0.1:61612"/>
</transportConnectors>
</broker></beans>`
	cfg, _, err := Load("/etc/amq/activemq.xml", []byte(x), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	tl := cfg.TLS
	if tl.KeystoreFile != "/etc/amq/broker.ks" || tl.KeystorePassword != "secret" ||
		tl.TruststoreFile != "/etc/amq/broker.ts" || tl.TruststorePassword != "tsecret" ||
		cfg.Transports.OpenWire != "ssl://127.0.0.1:61617" || cfg.Transports.STOMP != "stomp+ssl://127.0.0.1:61612" {
		t.Errorf("tls %+v transports %+v", tl, cfg.Transports)
	}
	for what, bad := range map[string]string{
		"no sslContext":  `<transportConnectors><transportConnector uri="ssl://127.0.0.1:61617"/></transportConnectors>`,
		"needClientAuth": `<sslContext><sslContext keyStore="k" keyStorePassword="p"/></sslContext><transportConnectors><transportConnector uri="ssl://127.0.0.1:61617?needClientAuth=true"/></transportConnectors>`,
		"JCEKS":          `<sslContext><sslContext keyStore="k" keyStoreType="jceks"/></sslContext><transportConnectors><transportConnector uri="ssl://127.0.0.1:61617"/></transportConnectors>`,
	} {
		_, err := Import("a.xml", []byte("<broker>"+bad+"</broker>"), testOptions(nil))
		if err == nil {
			t.Errorf("%s: no error", what)
		}
	}
}

// A typo in a port is one error, at its line, naming the port, wherever
// the port is (found by test/migrate's author).
func TestPortTypos(t *testing.T) {
	for what, c := range map[string]struct{ body, want, after string }{
		"connector": {`<transportConnectors>
<transportConnector name="openwire" uri="tcp://0.0.0.0:t61616"/>
</transportConnectors>`, `port "t61616" is not a number`, ""},
		"jdbc": {`<persistenceAdapter><jdbcPersistenceAdapter dataSource="#ds"/></persistenceAdapter>
<transportConnectors><transportConnector uri="tcp://127.0.0.1:61616"/></transportConnectors>`, `port "33o6" is not a number`, `<bean id="ds" class="org.apache.commons.dbcp2.BasicDataSource">
<property name="url" value="jdbc:mysql://localhost:33o6/smq"/>
</bean>`},
		"bind": {`<persistenceAdapter><replicatedLevelDB bind="tcp://127.0.0.1:6262x" zkAddress="127.0.0.1:2181"/></persistenceAdapter>
<transportConnectors><transportConnector uri="tcp://127.0.0.1:61616"/></transportConnectors>`, `port "6262x" is not a number`, ""},
		"zk": {`<persistenceAdapter><replicatedLevelDB bind="tcp://127.0.0.1:62621" zkAddress="127.0.0.1:2181,127.0.0.1:21a2"/></persistenceAdapter>
<transportConnectors><transportConnector uri="tcp://127.0.0.1:61616"/></transportConnectors>`, `127.0.0.1:21a2: port "21a2" is not a number`, ""},
	} {
		x := "<beans><broker brokerName=\"b\">\n" + c.body + "\n</broker>\n" + c.after + "</beans>"
		_, err := Import("a.xml", []byte(x), testOptions(nil))
		var es config.Errors
		if !errors.As(err, &es) || len(es) != 1 || !strings.Contains(es[0].Msg, c.want) {
			t.Errorf("%s: %v, want one error saying %s", what, err, c.want)
			continue
		}
		if want := lineOf(t, []byte(x), strings.Fields(strings.Split(c.want, "port ")[1])[0][1:4]); es[0].Line != want {
			t.Errorf("%s: at line %d, want %d", what, es[0].Line, want)
		}
	}
}

// Warnings about a data source's properties come in file order, each at
// its property's line.
func TestDataSourceWarningsInOrder(t *testing.T) {
	x := `<beans><broker brokerName="b">
<persistenceAdapter><jdbcPersistenceAdapter dataSource="#ds"/></persistenceAdapter>
<transportConnectors><transportConnector uri="tcp://127.0.0.1:61616"/></transportConnectors>
</broker>
<bean id="ds" class="org.apache.commons.dbcp.BasicDataSource">
  <property name="url" value="jdbc:mysql://localhost:3306/smq?relaxAutoCommit=true"/>
  <property name="maxActive" value="20"/>
  <property name="maxIdle" value="5"/>
  <property name="minIdle" value="1"/>
</bean></beans>`
	for range 5 {
		res, err := Import("a.xml", []byte(x), testOptions(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"relaxAutoCommit", "maxActive", "maxIdle", "minIdle"}
		if len(res.Warnings) != len(want) {
			t.Fatalf("warnings %v, want one each about %v", res.Warnings, want)
		}
		for i, w := range res.Warnings {
			if w.Line != 6+i || !strings.Contains(w.Msg, want[i]) {
				t.Fatalf("warning %d: %v, want line %d about %s", i, w, 6+i, want[i])
			}
		}
	}
}
