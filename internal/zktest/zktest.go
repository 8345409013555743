// Package zktest gives tests private ZooKeeper servers: the standalone
// server of Debian's zookeeper package (ZooKeeper 3.8, run by java from
// /usr/share/java/zookeeper.jar, whose manifest names its dependencies),
// each with a temporary directory of its own (configuration, data, log) and
// listening on a free port of 127.0.0.1. A test can stop a server (SIGKILL:
// what it wrote stays), start it again on the same port and data, or wipe
// its data first (a new ensemble: every session and znode gone). The
// system service of the package is never touched.
//
// A missing package fails the test with the name of the Debian package to
// install: these tests are not optional, CI installs it (scripts/test.sh).
//
//	zk := zktest.Start(t) // stopped and deleted when the test ends
//	... zk.Addr ...
package zktest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// What the server is run from, and the Debian packages that hold it.
const (
	Jar          = "/usr/share/java/zookeeper.jar"
	Package      = "zookeeper"
	javaBin      = "/usr/bin/java"
	javaPackage  = "default-jre-headless (or openjdk-17-jre-headless)"
	logger       = "/usr/share/java/slf4j-simple.jar"
	startTimeout = 60 * time.Second
	// TickTime is the server's tick: sessions may last from 2 to 240
	// ticks (0.5 s to 60 s).
	TickTime = 250 * time.Millisecond
)

// Server is one private ZooKeeper server. Its methods are safe for
// concurrent use.
type Server struct {
	// Addr is host:port of its client port, the same across restarts.
	Addr string
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts a server for t and stops and deletes it when t ends; the
// test fails if it cannot start.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("zktest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server; Close stops and deletes it.
func New() (*Server, error) {
	for _, f := range []struct{ path, pkg string }{{Jar, Package}, {javaBin, javaPackage}} {
		if _, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("%s not found: install the Debian package %s", f.path, f.pkg)
		}
	}
	dir, err := os.MkdirTemp("", "pier-zookeeper-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir}
	cfg := strings.Join([]string{
		"tickTime=" + strconv.Itoa(int(TickTime/time.Millisecond)),
		"minSessionTimeout=" + strconv.Itoa(int(2*TickTime/time.Millisecond)),
		"maxSessionTimeout=" + strconv.Itoa(int(240*TickTime/time.Millisecond)),
		"dataDir=" + filepath.Join(dir, "data"),
		"clientPort=" + strconv.Itoa(port),
		"clientPortAddress=127.0.0.1",
		"maxClientCnxns=0",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr",
		"forceSync=no", // a test's data need not survive a machine crash
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Restart(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Restart starts the stopped server again, on the same port and data, and
// waits until it serves.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("zktest: server %s is running", s.Addr)
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(javaBin, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.admin.enableServer=false", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-cp", Jar+":"+logger, "org.apache.zookeeper.server.ZooKeeperServerMain", filepath.Join(s.dir, "zoo.cfg"))
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("zktest: start %s: %w", javaBin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := s.ready(); err != nil {
		s.killLocked()
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("zktest: server did not start: %v\n%s", err, log)
	}
	return nil
}

// ready waits until the server answers srvr as serving.
func (s *Server) ready() error {
	deadline := time.Now().Add(startTimeout)
	for {
		out, err := srvr(s.Addr)
		if err == nil && strings.Contains(out, "Mode:") {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited", javaBin)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving after %s (%v %q)", startTimeout, err, out)
		}
	}
}

// srvr asks a server the four-letter word srvr.
func srvr(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return "", err
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String(), nil
		}
	}
}

// Stop kills the server (SIGKILL) and waits until it is gone; what it
// wrote stays for Restart. It does nothing if the server is stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// Wipe deletes the data of the stopped server: started again, it is a new
// ensemble, without sessions or znodes.
func (s *Server) Wipe() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("zktest: wipe of the running server %s", s.Addr)
	}
	return os.RemoveAll(filepath.Join(s.dir, "data"))
}

// Close stops the server and deletes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// freePort returns a free port of 127.0.0.1 below the kernel's ephemeral
// range, so that no client's outgoing connection takes it while the server
// is stopped.
func freePort() (int, error) {
	for range 1000 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("zktest: no free port")
}
