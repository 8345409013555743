"""Queues: send/receive in order, competing consumers with prefetch 1."""
import threading
import time

from common import ack, args, check, close, connect, done, individual, send, subscribe

port, v = args()
dest = "/queue/interop.q." + v

# Send and receive in order.
p, pc = connect(port, v)
for i in range(10):
    send(p, pc, dest, "m%d" % i)
c, cc = connect(port, v)
subscribe(c, cc, v, dest)
for i in range(10):
    f = cc.next("message %d on %s" % (i, dest))
    check(f.body == "m%d" % i, "got %r, want m%d" % (f.body, i))
    check(f.headers.get("destination") == dest, "destination header %r" % f.headers.get("destination"))
    check(f.headers.get("message-id"), "no message-id")
cc.none("queue should be empty")
close(c)

# Competing consumers: two consumers with activemq.prefetchSize:1 share the queue.
dest = "/queue/interop.compete." + v
consumers = []
for name in ("a", "b"):
    conn, col = connect(port, v)
    lock = threading.Lock()

    def hook(frame, conn=conn):
        time.sleep(0.05)  # hold the one prefetched message a little
        ack(conn, v, frame)

    col.hook = hook
    subscribe(conn, col, v, dest, ack=individual(v), headers={"activemq.prefetchSize": "1"})
    consumers.append((name, conn, col))
n = 20
for i in range(n):
    send(p, pc, dest, "c%d" % i)
got = {}
bodies = []
end = time.monotonic() + 30
while len(bodies) < n and time.monotonic() < end:
    for name, conn, col in consumers:
        while not col.messages.empty():
            f = col.messages.get()
            got[name] = got.get(name, 0) + 1
            bodies.append(f.body)
    time.sleep(0.05)
check(len(bodies) == n, "competing consumers received %d of %d messages" % (len(bodies), n))
check(sorted(bodies) == sorted("c%d" % i for i in range(n)), "duplicates or strangers: %r" % bodies)
check(got.get("a", 0) > 0 and got.get("b", 0) > 0, "one consumer got everything: %r" % got)
for name, conn, col in consumers:
    col.none("after all %d were consumed" % n)
    col.no_errors()
    close(conn)
pc.no_errors()
close(p)
done("queues %s (split %r)" % (v, got))
