"""Helpers shared by the interop scripts: stomp.py connections by STOMP
version, a listener that queues frames, bounded waits, raw sockets.

Every script takes PORT [VERSION] on the command line, prints PASS on
success and exits non-zero with a FAIL line on stderr otherwise. Every wait
is bounded; a watchdog ends the whole script after WATCHDOG seconds.
"""

import os
import queue
import socket
import sys
import threading
import time

import stomp

TIMEOUT = 20.0  # one wait for a frame; generous for a loaded machine
QUIET = 1.5  # how long "nothing arrives" is watched for
WATCHDOG = 120.0

CLASSES = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    os._exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def _watchdog():
    fail("watchdog: script still running after %ss" % WATCHDOG)


def args():
    """Returns (port, version) from argv and starts the watchdog."""
    t = threading.Timer(WATCHDOG, _watchdog)
    t.daemon = True
    t.start()
    if len(sys.argv) < 2:
        fail("usage: %s PORT [VERSION]" % sys.argv[0])
    port = int(sys.argv[1])
    version = sys.argv[2] if len(sys.argv) > 2 else "1.2"
    check(version in CLASSES, "unknown version %r" % version)
    return port, version


def done(name):
    print("PASS " + name, flush=True)
    os._exit(0)


class Collector(stomp.ConnectionListener):
    """Queues MESSAGE and ERROR frames and records RECEIPTs."""

    def __init__(self, on_message=None):
        self.messages = queue.Queue()
        self.errors = queue.Queue()
        self.receipts = set()
        self.cond = threading.Condition()
        self.disconnected = threading.Event()
        self.heartbeats = 0
        self.hook = on_message

    def on_message(self, frame):
        if self.hook:
            self.hook(frame)
        self.messages.put(frame)

    def on_error(self, frame):
        self.errors.put(frame)

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.add(frame.headers.get("receipt-id"))
            self.cond.notify_all()

    def on_heartbeat(self):
        self.heartbeats += 1

    def on_disconnected(self):
        self.disconnected.set()

    def next(self, what, timeout=TIMEOUT):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            fail("timed out after %ss waiting for %s" % (timeout, what))

    def none(self, what, wait=QUIET):
        try:
            f = self.messages.get(timeout=wait)
        except queue.Empty:
            return
        fail("unexpected message (%s): headers=%r body=%r" % (what, f.headers, f.body))

    def receipt(self, rid, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        with self.cond:
            while rid not in self.receipts:
                left = end - time.monotonic()
                if left <= 0:
                    errs = []
                    while not self.errors.empty():
                        e = self.errors.get()
                        errs.append((e.headers, e.body))
                    fail("no RECEIPT %r after %ss (errors: %r)" % (rid, timeout, errs))
                self.cond.wait(left)

    def no_errors(self):
        if not self.errors.empty():
            e = self.errors.get()
            fail("unexpected ERROR: headers=%r body=%r" % (e.headers, e.body))


def connect(port, version, client_id=None, heartbeats=(0, 0), auto_decode=True, on_message=None):
    """Connects with stomp.py's class for version; returns (conn, collector)."""
    kw = dict(host_and_ports=[("127.0.0.1", port)], auto_decode=auto_decode, reconnect_attempts_max=1)
    if version != "1.0":
        kw["heartbeats"] = heartbeats
    conn = CLASSES[version](**kw)
    col = Collector(on_message)
    conn.set_listener("collector", col)
    headers = {"client-id": client_id} if client_id else {}
    conn.connect(wait=False, headers=headers)
    conn.transport.wait_for_connection(timeout=TIMEOUT)
    check(conn.is_connected(), "stomp.py %s: not connected after %ss" % (version, TIMEOUT))
    return conn, col


_ids = iter(range(1, 1 << 30))


def rid(prefix="r"):
    return "%s-%d" % (prefix, next(_ids))


def subscribe(conn, col, version, dest, ack="auto", headers=None, sub_id=None):
    """Subscribes and waits for the RECEIPT; returns the subscription id."""
    sub_id = sub_id or rid("sub")
    r = rid()
    h = dict(headers or {})
    h["receipt"] = r
    if version == "1.0":
        conn.subscribe(dest, id=sub_id, ack=ack, headers=h)
    else:
        conn.subscribe(dest, sub_id, ack=ack, headers=h)
    col.receipt(r)
    return sub_id


def send(conn, col, dest, body, headers=None, **kw):
    """Sends a persistent message and waits for its RECEIPT."""
    h = {"persistent": "true"}
    h.update(headers or {})
    r = rid()
    h["receipt"] = r
    conn.send(dest, body, headers=h, **kw)
    col.receipt(r)


def ack(conn, version, frame, transaction=None, receipt=None, nack=False):
    """ACKs (or NACKs) frame the way each version names it."""
    h = frame.headers
    fn = conn.nack if nack else conn.ack
    if version == "1.2":
        fn(h["ack"], transaction=transaction, receipt=receipt)
    elif version == "1.1":
        fn(h["message-id"], h["subscription"], transaction=transaction, receipt=receipt)
    else:
        check(not nack, "no NACK in 1.0")
        fn(h["message-id"], transaction=transaction, receipt=receipt)


def close(conn):
    """DISCONNECT with a bounded wait."""
    t = threading.Thread(target=conn.disconnect, daemon=True)
    t.start()
    t.join(TIMEOUT)
    check(not t.is_alive(), "DISCONNECT did not finish within %ss" % TIMEOUT)


def individual(version):
    """The per-message ack mode of version (1.0 only has client)."""
    return "client" if version == "1.0" else "client-individual"


def raw_socket(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def read_until_closed(s, timeout=TIMEOUT):
    """Reads until the peer closes; returns (data, closed)."""
    s.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def raw_connect(port, version="1.2", heart_beat="0,0"):
    """Opens a socket, sends CONNECT and reads CONNECTED."""
    s = raw_socket(port)
    s.sendall(("CONNECT\naccept-version:%s\nhost:localhost\nheart-beat:%s\n\n\x00" % (version, heart_beat)).encode())
    data = b""
    while b"\x00" not in data:
        chunk = s.recv(4096)
        check(chunk, "raw CONNECT: socket closed, got %r" % data)
        data += chunk
    check(data.lstrip(b"\r\n").startswith(b"CONNECTED"), "raw CONNECT: got %r" % data)
    return s
