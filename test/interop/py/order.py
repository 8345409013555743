"""Dispatch order from destination policies (features_test.go writes them):
queues interop.order.fifo.> have order fifo, the others Pier's default,
priority.

The same messages of mixed priority wait on two queues before anyone
subscribes: the FIFO queue delivers them in the order sent, the other
highest priority first and in the order sent within a priority. Each
MESSAGE carries the priority it was sent with.
"""
import os
import time

from common import args, check, close, connect, done, send, subscribe

PRIOS = [3, 7, 1, 9, 7, 0, 4, 9, 3, 5]

port, v = args()
suffix = "%s.%d.%d" % (v.replace(".", ""), os.getpid(), int(time.time() * 1000))
fifo = "/queue/interop.order.fifo." + suffix
prio = "/queue/interop.order.prio." + suffix

p, pc = connect(port, v)
for dest in (fifo, prio):
    for i, pr in enumerate(PRIOS):
        send(p, pc, dest, "m%d" % i, headers={"priority": str(pr)})
close(p)

sent = ["m%d" % i for i in range(len(PRIOS))]
by_priority = ["m%d" % i for i in sorted(range(len(PRIOS)), key=lambda i: (-PRIOS[i], i))]
for dest, want in ((fifo, sent), (prio, by_priority)):
    c, cc = connect(port, v)
    subscribe(c, cc, v, dest)
    got = []
    for n in range(len(PRIOS)):
        f = cc.next("message %d of %d on %s" % (n + 1, len(PRIOS), dest))
        i = int(f.body[1:])
        check(f.headers.get("priority") == str(PRIOS[i]), "%s: %s has priority %r, sent %d" % (
            dest, f.body, f.headers.get("priority"), PRIOS[i]))
        got.append(f.body)
    check(got == want, "%s delivered %r, want %r" % (dest, got, want))
    cc.none("a message beyond the %d sent to %s" % (len(PRIOS), dest), wait=0.5)
    cc.no_errors()
    close(c)
    print("%s: %s" % (dest.split(".")[2], " ".join(got)))
done("order " + v)
