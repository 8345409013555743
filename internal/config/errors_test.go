package config

import (
	"errors"
	"strings"
	"testing"
)

const singleTypo = `# One broker
broker:
  name: localhost
  data_dir: ./data
transports:
  openwire: tcp://127.0.0.1:61616
  stomps: stomp://127.0.0.1:61613
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the first error, exactly
		is   error
	}{
		{"unknown transport", singleTypo,
			`x.yaml:7:3: unknown key "stomps" in transports (known: openwire, stomp, mqtt, ws, amqp)`, ErrUnknownKey},
		{"unknown root key", "broker: {name: a}\nbrokers: {}\n",
			`x.yaml:2:1: unknown key "brokers" (known: broker, transports, console, store, network_connectors, limits, mqtt, policies, tls, security)`, ErrUnknownKey},
		{"bad store kind", "store:\n  kind: jornal\n",
			`x.yaml:2:9: store.kind: "jornal" is not one of journal, sql, replicated`, ErrInvalid},
		{"bad scheme", "transports:\n  stomp: tcp://127.0.0.1:61613\n",
			`x.yaml:2:3: transports.stomp: "tcp://127.0.0.1:61613": scheme "tcp" is not allowed here (want stomp://host:port or stomp+ssl://host:port)`, ErrInvalid},
		{"port out of range", "transports:\n  openwire: tcp://127.0.0.1:70000\n",
			`x.yaml:2:3: transports.openwire: "tcp://127.0.0.1:70000": port 70000 out of range (0-65535)`, ErrInvalid},
		{"missing port", "transports:\n  mqtt: mqtt://localhost\n",
			`x.yaml:2:3: transports.mqtt: "mqtt://localhost": missing port`, ErrInvalid},
		{"url options", "transports:\n  openwire: tcp://0.0.0.0:61616?maximumConnections=1000\n",
			`x.yaml:2:3: transports.openwire: "tcp://0.0.0.0:61616?maximumConnections=1000": URL options (?...) are not supported; set limits in the limits section`, ErrInvalid},
		{"no transports", "transports: {}\n",
			`x.yaml:1:1: transports: no client transport is configured`, ErrMissing},
		{"console port", "console:\n  listen: 127.0.0.1:99999\n",
			`x.yaml:2:3: console.listen: port 99999 out of range (0-65535)`, ErrInvalid},
		{"console admin group empty", "console:\n  admin_groups: [\"\"]\n",
			`x.yaml:2:18: console.admin_groups[0]: must not be empty`, ErrInvalid},
		{"console metrics destination", "console:\n  metrics_destinations: [orders]\n",
			`x.yaml:2:26: console.metrics_destinations[0]: "orders": want queue://NAME or topic://NAME`, ErrInvalid},
		{"console not hostport", "console:\n  listen: localhost\n",
			`x.yaml:2:3: console.listen: "localhost" is not host:port (missing port in address)`, ErrInvalid},
		{"sql without dsn", "store:\n  kind: sql\n  sql:\n    driver: mysql\n",
			`x.yaml:3:3: store.sql.dsn: required when store.kind is sql`, ErrMissing},
		{"sql without section", "store:\n  kind: sql\n",
			`x.yaml:2:3: store.sql.driver: required when store.kind is sql (postgres or mysql)`, ErrMissing},
		{"sql bad driver", "store:\n  kind: sql\n  sql:\n    driver: oracle\n    dsn: x\n",
			`x.yaml:4:13: store.sql.driver: "oracle" is not one of postgres, mysql`, ErrInvalid},
		{"sql lease unitless", "store:\n  kind: sql\n  sql: {driver: postgres, dsn: x, lease_duration: 10}\n",
			`x.yaml:3:51: store.sql.lease_duration: "10" is not a duration (want a Go duration such as 10s, 500ms or 1m30s, e.g. 10s (a unit is required))`, ErrInvalid},
		{"sql lease short", "store:\n  kind: sql\n  sql: {driver: postgres, dsn: x, lease_duration: 10ms}\n",
			`x.yaml:3:35: store.sql.lease_duration: 10ms is too short (at least 1s)`, ErrInvalid},
		{"sql section with journal kind", "store:\n  sql: {dsn: x}\n",
			`x.yaml:2:3: store.sql: not used when store.kind is journal`, ErrInvalid},
		{"node not in peers", "store:\n  kind: replicated\n  replicated:\n    node_id: d\n    peers:\n      a: tcp://h:1\n      b: tcp://h:2\n",
			`x.yaml:4:5: store.replicated.node_id: "d" is not in peers (known: a, b)`, ErrInvalid},
		{"peer bad url", "store:\n  kind: replicated\n  replicated:\n    node_id: a\n    insecure: true\n    peers:\n      a: tcp://h:1\n      b: h:2\n",
			`x.yaml:8:7: store.replicated.peers.b: "h:2": want scheme://host:port`, ErrInvalid},
		{"election timeout too short", "store:\n  kind: replicated\n  replicated:\n    node_id: a\n    insecure: true\n    peers: {a: tcp://h:1}\n    election_timeout: 5ms\n",
			`x.yaml:7:5: store.replicated.election_timeout: 5ms: want 50ms to 1m`, ErrInvalid},
		{"snapshot threshold too small", "store:\n  kind: replicated\n  replicated:\n    node_id: a\n    insecure: true\n    peers: {a: tcp://h:1}\n    snapshot_threshold: 3\n",
			`x.yaml:7:5: store.replicated.snapshot_threshold: 3: want at least 16 (or 0 for the default)`, ErrInvalid},
		{"replicated without section", "store:\n  kind: replicated\n",
			`x.yaml:2:3: store.replicated.peers: required when store.kind is replicated (every replica, this one included), unless the members find each other through store.replicated.zookeeper`, ErrMissing},
		{"bridge member scheme", "network_connectors:\n  - uri: static:(tcp://a:1,http://b:2)\n",
			`x.yaml:2:5: network_connectors[0].uri: "static:(tcp://a:1,http://b:2)": member "http://b:2": want tcp://host:port`, ErrInvalid},
		{"duplicate peer", "store:\n  kind: replicated\n  replicated:\n    node_id: a\n    peers:\n      a: tcp://h:1\n      a: tcp://h:2\n",
			`x.yaml:7:7: duplicate key "a" (first at line 6)`, ErrDuplicateKey},
		{"duplicate key", "broker:\n  name: a\n  name: b\n",
			`x.yaml:3:3: duplicate key "name" (first at line 2)`, ErrDuplicateKey},
		{"wrong type", "broker:\n  name: [a, b]\n",
			`x.yaml:2:9: broker.name: expected a string, got a list`, ErrType},
		{"section not mapping", "limits: 5\n",
			`x.yaml:1:9: limits: expected a mapping of keys, got "5"`, ErrType},
		{"bad size", "limits:\n  memory: 256 megs\n",
			`x.yaml:2:11: limits.memory: size "256 megs" has unknown unit "megs" (known: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`, ErrInvalid},
		{"negative size", "store:\n  journal:\n    max_size: -1\n",
			`x.yaml:3:15: store.journal.max_size: "-1" is not a size (want a whole number of bytes with an optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`, ErrInvalid},
		{"max smaller than segment", "store:\n  journal: {segment_size: 64MiB, max_size: 1MiB}\n",
			`x.yaml:2:34: store.journal.max_size: 1MiB is smaller than segment_size 64MiB`, ErrInvalid},
		{"bad bool", "network_connectors:\n  - uri: tcp://h:1\n    duplex: yes please\n",
			`x.yaml:3:13: network_connectors[0].duplex: expected true or false, got "yes please"`, ErrInvalid},
		{"bad int", "limits:\n  max_connections: 1.5\n",
			`x.yaml:2:20: limits.max_connections: expected a whole number, got "1.5"`, ErrInvalid},
		{"connector unknown key", "network_connectors:\n  - uri: tcp://h:1\n    networkTTL: 2\n",
			`x.yaml:3:5: unknown key "networkTTL" in network_connectors[0] (known: name, uri, duplex, network_ttl, conduit_subscriptions, dynamic_only, decrease_network_consumer_priority, excluded_destinations, dynamically_included_destinations, statically_included_destinations, prefetch_size, username, password)`, ErrUnknownKey},
		{"connector missing uri", "network_connectors:\n  - name: x\n",
			`x.yaml:2:5: network_connectors[0].uri: required, e.g. static:(tcp://host:61616)`, ErrMissing},
		{"connector bad uri", "network_connectors:\n  - uri: static:(tcp://a:1,tcp://b:2\n",
			`x.yaml:2:5: network_connectors[0].uri: "static:(tcp://a:1,tcp://b:2": unbalanced parentheses`, ErrInvalid},
		{"connector duplicate name", "network_connectors:\n  - uri: tcp://a:1\n  - uri: tcp://b:1\n",
			`x.yaml:3:5: network_connectors[1].name: "bridge" is already the name of network_connectors[0]`, ErrInvalid},
		{"connector ttl", "network_connectors:\n  - uri: tcp://a:1\n    network_ttl: 0\n",
			`x.yaml:3:5: network_connectors[0].network_ttl: must be at least 1`, ErrInvalid},
		{"connector destination", "network_connectors:\n  - uri: tcp://a:1\n    excluded_destinations:\n      - orders\n",
			`x.yaml:4:9: network_connectors[0].excluded_destinations[0]: "orders": want queue://NAME or topic://NAME`, ErrInvalid},
		{"connector item null", "network_connectors:\n  -\n",
			`x.yaml:2:4: network_connectors[0]: expected a network connector (a mapping), got null`, ErrType},
		{"redeliveries", "policies:\n  redelivery:\n    max_redeliveries: -2\n",
			`x.yaml:3:5: policies.redelivery.max_redeliveries: -2 is below -1 (-1 means redeliver for ever)`, ErrInvalid},
		{"address conflict", "security: {allow_anonymous: true}\ntransports:\n  openwire: tcp://0.0.0.0:61616\n  stomp: stomp://127.0.0.1:61616\n",
			`x.yaml:4:3: transports.stomp: address 127.0.0.1:61616 conflicts with transports.openwire (0.0.0.0:61616)`, ErrInvalid},
		{"open beyond loopback", "transports:\n  openwire: tcp://0.0.0.0:61616\n",
			`x.yaml:2:3: transports.openwire: "tcp://0.0.0.0:61616" listens beyond loopback and no users are configured: add security.users (or security.users_file), or set security.allow_anonymous: true to let in anyone who can reach it`, ErrInvalid},
		{"console beyond loopback", "console: {listen: \":8161\"}\n",
			`x.yaml:1:11: console.listen: ":8161" listens beyond loopback and no users are configured: add security.users (or security.users_file), or set security.allow_anonymous: true`, ErrInvalid},
		{"replication beyond loopback", "store:\n  kind: replicated\n  replicated:\n    node_id: a\n    peers: {a: tcp://10.0.0.1:62621}\n",
			`x.yaml:3:3: store.replicated.bind: "tcp://10.0.0.1:62621" listens beyond loopback without mutual TLS: set store.replicated.tls (cert_file, key_file, ca_file; ` + "`pier certs`" + ` makes them), or store.replicated.insecure: true to let anyone who can reach it join the group`, ErrInvalid},
		{"replication tls incomplete", "store:\n  kind: replicated\n  replicated:\n    node_id: a\n    peers: {a: tcp://127.0.0.1:62621}\n    tls: {cert_file: a.crt}\n",
			`x.yaml:6:5: store.replicated.tls.key_file: required for mutual TLS between members (` + "`pier certs`" + ` makes them)`, ErrMissing},
		{"ssl without certificate", "transports:\n  openwire: ssl://127.0.0.1:61617\n",
			`x.yaml:2:3: transports.openwire: "ssl://127.0.0.1:61617" needs tls.cert_file and tls.key_file`, ErrMissing},
		{"key without certificate", "tls: {key_file: k.pem}\n",
			`x.yaml:1:1: tls: cert_file and key_file go together`, ErrMissing},
		{"plain password", "security:\n  users:\n    - {name: app, password_hash: secret}\n",
			`x.yaml:3:19: security.users[0].password_hash: is not a bcrypt hash ($2a$10$ and 53 more characters); run ` + "`pier passwd`" + ` and paste what it prints`, ErrInvalid},
		{"duplicate user", "security:\n  users:\n    - {name: app, password_hash: \"$2a$10$bE8sossOa2GiwcJxKZZuVOXZMhUety/0s6gKlzhJ8ut7z3qLkYjqy\"}\n    - {name: app, password_hash: \"$2a$10$bE8sossOa2GiwcJxKZZuVOXZMhUety/0s6gKlzhJ8ut7z3qLkYjqy\"}\n",
			`x.yaml:4:8: security.users[1].name: user "app" is also security.users[0]`, ErrInvalid},
		{"nobody could connect", "security: {allow_anonymous: false}\n",
			`x.yaml:1:12: security.allow_anonymous: is false but no users are configured: nobody could connect (add security.users or security.users_file)`, ErrInvalid},
		{"entry with both kinds", "security:\n  authorization:\n    - {queue: a, topic: b, read: [x]}\n",
			`x.yaml:3:7: security.authorization[0]: has both a queue and a topic pattern; write two entries`, ErrInvalid},
		{"bad pattern", "security:\n  authorization:\n    - {queue: \"a.>.b\", read: [x]}\n",
			`x.yaml:3:8: security.authorization[0].queue: "a.>.b": > must be the last part`, ErrInvalid},
		{"bad group", "security:\n  authorization:\n    - {topic: a, read: [\"x y\"]}\n",
			`x.yaml:3:25: security.authorization[0].read[0]: "x y" is not a group name`, ErrInvalid},
		{"security unknown key", "security:\n  allowAnonymous: true\n",
			`x.yaml:2:3: unknown key "allowAnonymous" in security (known: allow_anonymous, remember_logins, users, users_file, groups_file, authorization, temp_destinations, bridges)`, ErrUnknownKey},
		{"syntax", "broker:\n  name: a\n b: c\n",
			`x.yaml:3: invalid YAML: did not find expected key`, ErrSyntax},
		{"tab", "broker:\n\tname: a\n",
			`x.yaml:2: invalid YAML: found character that cannot start any token`, ErrSyntax},
		{"two documents", "broker: {name: a}\n---\nbroker: {name: b}\n",
			`x.yaml:2:1: only one YAML document is allowed`, ErrSyntax},
		{"merge key", "broker:\n  <<: {name: a}\n",
			`x.yaml:2:3: merge keys (<<) are not supported`, ErrUnknownKey},
		{"root not mapping", "- a\n- b\n",
			`x.yaml:1:1: expected a mapping of keys, got a list`, ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; parsed %+v", c)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v is not a non-empty Errors", err, err)
			}
			if got := es[0].Error(); got != tt.want {
				t.Errorf("first error\n got %s\nwant %s", got, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tt.is, err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := "broker:\n  nam: a\ntransports:\n  stomps: x\nlimits:\n  memory: lots\n"
	_, err := Parse("m.yaml", []byte(src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	for _, e := range es {
		lines = append(lines, e.Line)
	}
	if len(lines) != 3 || lines[0] != 2 || lines[1] != 4 || lines[2] != 6 {
		t.Errorf("lines = %v, want [2 4 6]; errors:\n%v", lines, err)
	}
}

func TestErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("broker:\n")
	for i := range 100 {
		b.WriteString("  k" + itoa(i) + ": v\n")
	}
	_, err := Parse("cap.yaml", []byte(b.String()))
	var es Errors
	if !errors.As(err, &es) || len(es) != maxErrors {
		t.Errorf("got %d errors, want %d", len(es), maxErrors)
	}
}

func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Store.Kind = "tape"
	c.Limits.MaxHeaders = 0
	err := c.Validate()
	want := "store.kind: \"tape\" is not one of journal, sql, replicated\nlimits.max_headers: must be at least 1"
	if err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Path != "store.kind" || !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.As: %+v", e)
	}
}

func TestAliasesResolve(t *testing.T) {
	src := "broker: {name: &n grp, data_dir: ./d}\nstore:\n  kind: replicated\n  replicated:\n    node_id: *n\n    insecure: true\n    peers: {grp: tcp://h:1}\n"
	c, err := Parse("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Replicated.NodeID != "grp" || c.Store.Replicated.Bind != "tcp://h:1" {
		t.Errorf("replicated = %+v", c.Store.Replicated)
	}
}
