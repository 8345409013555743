"""ActiveMQ's scheduler through STOMP headers (strings): AMQ_SCHEDULED_DELAY
holds a message back (not early, then it arrives, with scheduledJobId);
AMQ_SCHEDULED_DELAY/PERIOD/REPEAT deliver 1 + REPEAT copies, each with its
own message-id, a period apart; a value the scheduler cannot obey makes the
SEND fail with an ERROR frame (naming its receipt) and nothing is
delivered.

Times are time.time(), the wall clock the broker (on this machine) fires
by; SLACK allows for its millisecond granularity, LATE for a loaded machine.
"""
import os
import queue
import time

from common import args, check, close, connect, done, fail, rid, send, subscribe, TIMEOUT

SLACK = 0.010
LATE = 3.0

port, v = args()
dest = "/queue/interop.sched.%s.%d.%d" % (v, os.getpid(), int(time.time() * 1000))
c, cc = connect(port, v)
subscribe(c, cc, v, dest)
s, sc = connect(port, v)


def arrives(by, what):
    """The next message, which must come by the wall-clock time by; returns (frame, at)."""
    f = cc.next(what, timeout=max(0.001, by - time.time()))
    return f, time.time()


# Delay: not before 1.5 s after the send, within a few seconds after.
before = time.time()
send(s, sc, dest, "delayed", headers={"AMQ_SCHEDULED_DELAY": "1500"})
after = time.time()
f, at = arrives(after + 1.5 + LATE, "the delayed message")
check(at >= before + 1.5 - SLACK, "delayed message delivered %.3f s after the send began, before its 1.5 s" % (at - before))
check(f.body == "delayed", "delayed body %r" % f.body)
check(f.headers.get("scheduledJobId"), "delayed message without scheduledJobId: %r" % f.headers)
check(not any(k.startswith("pier.job.") for k in f.headers), "broker job state in the headers: %r" % f.headers)
delayed = at - after
cc.none("a second delivery of the delayed message")

# Delay 500, period 500, repeat 3: four deliveries, their own message-ids, a period apart.
before = time.time()
send(s, sc, dest, "repeated", headers={"AMQ_SCHEDULED_DELAY": "500", "AMQ_SCHEDULED_PERIOD": "500",
                                       "AMQ_SCHEDULED_REPEAT": "3"})
after = time.time()
times, ids, jobs = [], set(), set()
for i in range(4):
    f, at = arrives(after + 0.5 * (i + 1) + LATE, "delivery %d of 4" % (i + 1))
    check(f.body == "repeated", "delivery %d body %r" % (i + 1, f.body))
    mid = f.headers.get("message-id")
    check(mid and mid not in ids, "delivery %d message-id %r repeats one of %r" % (i + 1, mid, ids))
    ids.add(mid)
    check(f.headers.get("scheduledJobId"), "delivery %d without scheduledJobId: %r" % (i + 1, f.headers))
    jobs.add(f.headers.get("scheduledJobId"))
    times.append(at)
check(times[0] >= before + 0.5 - SLACK, "first delivery %.3f s after the send began, before its delay" % (times[0] - before))
gaps = [times[i] - times[i - 1] for i in range(1, 4)]
for i, g in enumerate(gaps):
    check(g >= 0.450, "deliveries %d and %d only %.3f s apart (period 0.5 s)" % (i + 1, i + 2, g))
check(len(jobs) == 1, "one job's deliveries carry scheduledJobIds %r" % jobs)
cc.none("a fifth delivery of repeat 3", wait=1.5)

# Bad values: an ERROR frame for the SEND (with its receipt-id), nothing delivered.
bad = [
    {"AMQ_SCHEDULED_DELAY": "soon"},
    {"AMQ_SCHEDULED_DELAY": "-5"},
    {"AMQ_SCHEDULED_CRON": "61 * * * *"},
    {"AMQ_SCHEDULED_DELAY": "100", "AMQ_SCHEDULED_REPEAT": "2"},
]
for h in bad:
    b, bc = connect(port, v)  # an ERROR may end the connection: one each
    r = rid()
    hh = dict(h, persistent="true", receipt=r)
    b.send(dest, "bad", headers=hh)
    try:
        e = bc.errors.get(timeout=TIMEOUT)
    except queue.Empty:
        fail("no ERROR frame within %ss for a SEND with %r (receipts: %r)" % (TIMEOUT, h, bc.receipts))
    check(e.headers.get("receipt-id") == r, "ERROR for %r names receipt %r, want %r" % (h, e.headers.get("receipt-id"), r))
    check(r not in bc.receipts, "a RECEIPT for the refused SEND with %r" % h)
    print("refused %r: %s" % (h, e.headers.get("message")))
    if b.is_connected():
        close(b)
cc.none("a refused message")

# The subscriber's and the sender's connections still work.
send(s, sc, dest, "plain")
f = cc.next("a plain message after the refused ones")
check(f.body == "plain", "plain body %r" % f.body)
cc.no_errors()
sc.no_errors()
close(s)
close(c)
print("delay 1.5 s: delivered %.3f s after the send's receipt; repeat gaps %s s" %
      (delayed, " ".join("%.3f" % g for g in gaps)))
done("scheduler " + v)
