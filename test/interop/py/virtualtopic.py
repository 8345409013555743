"""Virtual topics (ActiveMQ's default names): SEND to /topic/VirtualTopic.X.

Two subscribers of /queue/Consumer.A.VirtualTopic.X share group A's copies
(each message to exactly one of them, both get some, each in send order),
one of /queue/Consumer.B.VirtualTopic.X gets every message once in order, and
a subscriber of the topic itself every message once in order. A consumer
queue's copy has destination /queue/Consumer.<group>.VirtualTopic.X and the
topic as original-destination; the topic subscriber's copy has the topic as
destination. B's subscriber acknowledges everything and leaves; what is
published meanwhile waits on B's queue and the next subscriber of it gets
exactly that, in order.
"""
import os
import time

from common import ack, args, check, close, connect, done, fail, individual, send, subscribe, TIMEOUT

port, v = args()
name = "VirtualTopic.interop%s.%d.%d" % (v.replace(".", ""), os.getpid(), int(time.time() * 1000))
topic = "/topic/" + name
qa = "/queue/Consumer.A." + name
qb = "/queue/Consumer.B." + name
mode = individual(v)


def subscriber(dest):
    c, col = connect(port, v)
    subscribe(c, col, v, dest, ack=mode)
    return c, col


def take(c, col, n, who, dest, queue_copy=True):
    """n messages at col, each acknowledged; checks their addresses and
    returns their bodies in arrival order."""
    out = []
    for i in range(n):
        f = col.next("message %d of %d at %s" % (i + 1, n, who))
        check(f.headers.get("destination") == dest, "%s: destination %r, want %r (headers %r)" % (
            who, f.headers.get("destination"), dest, f.headers))
        if queue_copy:
            check(f.headers.get("original-destination") == topic, "%s: original-destination %r, want %r" % (
                who, f.headers.get("original-destination"), topic))
        ack(c, v, f)
        out.append(f.body)
    return out


def take_shared(subs, n, who, dest):
    """n messages between the (conn, col) pairs of subs; returns each one's bodies."""
    got = [[] for _ in subs]
    end = time.monotonic() + TIMEOUT
    while sum(len(g) for g in got) < n:
        if time.monotonic() > end:
            fail("%s: %d of %d messages after %ss: %r" % (who, sum(len(g) for g in got), n, TIMEOUT, got))
        for k, (c, col) in enumerate(subs):
            if not col.messages.empty():
                got[k] += take(c, col, 1, "%s #%d" % (who, k + 1), dest)
        time.sleep(0.005)
    return got


def index(body):
    return int(body[1:])


a1, a2, b, t = subscriber(qa), subscriber(qa), subscriber(qb), subscriber(topic)
s, sc = connect(port, v)
for i in range(10):
    send(s, sc, topic, "m%d" % i)
want = ["m%d" % i for i in range(10)]

ga = take_shared([a1, a2], 10, "group A", qa)
check(sorted(ga[0] + ga[1], key=index) == want, "group A got %r, want each of %r once" % (ga, want))
for k, g in enumerate(ga):
    check(g, "A #%d got none of %r: not load-balanced" % (k + 1, want))
    check(g == sorted(g, key=index), "A #%d out of order: %r" % (k + 1, g))
gb = take(*b, 10, "group B", qb)
check(gb == want, "group B got %r, want %r" % (gb, want))
gt = take(*t, 10, "topic subscriber", topic, queue_copy=False)
check(gt == want, "topic subscriber got %r, want %r" % (gt, want))
for c, col in (a1, a2, b, t):
    col.none("an 11th message", wait=0.5)
print("group A split %d/%d" % (len(ga[0]), len(ga[1])))

# B leaves; what is published meanwhile waits on its queue.
close(b[0])
for i in range(10, 15):
    send(s, sc, topic, "m%d" % i)
want = ["m%d" % i for i in range(10, 15)]
ga = take_shared([a1, a2], 5, "group A, B away", qa)
check(sorted(ga[0] + ga[1], key=index) == want, "group A got %r while B was away, want %r" % (ga, want))
gt = take(*t, 5, "topic subscriber, B away", topic, queue_copy=False)
check(gt == want, "topic subscriber got %r while B was away, want %r" % (gt, want))
b2 = subscriber(qb)
gb = take(*b2, 5, "B's next subscriber", qb)
check(gb == want, "B's next subscriber got %r, want %r" % (gb, want))
for c, col in (a1, a2, b2, t):
    col.none("a message after the last", wait=0.5)
    col.no_errors()
    close(c)
sc.no_errors()
close(s)
done("virtualtopic " + v)
