//go:build crossprocess

package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/piermq/pier/test/internal/piertest"
)

// jdbcAdapter is the seed's second set-up, as it writes it, with a lock
// renewed every second (ActiveMQ's lockKeepAlivePeriod, ms) so that a
// takeover does not wait for the default lease.
const jdbcAdapter = `<jdbcPersistenceAdapter dataDirectory="${activemq.data}" dataSource="#mysql-ds" createTablesOnStartup="false" lockKeepAlivePeriod="1000"/>`

// mysqlBean is the seed's commons-dbcp data source on the given database.
func mysqlBean(addr, db, user, password string) string {
	return fmt.Sprintf(`
    <bean id="mysql-ds" class="org.apache.commons.dbcp.BasicDataSource" destroy-method="close">
        <property name="driverClassName" value="com.mysql.jdbc.Driver"/>
        <property name="url" value="jdbc:mysql://%s/%s?relaxAutoCommit=true"/>
        <property name="username" value="%s"/>
        <property name="password" value="%s"/>
        <property name="maxActive" value="20"/>
        <property name="poolPreparedStatements" value="true"/>
    </bean>
`, addr, db, user, password)
}

// dbUser is the data source's account, with a password as the seed's has.
const dbUser, dbPassword = "smq", "root"

// TestJDBCMySQLKillMaster: the seed's second set-up, two members over one
// MariaDB database through a jdbcPersistenceAdapter and a commons-dbcp
// BasicDataSource bean (jdbc:mysql:// URL, username and password), started
// from their activemq.xml; the JMS client's failover producer and consumer
// across a kill -9 of the master: the other member takes the lease over
// and every acknowledged send is received.
func TestJDBCMySQLKillMaster(t *testing.T) {
	t.Parallel()
	dsn := sqlServers.MariaDB(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	grant(t, dsn, cfg.DBName)
	b := broker{name: "DobboEdu", adapter: jdbcAdapter, beans: mysqlBean(cfg.Addr, cfg.DBName, dbUser, dbPassword)}
	var g group
	for i, c := range []console{consoleFlag, consoleJetty} {
		b.openwire = piertest.FreeAddr(t)
		g = append(g, newMember(t, fmt.Sprintf("DobboEdu-%c", 'a'+i), b, c, t.TempDir()))
	}
	g[0].start(t)
	if m := g.master(t, electTimeout); m != g[0] {
		t.Fatalf("%s serves, want %s, the first started", m.id, g[0].id)
	}
	g[1].start(t)
	killMasterUnderLoad(t, g, "migrate.jdbc", 1, nil)
}

// grant makes the data source's account, with its password, owner of
// database db (the private server's root has no password).
func grant(t *testing.T, dsn, db string) {
	t.Helper()
	conn, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range []string{
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", dbUser, dbPassword),
		fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%%'", db, dbUser),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
