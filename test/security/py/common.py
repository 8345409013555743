"""Shared by the security scripts: a stomp.py connection that records
ERROR and MESSAGE frames and receipts, bounded waits, PASS/FAIL.

Every script takes PORT (and more, see each) on the command line, prints
PASS on success and exits non-zero with a FAIL line otherwise; a watchdog
ends a script that hangs.
"""

import os
import queue
import threading
import time

import stomp

WAIT = 15.0  # one wait for a frame
QUIET = 1.0  # how long "nothing arrives" is watched for

USERS = {}  # name -> password, from the PIER_USERS environment variable
for pair in os.environ.get("PIER_USERS", "").split(","):
    if ":" in pair:
        name, pw = pair.split(":", 1)
        USERS[name] = pw


def fail(msg):
    print("FAIL: " + msg, flush=True)
    os._exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def passed(detail):
    print("PASS " + detail, flush=True)
    os._exit(0)


def watchdog(seconds=90):
    t = threading.Timer(seconds, lambda: fail("watchdog: still running after %ss" % seconds))
    t.daemon = True
    t.start()


class Recorder(stomp.ConnectionListener):
    """Queues MESSAGE and ERROR frames, remembers receipts."""

    def __init__(self):
        self.messages = queue.Queue()
        self.errors = queue.Queue()
        self.receipts = set()
        self.cond = threading.Condition()
        self.connected = threading.Event()
        self.disconnected = threading.Event()

    def on_connected(self, frame):
        self.connected.set()

    def on_disconnected(self):
        self.disconnected.set()

    def on_message(self, frame):
        self.messages.put(frame)

    def on_error(self, frame):
        self.errors.put(frame)
        with self.cond:
            self.cond.notify_all()

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.add(frame.headers.get("receipt-id"))
            self.cond.notify_all()

    def message(self, what):
        try:
            return self.messages.get(timeout=WAIT)
        except queue.Empty:
            fail("no MESSAGE within %ss: %s" % (WAIT, what))

    def no_message(self, what):
        try:
            f = self.messages.get(timeout=QUIET)
        except queue.Empty:
            return
        fail("unexpected MESSAGE (%s): %r %r" % (what, f.headers, f.body))

    def error(self, what):
        try:
            return self.errors.get(timeout=WAIT)
        except queue.Empty:
            fail("no ERROR within %ss: %s" % (WAIT, what))

    def no_error(self, what):
        if not self.errors.empty():
            e = self.errors.get()
            fail("unexpected ERROR (%s): %r %r" % (what, e.headers, e.body))

    def receipt(self, rid, what):
        end = time.monotonic() + WAIT
        with self.cond:
            while rid not in self.receipts:
                left = end - time.monotonic()
                if left <= 0:
                    fail("no RECEIPT %s within %ss: %s" % (rid, WAIT, what))
                self.cond.wait(left)


def connection(port, ssl_ca=None):
    """A stomp.py 1.2 connection to 127.0.0.1:port (TLS with ssl_ca)."""
    conn = stomp.Connection12(host_and_ports=[("127.0.0.1", port)], reconnect_attempts_max=1, heartbeats=(0, 0))
    if ssl_ca:
        conn.set_ssl(for_hosts=[("127.0.0.1", port)], ca_certs=ssl_ca)
    rec = Recorder()
    conn.set_listener("recorder", rec)
    return conn, rec


def login(port, user, password=None, ssl_ca=None):
    """Connects and logs in (password: the user's from PIER_USERS);
    returns (conn, recorder) or fails."""
    if password is None and user is not None:
        password = USERS[user]
    conn, rec = connection(port, ssl_ca)
    try:
        conn.connect(username=user, passcode=password, wait=True)
    except stomp.exception.ConnectFailedException:
        errs = []
        while not rec.errors.empty():
            e = rec.errors.get()
            errs.append((e.headers, e.body))
        fail("login as %s refused: %r" % (user, errs))
    check(conn.is_connected(), "not connected as %s" % user)
    return conn, rec


def refused_login(port, user, password, ssl_ca=None):
    """Tries to log in and returns the ERROR frame the broker refused with."""
    conn, rec = connection(port, ssl_ca)
    try:
        conn.connect(username=user, passcode=password, wait=True)
    except stomp.exception.ConnectFailedException:
        pass
    else:
        fail("login as %r with password %r was accepted" % (user, password))
    return rec.error("the refusal of %r" % user)


_n = iter(range(1, 1 << 30))


def rid():
    return "r-%d" % next(_n)


def send(conn, rec, dest, body, **headers):
    """SEND with a receipt, waited for."""
    r = rid()
    conn.send(dest, body, headers=dict(headers, receipt=r))
    rec.receipt(r, "SEND to %s" % dest)


def subscribe(conn, rec, dest):
    """SUBSCRIBE with a receipt, waited for; returns the id."""
    sid, r = rid(), rid()
    conn.subscribe(dest, sid, ack="auto", headers={"receipt": r})
    rec.receipt(r, "SUBSCRIBE to %s" % dest)
    return sid


def close(conn):
    t = threading.Thread(target=conn.disconnect, daemon=True)
    t.start()
    t.join(WAIT)
