"""Redelivery back-off from destination policies (features_test.go writes
them): queues interop.backoff.individual.> and interop.backoff.shared.> have
initial_redelivery_delay 300ms, back_off_multiplier 2, max_redeliveries 2;
the first with dead_letter strategy individual, the second the default
(shared).

A NACKed message comes back (redelivered:true) no earlier than 300 ms after
the first NACK and 600 ms after the second; the third NACK dead-letters it:
to /queue/ActiveMQ.DLQ.Queue.<name> and not ActiveMQ.DLQ (individual), or to
ActiveMQ.DLQ and not ActiveMQ.DLQ.Queue.<name> (shared), with
original-destination and the user's headers. It is not delivered again.

Times are time.time(), the wall clock the broker schedules by, taken
before each NACK is sent; GRAIN allows only for the broker's millisecond
clock (its due time is the NACK's arrival in whole milliseconds plus the
delay). There is no upper bound but the usual wait for a frame.
"""
import os
import time

from common import ack, args, check, close, connect, done, send, subscribe

GRAIN = 0.002
DELAYS = [0.300, 0.600]

port, v = args()
check(v != "1.0", "STOMP 1.0 has no NACK")
suffix = "%s.%d.%d" % (v.replace(".", ""), os.getpid(), int(time.time() * 1000))
shared_dlq = "/queue/ActiveMQ.DLQ"


def individual_dlq(name):
    return "/queue/ActiveMQ.DLQ.Queue." + name


def reject_until_dead(name):
    """Sends a message to queue name and NACKs each delivery; returns the
    observed waits after each NACK."""
    dest = "/queue/" + name
    p, pc = connect(port, v)
    send(p, pc, dest, "doomed " + name, headers={"marker": name})
    close(p)
    c, cc = connect(port, v)
    subscribe(c, cc, v, dest, ack="client-individual")
    waits = []
    nacked = None
    for n in range(len(DELAYS) + 1):
        f = cc.next("delivery %d of %s" % (n + 1, name))
        at = time.time()
        check(f.body == "doomed " + name, "delivery %d body %r" % (n + 1, f.body))
        check(f.headers.get("marker") == name, "delivery %d lost the user header: %r" % (n + 1, f.headers))
        red = f.headers.get("redelivered") == "true"
        check(red == (n > 0), "delivery %d of %s: redelivered %r" % (n + 1, name, f.headers.get("redelivered")))
        if nacked is not None:
            wait = at - nacked
            check(wait >= DELAYS[n - 1] - GRAIN, "delivery %d of %s came %.3f s after the NACK, before its %.3f s back-off" % (
                n + 1, name, wait, DELAYS[n - 1]))
            waits.append(wait)
        nacked = time.time()
        r = "nack-%d-%s" % (n + 1, name)
        ack(c, v, f, receipt=r, nack=True)
        cc.receipt(r)
    # The next back-off would be 1.2 s: watch longer than that.
    cc.none("a 4th delivery of %s (max_redeliveries 2)" % name, wait=2.0)
    cc.no_errors()
    close(c)
    return waits


def dead_letter(dlq, name):
    """The dead letter of queue name on dlq, checked."""
    d, dc = connect(port, v)
    subscribe(d, dc, v, dlq)
    g = dc.next("the dead letter of %s on %s" % (name, dlq))
    check(g.body == "doomed " + name, "%s: body %r" % (dlq, g.body))
    check(g.headers.get("original-destination") == "/queue/" + name, "%s: original-destination %r" % (
        dlq, g.headers.get("original-destination")))
    check(g.headers.get("marker") == name, "%s: user header lost: %r" % (dlq, g.headers))
    dc.none("a second message on %s" % dlq, wait=0.5)
    close(d)


def empty(dlq, why):
    d, dc = connect(port, v)
    subscribe(d, dc, v, dlq)
    dc.none("%s must be empty: %s" % (dlq, why), wait=0.5)
    close(d)


ind = "interop.backoff.individual." + suffix
w1 = reject_until_dead(ind)
empty(shared_dlq, "the individual strategy applies to " + ind)
dead_letter(individual_dlq(ind), ind)

sh = "interop.backoff.shared." + suffix
w2 = reject_until_dead(sh)
empty(individual_dlq(sh), "the shared strategy applies to " + sh)
dead_letter(shared_dlq, sh)

print("back-off waits after each NACK: individual %s, shared %s (want >= %s)" % (
    " ".join("%.3f" % w for w in w1), " ".join("%.3f" % w for w in w2), " ".join("%.3f" % d for d in DELAYS)))
done("backoff " + v)
