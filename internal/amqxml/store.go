package amqxml

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/piermq/pier/internal/config"
)

func (im *importer) persistenceAdapter(p *elem) {
	if len(p.kids) == 0 {
		im.fail(p, "<persistenceAdapter> is empty")
		return
	}
	if len(p.kids) > 1 {
		im.fail(p.kids[1], "<persistenceAdapter> holds more than one adapter")
		return
	}
	a := p.kids[0]
	a.used = true
	switch a.name {
	case "kahaDB":
		im.kahaDB(a)
	case "levelDB":
		im.kahaDB(a)
		im.warn(a, "<levelDB>: Pier keeps the messages in its own journal in that directory")
	case "jdbcPersistenceAdapter":
		im.jdbc(a)
	case "replicatedLevelDB":
		im.replicated(a)
	case "memoryPersistenceAdapter":
		im.warn(a, "<memoryPersistenceAdapter>: Pier has no memory-only store; messages are kept in its journal under the data directory")
	case "mKahaDB":
		im.fail(a, "<mKahaDB>: one journal per destination filter is not supported; use one <kahaDB directory=\"...\"/>")
	default:
		im.fail(a, "<%s>: persistence adapter not supported (kahaDB, jdbcPersistenceAdapter, replicatedLevelDB and levelDB are)", a.name)
	}
}

// ignoredKahaDBAttrs are tuning attributes of KahaDB and LevelDB with no
// meaning for Pier's journal.
var ignoredKahaDBAttrs = map[string]string{
	"enableJournalDiskSyncs":           "Pier syncs every acknowledged persistent write",
	"journalDiskSyncStrategy":          "Pier syncs every acknowledged persistent write",
	"indexWriteBatchSize":              "",
	"indexCacheSize":                   "",
	"checkpointInterval":               "",
	"cleanupInterval":                  "",
	"concurrentStoreAndDispatchQueues": "Pier dispatches only what is stored",
	"concurrentStoreAndDispatchTopics": "Pier dispatches only what is stored",
	"checkForCorruptJournalFiles":      "Pier checks every record's CRC",
	"checksumJournalFiles":             "Pier checks every record's CRC",
	"ignoreMissingJournalfiles":        "",
	"archiveDataLogs":                  "",
	"lockKeepAlivePeriod":              "a shared directory's lock is checked by Pier's own schedule",
	"enableIndexWriteAsync":            "",
	"compactAcksAfterNoGC":             "",
	"compactAcksIgnoresStoreGrowth":    "",
	"enableAckCompaction":              "",
	"preallocationStrategy":            "",
	"preallocationScope":               "",
	"maxAsyncJobs":                     "",
	"forceRecoverIndex":                "Pier rebuilds its index from the journal when it must",
	"logSize":                          "",
	"sync":                             "Pier syncs every acknowledged persistent write",
	"verifyChecksums":                  "",
	"paranoidChecks":                   "",
}

// kahaDB translates a KahaDB (or LevelDB) adapter to Pier's journal in the
// same directory: members naming one shared directory form a
// shared-directory group, as they did.
func (im *importer) kahaDB(a *elem) {
	im.out.set("store.kind", "journal", a, "<"+a.name+">")
	if dir, ok := im.get(a, "directory"); ok {
		im.out.set("store.journal.dir", dir, a, "<"+a.name+" directory>")
		im.kahaFiles(a, dir)
	}
	if v, ok := im.get(a, "journalMaxFileLength"); ok {
		if n, ok := im.size(a, "journalMaxFileLength", v); ok {
			im.out.set("store.journal.segment_size", config.Size(n).String(), a, "<"+a.name+" journalMaxFileLength>")
		}
	}
	im.restAttrs(a, ignoredKahaDBAttrs)
}

// kahaFiles warns when the directory holds ActiveMQ's own store files:
// Pier does not read them, so messages still in them stay there.
func (im *importer) kahaFiles(a *elem, dir string) {
	for _, pat := range []string{"db.data", "db-*.log", "*.ldb", "*.log.leveldb"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pat)); len(m) > 0 {
			im.warn(a, "%s holds ActiveMQ's store files (%s): Pier does not read them; messages left in them are not delivered (drain ActiveMQ before switching: docs/migrating.md)", dir, filepath.Base(m[0]))
			return
		}
	}
}

// restAttrs reports the attributes of e the translation did not use.
func (im *importer) restAttrs(e *elem, ignored map[string]string) {
	for _, at := range e.attrs {
		if at.used || at.name == "id" {
			continue
		}
		why, known := ignored[at.name]
		switch {
		case known && why != "":
			im.warn(e, "<%s %s> ignored: %s", e.name, at.name, why)
		case known:
			im.warn(e, "<%s %s> ignored", e.name, at.name)
		default:
			im.warn(e, "<%s %s> not understood; ignored", e.name, at.name)
		}
	}
}

func (im *importer) jdbc(a *elem) {
	im.out.set("store.kind", "sql", a, "<jdbcPersistenceAdapter>")
	ref, ok := im.get(a, "dataSource")
	if !ok {
		im.fail(a, "<jdbcPersistenceAdapter> without a dataSource=\"#bean-id\" (ActiveMQ's default is an embedded Derby database, which Pier does not have)")
		return
	}
	id := strings.TrimPrefix(ref, "#")
	bean := im.beans[id]
	if bean == nil {
		im.fail(a, "<jdbcPersistenceAdapter dataSource=%q>: no <bean id=%q> in the file", ref, id)
		return
	}
	bean.used = true
	im.dataSource(a, bean)
	if v, ok := im.get(a, "lockKeepAlivePeriod"); ok {
		if n, ok := im.integer(a, "lockKeepAlivePeriod", v); ok && n > 0 {
			// ActiveMQ renews its lock every lockKeepAlivePeriod; Pier
			// renews its lease every quarter of lease_duration.
			im.out.set("store.sql.lease_duration", (4 * time.Duration(n) * time.Millisecond).String(), a,
				"four times <jdbcPersistenceAdapter lockKeepAlivePeriod> (ms): renewed as often")
		}
	}
	if v, ok := im.get(a, "useDatabaseLock"); ok && !im.boolean(a, "useDatabaseLock", v) {
		im.warn(a, "<jdbcPersistenceAdapter useDatabaseLock=\"false\">: Pier always holds a lease row, so only one member serves")
	}
	for _, k := range a.kids {
		k.used = true
		switch k.name {
		case "locker":
			im.warn(k, "<locker>: Pier's SQL group always uses its lease row (like lease-database-locker)")
			markAll(k)
		case "adapter", "statements":
			im.warn(k, "<%s>: Pier keeps its own tables (pier_*), with its own statements", k.name)
			markAll(k)
		default:
			im.fail(k, "<%s> in <jdbcPersistenceAdapter> not understood", k.name)
		}
	}
	im.restAttrs(a, map[string]string{
		"dataDirectory":                "Pier keeps nothing of the SQL store on local disk",
		"createTablesOnStartup":        "Pier creates and migrates its own tables (pier_*); ActiveMQ's ACTIVEMQ_MSGS is not read",
		"cleanupPeriod":                "",
		"transactionIsolation":         "",
		"lockAcquireSleepInterval":     "",
		"maxRows":                      "",
		"useExternalMessageReferences": "",
		"directory":                    "",
	})
}

// markAll marks an element's subtree as understood (it was reported as a
// whole).
func markAll(e *elem) {
	e.used = true
	for i := range e.attrs {
		e.attrs[i].used = true
	}
	for _, k := range e.kids {
		markAll(k)
	}
}

// beanProp is one <property> of a Spring bean.
type beanProp struct {
	name, value string
	at          *elem
}

// beanProps are a bean's properties in file order.
type beanProps []beanProp

// get returns the named property's value and element (nil when absent).
func (ps beanProps) get(name string) (string, *elem) {
	for _, p := range ps {
		if p.name == name {
			return p.value, p.at
		}
	}
	return "", nil
}

// beanProperties reads a Spring bean's <property name value> (or a
// <value> child) entries, placeholders expanded, in file order.
func (im *importer) beanProperties(bean *elem) beanProps {
	var out beanProps
	for _, p := range bean.children("property") {
		name, _ := p.attr("name")
		v, ok := im.get(p, "value")
		if !ok {
			if vc := p.child("value"); vc != nil {
				var err error
				if v, err = im.props.expand(strings.TrimSpace(vc.text)); err != nil {
					im.fail(vc, "property %s: %v", name, err)
				}
			}
		}
		out = append(out, beanProp{name: name, value: v, at: p})
	}
	return out
}

func (im *importer) dataSource(at, bean *elem) {
	class, _ := bean.attr("class")
	props := im.beanProperties(bean)
	urlProp := "url"
	switch class {
	case "org.apache.commons.dbcp.BasicDataSource", "org.apache.commons.dbcp2.BasicDataSource",
		"org.apache.tomcat.jdbc.pool.DataSource", "org.apache.tomcat.dbcp.dbcp2.BasicDataSource":
	case "com.zaxxer.hikari.HikariDataSource":
		urlProp = "jdbcUrl"
	default:
		im.fail(bean, "<bean id=%q class=%q>: data source class not supported; use org.apache.commons.dbcp2.BasicDataSource with url, username and password", bean.attrOr("id"), class)
		return
	}
	rawURL, urlAt := props.get(urlProp)
	user, _ := props.get("username")
	pass, _ := props.get("password")
	if rawURL == "" {
		im.fail(bean, "<bean id=%q>: no %s property", bean.attrOr("id"), urlProp)
		return
	}
	driver, dsn, dropped, err := jdbcDSN(rawURL, user, pass)
	if err != nil {
		im.fail(urlAt, "<bean id=%q> %s %q: %v", bean.attrOr("id"), urlProp, rawURL, err)
		return
	}
	im.out.set("store.sql.driver", driver, urlAt, "<bean class=\""+short(class)+"\"> "+urlProp)
	im.out.set("store.sql.dsn", dsn, urlAt, urlProp+", username and password of the data source")
	if len(dropped) > 0 {
		im.warn(urlAt, "JDBC URL options %s have no Go driver equivalent; left out", strings.Join(dropped, ", "))
	}
	for _, p := range props {
		switch p.name {
		case urlProp, "username", "password", "driverClassName":
		default:
			im.warn(p.at, "data source property %s ignored (Pier's pool is its own)", p.name)
		}
	}
}

func (e *elem) attrOr(name string) string {
	v, _ := e.attr(name)
	return v
}

// jdbcDSN turns a JDBC URL and credentials into Pier's driver and DSN.
func jdbcDSN(raw, user, pass string) (driver, dsn string, dropped []string, err error) {
	rest, ok := strings.CutPrefix(raw, "jdbc:")
	if !ok {
		return "", "", nil, fmt.Errorf("not a JDBC URL (want jdbc:mysql:, jdbc:mariadb: or jdbc:postgresql:)")
	}
	scheme, after, ok := strings.Cut(rest, "://")
	if !ok {
		scheme, _, _ = strings.Cut(rest, ":")
		return "", "", nil, fmt.Errorf("want jdbc:%s://host:port/database", scheme)
	}
	hp, tail, _ := strings.Cut(after, "/")
	tail, rawQuery, _ := strings.Cut(tail, "?")
	db := tail
	if db == "" || strings.Contains(db, "/") {
		return "", "", nil, fmt.Errorf("no database name after the host")
	}
	u := &url.URL{Host: hp}
	if strings.Contains(strings.TrimPrefix(hp, "["), ":") && !strings.HasSuffix(hp, "]") {
		h, p, err := hostPort(hp)
		if err != nil {
			return "", "", nil, err
		}
		u.Host = net.JoinHostPort(h, p)
	}
	if u.Hostname() == "" {
		return "", "", nil, fmt.Errorf("no host")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", "", nil, fmt.Errorf("options %q: %v", rawQuery, err)
	}
	switch scheme {
	case "mysql", "mariadb":
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "3306")
		}
		for k := range q {
			dropped = append(dropped, k)
		}
		cred := user
		if pass != "" {
			cred += ":" + pass
		}
		if cred != "" {
			cred += "@"
		}
		return "mysql", fmt.Sprintf("%stcp(%s)/%s", cred, host, db), slices.Sorted(slices.Values(dropped)), nil
	case "postgresql":
		out := url.URL{Scheme: "postgres", Host: u.Host, Path: "/" + db}
		if user != "" {
			out.User = url.UserPassword(user, pass)
			if pass == "" {
				out.User = url.User(user)
			}
		}
		keep := url.Values{}
		for k, vs := range q {
			switch k {
			case "sslmode":
				keep.Set("sslmode", vs[0])
			case "ssl":
				if b, _ := strconv.ParseBool(vs[0]); b {
					keep.Set("sslmode", "require")
				}
			case "user":
				if out.User == nil {
					out.User = url.User(vs[0])
				}
			case "password":
				if out.User != nil {
					out.User = url.UserPassword(out.User.Username(), vs[0])
				}
			default:
				dropped = append(dropped, k)
			}
		}
		out.RawQuery = keep.Encode()
		return "postgres", out.String(), slices.Sorted(slices.Values(dropped)), nil
	}
	return "", "", nil, fmt.Errorf("database %q not supported (MySQL, MariaDB and PostgreSQL are)", scheme)
}

func (im *importer) replicated(a *elem) {
	im.out.set("store.kind", "replicated", a, "<replicatedLevelDB>")
	if dir, ok := im.get(a, "directory"); ok {
		im.out.set("store.journal.dir", dir, a, "<replicatedLevelDB directory>")
		im.kahaFiles(a, dir)
	}
	if v, ok := im.get(a, "replicas"); ok {
		if n, ok := im.integer(a, "replicas", v); ok {
			im.out.set("store.replicated.replicas", n, a, "<replicatedLevelDB replicas>")
		}
	} else {
		im.out.set("store.replicated.replicas", 3, a, "ActiveMQ's default replicas")
	}
	bind, ok := im.get(a, "bind")
	if !ok {
		bind = "tcp://0.0.0.0:61619" // ActiveMQ's default
	}
	scheme, host, _, _, err := splitURI(bind)
	if err == nil && scheme != "tcp" {
		err = fmt.Errorf("want tcp://host:port")
	}
	if err != nil {
		im.fail(a, "<replicatedLevelDB bind=%q>: %v", bind, err)
	} else {
		im.out.set("store.replicated.bind", bind, a, "<replicatedLevelDB bind>")
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			im.out.set("store.replicated.insecure", true, a, "bind beyond loopback without TLS, as ActiveMQ's")
			im.warn(a, "the replication port %s is open beyond loopback without TLS, as ActiveMQ's was: anyone who can reach it can join the group; add store.replicated.tls (`pier certs` makes the certificates) in a YAML configuration", bind)
		}
	}
	if v, ok := im.get(a, "hostname"); ok {
		im.out.set("store.replicated.hostname", v, a, "<replicatedLevelDB hostname>")
	}
	zk, ok := im.get(a, "zkAddress")
	if !ok {
		zk = "127.0.0.1:2181" // ActiveMQ's default
	}
	for _, hp := range strings.Split(zk, ",") {
		h, _, err := hostPort(strings.TrimSpace(hp))
		if err == nil && h == "" {
			err = fmt.Errorf("no host")
		}
		if err != nil {
			im.fail(a, "<replicatedLevelDB zkAddress=%q>: %s: %v", zk, strings.TrimSpace(hp), err)
			return
		}
	}
	im.out.set("store.replicated.zookeeper.address", zk, a, "<replicatedLevelDB zkAddress>")
	path, ok := im.get(a, "zkPath")
	if !ok {
		path = "/default"
	}
	im.out.set("store.replicated.zookeeper.path", path, a, "<replicatedLevelDB zkPath>")
	if v, ok := im.get(a, "zkPassword"); ok {
		im.out.set("store.replicated.zookeeper.password", v, a, "<replicatedLevelDB zkPassword>")
	}
	if v, ok := im.get(a, "zkSessionTimeout"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			if n, nerr := strconv.Atoi(strings.TrimSpace(v)); nerr == nil {
				d, err = time.Duration(n)*time.Millisecond, nil
			}
		}
		if err != nil {
			im.fail(a, "<replicatedLevelDB zkSessionTimeout=%q>: want a duration such as 2s", v)
		} else {
			im.out.set("store.replicated.zookeeper.session_timeout", d.String(), a, "<replicatedLevelDB zkSessionTimeout>")
		}
	}
	if v, ok := im.get(a, "sync"); ok && v != "quorum_disk" {
		im.warn(a, "<replicatedLevelDB sync=%q>: Pier acknowledges a message once a quorum has it on disk (quorum_disk)", v)
	}
	im.restAttrs(a, map[string]string{
		"securityToken":   "members authenticate with store.replicated.tls in Pier",
		"weight":          "Pier's members are equal candidates in its elections",
		"container":       "",
		"logSize":         "",
		"indexFactory":    "",
		"verifyChecksums": "",
		"paranoidChecks":  "",
		"indexCacheSize":  "",
	})
}
