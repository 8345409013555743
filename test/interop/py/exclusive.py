"""Exclusive consumers (SUBSCRIBE activemq.exclusive:true) on a queue.

A plain subscriber P subscribes first, then exclusive E1 (per-message acks,
activemq.prefetchSize 3), then exclusive E2. Only E1 gets messages, also
while its window is full (P and E2 have room and still get nothing). E1
leaves with 3 messages unacknowledged and 2 more waiting: E2 gets those 5
in order (the 3 marked redelivered), then the next ones. E2 leaves with one
unacknowledged: only now P gets messages, that one first.
"""
import os
import time

from common import ack, args, check, close, connect, done, individual, send, subscribe

port, v = args()
dest = "/queue/interop.exclusive.%s.%d.%d" % (v, os.getpid(), int(time.time() * 1000))
mode = individual(v)

pc, pcol = connect(port, v)
subscribe(pc, pcol, v, dest, ack=mode)
e1, e1c = connect(port, v)
subscribe(e1, e1c, v, dest, ack=mode, headers={"activemq.exclusive": "true", "activemq.prefetchSize": "3"})
e2, e2c = connect(port, v)
subscribe(e2, e2c, v, dest, ack=mode, headers={"activemq.exclusive": "true"})
s, sc = connect(port, v)


def publish(lo, hi):
    for i in range(lo, hi):
        send(s, sc, dest, "m%d" % i)


def expect(col, lo, hi, who, redelivered=(), acker=None):
    """col gets m<lo>..m<hi-1> in order (acker, when given, acknowledges
    each as it comes); returns the frames."""
    out = []
    for i in range(lo, hi):
        f = col.next("m%d at %s" % (i, who))
        check(f.body == "m%d" % i, "%s got %r, want m%d" % (who, f.body, i))
        red = f.headers.get("redelivered") == "true"
        check(red == (i in redelivered), "%s: m%d redelivered header %r, want %s" % (
            who, i, f.headers.get("redelivered"), i in redelivered))
        out.append(f)
        if acker:
            ack(acker, v, f)
    return out


# E1 gets everything and acknowledges it.
publish(0, 5)
expect(e1c, 0, 5, "E1", acker=e1)
# E1 takes 3 and keeps them: its window is full, yet the rest wait for it.
publish(5, 10)
expect(e1c, 5, 8, "E1 (window of 3)")
e1c.none("a 4th unacknowledged message beyond E1's prefetch of 3", wait=1.0)
pcol.none("a message at the plain subscriber while E1 is subscribed", wait=0.1)
e2c.none("a message at the second exclusive subscriber while E1 is subscribed", wait=0.1)

# E1 leaves: E2 gets its 3 (redelivered) and the 2 waiting, in order.
close(e1)
publish(10, 13)
frames = expect(e2c, 5, 13, "E2 after E1 left", redelivered=range(5, 8))
for f in frames[:-1]:
    ack(e2, v, f)
pcol.none("a message at the plain subscriber while E2 is subscribed")

# E2 leaves with m12 unacknowledged: P gets it, then the next.
close(e2)
publish(13, 15)
expect(pcol, 12, 15, "P after both exclusive subscribers left", redelivered=(12,), acker=pc)
pcol.none("a second delivery at P")
for col in (pcol, e1c, e2c, sc):
    col.no_errors()
close(pc)
close(s)
done("exclusive " + v)
