"""Message groups under a stream: two subscribers with activemq.prefetchSize 1
acknowledge each message as it arrives (in stomp.py's receiver thread)
while a producer streams two groups, 500 non-persistent messages each (the
STOMP default), interleaved, without waiting for receipts but the last.
Each group stays at one subscriber, in JMSXGroupSeq order, nothing lost or
doubled.

Here a subscriber's window is full most of the time, so the broker keeps
passing over a group's next message while it looks through what waits, and
must not hand the group a later one first when the window opens meanwhile.
"""
import os
import threading
import time

from common import TIMEOUT, ack, args, check, close, connect, done, fail, individual, send, subscribe

N = 500
GROUPS = ("A", "B")

port, v = args()
dest = "/queue/interop.groupstream.%s.%d.%d" % (v, os.getpid(), int(time.time() * 1000))


class Sub:
    def __init__(self, name):
        self.name = name
        self.got = []  # (group, seq) in arrival order
        self.lock = threading.Lock()
        self.conn, self.col = connect(port, v, on_message=self.take)
        subscribe(self.conn, self.col, v, dest, ack=individual(v), headers={"activemq.prefetchSize": "1"})

    def take(self, f):
        with self.lock:
            self.got.append((f.headers.get("JMSXGroupID"), int(f.headers.get("JMSXGroupSeq", "0"))))
        ack(self.conn, v, f)

    def count(self):
        with self.lock:
            return len(self.got)


subs = [Sub("s0"), Sub("s1")]
p, pc = connect(port, v)
for seq in range(1, N + 1):
    for g in GROUPS:
        h = {"persistent": "false", "JMSXGroupID": g, "JMSXGroupSeq": str(seq)}
        if seq == N and g == GROUPS[-1]:
            send(p, pc, dest, "%s/%d" % (g, seq), headers=h)  # its receipt: every send is in
        else:
            p.send(dest, "%s/%d" % (g, seq), headers=h)
end = time.monotonic() + TIMEOUT * 3
while sum(s.count() for s in subs) < 2 * N:
    if time.monotonic() > end:
        fail("%d of %d messages after %ss" % (sum(s.count() for s in subs), 2 * N, TIMEOUT * 3))
    time.sleep(0.05)
time.sleep(0.5)  # anything doubled arrives meanwhile
for g in GROUPS:
    at = [s for s in subs if any(gg == g for gg, _ in s.got)]
    check(len(at) == 1, "group %s went to %r" % (g, [s.name for s in at]))
    got = [n for gg, n in at[0].got if gg == g]
    if got != list(range(1, N + 1)):
        i = next((i for i in range(1, len(got)) if got[i] <= got[i - 1]), len(got))
        fail("group %s at %s: %d messages, out of order or doubled near position %d: ...%r..." % (
            g, at[0].name, len(got), i, got[max(0, i - 4):i + 4]))
for s in subs:
    s.col.no_errors()
    close(s.conn)
pc.no_errors()
close(p)
done("groups_stream " + v)
