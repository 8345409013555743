package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// zookeeper checks a replicated group found through ZooKeeper
// (store.replicated.zookeeper): the ensemble, the path, the group's size,
// and the keys that go with it or against it.
func (k *checker) zookeeper(r *Replicated, peers bool) {
	const p = "store.replicated."
	z := r.ZooKeeper
	if peers {
		k.add(ErrInvalid, p+"peers", "not allowed with store.replicated.zookeeper: the members find each other through ZooKeeper (remove peers, or zookeeper to list the members yourself)")
	}
	servers := z.Servers()
	if len(servers) == 0 {
		k.add(ErrInvalid, p+"zookeeper.address", "%q names no server (want host:port,host:port)", z.Address)
	}
	for _, s := range servers {
		if err := zkServer(s); err != nil {
			k.add(ErrInvalid, p+"zookeeper.address", "%q: %v", s, err)
		}
	}
	if err := znodePath(z.Path); err != nil {
		k.add(ErrInvalid, p+"zookeeper.path", "%q: %v", z.Path, err)
	}
	if t := z.SessionTimeout; t < 100*time.Millisecond || t > 10*time.Minute {
		k.add(ErrInvalid, p+"zookeeper.session_timeout", "%s: want 100ms to 10m", t)
	}
	if r.Replicas < 1 {
		k.add(ErrInvalid, p+"replicas", "%d: the group needs at least 1 member", r.Replicas)
	}
	if r.Bind == "" {
		k.add(ErrMissing, p+"bind", "required with store.replicated.zookeeper (tcp://host:port): the replication port this member registers")
	} else if _, hp, err := listenAddr(r.Bind); err == nil {
		if _, port, _ := net.SplitHostPort(hp); port == "0" {
			k.add(ErrInvalid, p+"bind", "%q: a fixed port is required with store.replicated.zookeeper (the other members dial it)", r.Bind)
		}
	}
	if h := r.Hostname; h != "" && !isHost(h) {
		k.add(ErrInvalid, p+"hostname", "%q is not a host name or IP address", h)
	}
	if strings.ContainsAny(r.NodeID, " \t\n/") {
		k.add(ErrInvalid, p+"node_id", "%q: no spaces or slashes", r.NodeID)
	}
}

// zkServer checks one member of a ZooKeeper ensemble, host:port.
func zkServer(s string) error {
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil:
		return errors.New("not host:port")
	case host == "":
		return errors.New("a host is required")
	case strings.Contains(port, "/"):
		return errors.New("a chroot suffix (/path) is not supported: use store.replicated.zookeeper.path")
	}
	if err := CheckPort(port); err != nil {
		return err
	}
	if port == "0" {
		return errors.New("port 0: a server's port is required")
	}
	return nil
}

// znodePath checks a ZooKeeper path: absolute, no empty, "." or ".."
// component, not the root nor ZooKeeper's own /zookeeper.
func znodePath(p string) error {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return errors.New("want an absolute znode path such as /activemq/leveldb-stores (not /)")
	}
	parts := strings.Split(p[1:], "/")
	for _, c := range parts {
		switch c {
		case "":
			return errors.New("empty component (a double or trailing /)")
		case ".", "..":
			return fmt.Errorf("%q components are not allowed", c)
		}
	}
	if parts[0] == "zookeeper" {
		return errors.New("/zookeeper is reserved by ZooKeeper")
	}
	return nil
}
