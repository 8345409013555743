// Package sqltest gives tests private database servers: a PostgreSQL 15 and a
// MariaDB started from the Debian packages (postgresql, mariadb-server) in
// temporary directories, listening on 127.0.0.1 on free ports, with trust
// (PostgreSQL) or password-less root (MariaDB) authentication. Each server is
// started at most once per Servers (one per test binary, shared by every
// test) and stopped and deleted by Close. The system instances and services
// of those packages are never touched.
//
// A missing binary fails the test with the name of the Debian package to
// install: these tests are not optional, CI installs the packages.
//
// Typical use, in a test package:
//
//	var dbs = sqltest.New()
//
//	func TestMain(m *testing.M) { code := m.Run(); dbs.Close(); os.Exit(code) }
//
//	func TestX(t *testing.T) { dsn := dbs.Postgres(t) ... }
package sqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Binaries the servers are started from, and the Debian packages that hold them.
const (
	pgBin          = "/usr/lib/postgresql/15/bin"
	pgPackage      = "postgresql (version 15)"
	mariadbd       = "/usr/sbin/mariadbd"
	mariadbInstall = "/usr/bin/mariadb-install-db"
	mariaPackage   = "mariadb-server"
	startTimeout   = 60 * time.Second
)

// Servers starts the private servers on first use. Its methods are safe for
// concurrent use.
type Servers struct {
	pg, maria lazy
	mu        sync.Mutex
	next      int // numbers the databases handed out
}

// lazy is a server started at most once.
type lazy struct {
	once sync.Once
	srv  *server
	err  error
}

func (l *lazy) get(start func() (*server, error)) (*server, error) {
	l.once.Do(func() { l.srv, l.err = start() })
	if l.srv == nil && l.err == nil {
		return nil, errors.New("servers closed")
	}
	return l.srv, l.err
}

// New returns Servers with nothing started yet.
func New() *Servers { return &Servers{} }

// Postgres returns the DSN (a postgres:// URL) of a new, empty schema of the
// private PostgreSQL, set as the connection's search_path, so every call
// gets a store location of its own.
func (s *Servers) Postgres(t testing.TB) string {
	t.Helper()
	srv, err := s.pg.get(startPostgres)
	if err != nil {
		t.Fatalf("sqldb: PostgreSQL: %v", err)
	}
	name := s.name()
	if err := srv.exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("sqldb: PostgreSQL: %v", err)
	}
	return srv.dsn + "&search_path=" + name
}

// MariaDB returns the DSN (go-sql-driver/mysql syntax) of a new, empty
// database of the private MariaDB.
func (s *Servers) MariaDB(t testing.TB) string {
	t.Helper()
	srv, err := s.maria.get(startMariaDB)
	if err != nil {
		t.Fatalf("sqldb: MariaDB: %v", err)
	}
	name := s.name()
	if err := srv.exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("sqldb: MariaDB: %v", err)
	}
	return strings.Replace(srv.dsn, "/?", "/"+name+"?", 1)
}

// RestartPostgres stops the private PostgreSQL — a fast shutdown, or with
// crash a SIGKILL of all its processes — waits down, and starts it again
// on the same port and data. Pools reconnect; what was committed stays.
func (s *Servers) RestartPostgres(t testing.TB, down time.Duration, crash bool) {
	t.Helper()
	s.restart(t, &s.pg, startPostgres, down, crash)
}

// RestartMariaDB is RestartPostgres for the private MariaDB.
func (s *Servers) RestartMariaDB(t testing.TB, down time.Duration, crash bool) {
	t.Helper()
	s.restart(t, &s.maria, startMariaDB, down, crash)
}

func (s *Servers) restart(t testing.TB, l *lazy, start func() (*server, error), down time.Duration, crash bool) {
	t.Helper()
	srv, err := l.get(start)
	if err == nil {
		err = srv.restart(down, crash)
	}
	if err != nil {
		t.Fatalf("sqltest: restart: %v", err)
	}
}

// name returns a new database (schema) name, unique in this process and
// across test binaries running at once.
func (s *Servers) name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return fmt.Sprintf("t%d_%d", os.Getpid(), s.next)
}

// Close stops the servers that were started and deletes their files.
func (s *Servers) Close() {
	for _, l := range []*lazy{&s.pg, &s.maria} {
		l.once.Do(func() {}) // nothing starts after Close
		if l.srv != nil {
			l.srv.stop()
		}
	}
}

// server is one running private server.
type server struct {
	dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
	admin   *sql.DB // connected to the server's default database
	dsn     string  // without a database (MariaDB) or schema (PostgreSQL)
	stopSig syscall.Signal
	log     string // the server's output
}

func (srv *server) exec(q string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.admin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

// stop shuts the server down (fast), kills it if it lingers, and removes
// its directory.
func (srv *server) stop() {
	if srv.admin != nil {
		srv.admin.Close()
	}
	srv.halt(false)
	os.RemoveAll(srv.dir)
}

// lookupAccount returns the credentials to run a server as: the named system
// user when we are root (neither server runs as root), nil otherwise.
func lookupAccount(name string) (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, -1, -1, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("running as root, need the system user %q: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

// tempDir makes a directory owned by uid:gid (when they are >= 0).
func tempDir(prefix string, uid, gid int) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func need(path, pkg string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s not found: install the Debian package %s", path, pkg)
	}
	return nil
}

// command prepares a server command run as cred, killed if we die.
func command(cred *syscall.Credential, dir, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd
}

// run runs a setup command, returning its output with any error.
func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

// launch starts a server process and waits until db answers a ping; on
// failure it stops the process and removes the server's directory.
func launch(srv *server, db *sql.DB) error {
	if err := srv.start(); err != nil {
		os.RemoveAll(srv.dir)
		return err
	}
	srv.admin = db
	if err := srv.ready(); err != nil {
		srv.stop()
		return err
	}
	return nil
}

// start starts srv.cmd, appending its output to srv.log.
func (srv *server) start() error {
	logf, err := os.OpenFile(srv.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	srv.cmd.Stdout, srv.cmd.Stderr = logf, logf
	if err := srv.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	srv.exited = exited
	cmd := srv.cmd
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	return nil
}

// ready waits until the server answers a ping.
func (srv *server) ready() error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := srv.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-srv.exited:
			err = fmt.Errorf("%s exited", srv.cmd.Path)
		case <-time.After(50 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
		}
		log, _ := os.ReadFile(srv.log)
		return fmt.Errorf("server did not start: %v\n%s", err, log)
	}
}

// halt stops the server process: with its own shutdown signal, or, for a
// crash, SIGKILL to its whole process group (PostgreSQL's backends too).
func (srv *server) halt(crash bool) {
	if crash {
		_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
	} else {
		_ = srv.cmd.Process.Signal(srv.stopSig)
	}
	select {
	case <-srv.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
		<-srv.exited
	}
}

// restart halts the server, waits down, and starts it again on the same
// port and data.
func (srv *server) restart(down time.Duration, crash bool) error {
	srv.halt(crash)
	time.Sleep(down)
	// After a crash PostgreSQL's backends (each in a session of its own,
	// out of the killed process group) outlive their postmaster until they
	// notice, holding its shared memory: a start before they are gone
	// exits with "pre-existing shared memory block ... is still in use".
	// Start again until they are.
	for deadline := time.Now().Add(15 * time.Second); ; {
		old := srv.cmd
		srv.cmd = exec.Command(old.Path, old.Args[1:]...)
		srv.cmd.Dir, srv.cmd.SysProcAttr = old.Dir, old.SysProcAttr
		if err := srv.start(); err != nil {
			return err
		}
		err := srv.ready()
		if err == nil || !crash || !strings.Contains(err.Error(), "is still in use") || time.Now().After(deadline) {
			return err
		}
		<-srv.exited
		time.Sleep(100 * time.Millisecond)
	}
}

// prepare checks that the binaries are there, makes a temporary directory
// owned by the account the server runs as, initialises its data directory
// (dir/data) with initCmd, and picks a free port.
func prepare(pkg, account string, bins []string, initCmd func(cred *syscall.Credential, dir, data string) *exec.Cmd) (cred *syscall.Credential, dir, data string, port int, err error) {
	for _, b := range bins {
		if err := need(b, pkg); err != nil {
			return nil, "", "", 0, err
		}
	}
	cred, uid, gid, err := lookupAccount(account)
	if err != nil {
		return nil, "", "", 0, err
	}
	dir, err = tempDir("pier-"+account+"-", uid, gid)
	if err != nil {
		return nil, "", "", 0, err
	}
	data = filepath.Join(dir, "data")
	if err = run(initCmd(cred, dir, data)); err == nil {
		port, err = freePort()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", "", 0, err
	}
	return cred, dir, data, port, nil
}

func startPostgres() (*server, error) {
	cred, dir, data, port, err := prepare(pgPackage, "postgres",
		[]string{filepath.Join(pgBin, "initdb"), filepath.Join(pgBin, "postgres")},
		func(cred *syscall.Credential, dir, data string) *exec.Cmd {
			return command(cred, dir, filepath.Join(pgBin, "initdb"), "-D", data, "-U", "postgres",
				"--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
		})
	if err != nil {
		return nil, err
	}
	srv := &server{dir: dir, log: filepath.Join(dir, "log"), stopSig: syscall.SIGINT, // fast shutdown
		cmd: command(cred, dir, filepath.Join(pgBin, "postgres"), "-D", data, "-k", dir,
			"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-c", "max_connections=200")}
	srv.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	cfg, err := pgx.ParseConfig(srv.dsn)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := launch(srv, stdlib.OpenDB(*cfg)); err != nil {
		return nil, err
	}
	return srv, nil
}

func startMariaDB() (*server, error) {
	cred, dir, data, port, err := prepare(mariaPackage, "mysql", []string{mariadbd, mariadbInstall},
		func(cred *syscall.Credential, dir, data string) *exec.Cmd {
			return command(cred, dir, mariadbInstall, "--no-defaults", "--datadir="+data,
				"--auth-root-authentication-method=normal", "--skip-test-db")
		})
	if err != nil {
		return nil, err
	}
	srv := &server{dir: dir, log: filepath.Join(dir, "log"), stopSig: syscall.SIGTERM,
		cmd: command(cred, dir, mariadbd, "--no-defaults", "--datadir="+data,
			"--socket="+filepath.Join(dir, "sock"), "--pid-file="+filepath.Join(dir, "pid"),
			"--port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--skip-name-resolve",
			"--max-connections=200")}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", fmt.Sprintf("127.0.0.1:%d", port)
	srv.dsn = cfg.FormatDSN()
	if !strings.Contains(srv.dsn, "/?") {
		srv.dsn = strings.TrimSuffix(srv.dsn, "/") + "/?"
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := launch(srv, sql.OpenDB(conn)); err != nil {
		return nil, err
	}
	return srv, nil
}
