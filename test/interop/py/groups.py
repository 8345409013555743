"""Message groups (JMSXGroupID, JMSXGroupSeq) on a queue with three
subscribers, each on its own connection with per-message acks and
activemq.prefetchSize 2.

1. Six groups of 5 messages, sent interleaved: every group goes to exactly
   one subscriber, in JMSXGroupSeq order, each subscriber holds at least one
   group (the broker gives new groups in turn), and JMSXGroupFirstForConsumer
   is "true" on a group's first message to a subscriber and on no other.
2. One subscriber (the victim) stops acknowledging: it holds its window of 2
   while the others go on; then it DISCONNECTs with those 2 unacknowledged
   and messages of its groups still waiting. Each of its groups goes on at one
   other subscriber, in order, starting with the unacknowledged ones (marked
   redelivered, the first marked JMSXGroupFirstForConsumer); the other
   groups stay where they were. In all, every message is acknowledged
   exactly once.
3. A message with JMSXGroupSeq -1 closes a group: it goes to the group's
   subscriber, and the group's next message starts the group anew
   (JMSXGroupFirstForConsumer again).
"""
import os
import queue
import time

from common import TIMEOUT, ack, args, check, close, connect, done, fail, individual, send, subscribe

PREFETCH = 2
GROUPS = ["g%d" % i for i in range(6)]
FIRST = "JMSXGroupFirstForConsumer"

port, v = args()
dest = "/queue/interop.groups.%s.%d.%d" % (v, os.getpid(), int(time.time() * 1000))


class Sub:
    """One subscriber: what it got, in order, and what it holds unacknowledged."""

    def __init__(self, name):
        self.name = name
        self.conn, self.col = connect(port, v)
        subscribe(self.conn, self.col, v, dest, ack=individual(v),
                  headers={"activemq.prefetchSize": str(PREFETCH)})
        self.got = []  # (body, headers) in arrival order
        self.held = []  # frames not acknowledged
        self.acking = True
        self.open = True

    def poll(self):
        """Takes one waiting frame, if any; acknowledges it when acking."""
        if not self.open:
            return False
        try:
            f = self.col.messages.get_nowait()
        except queue.Empty:
            return False
        check(f.headers.get("destination") == dest, "%s: destination %r" % (self.name, f.headers.get("destination")))
        self.got.append((f.body, f.headers))
        if self.acking:
            ack(self.conn, v, f)
        else:
            self.held.append(f)
        return True


subs = [Sub("s%d" % i) for i in range(3)]
p, pc = connect(port, v)


def publish(g, seq, body=None):
    send(p, pc, dest, body or "%s/%d" % (g, seq), headers={"JMSXGroupID": g, "JMSXGroupSeq": str(seq)})


def pump(until, what):
    """Polls every subscriber until until() is true."""
    end = time.monotonic() + TIMEOUT
    while not until():
        if time.monotonic() > end:
            fail("timed out after %ss waiting for %s; got %r" % (
                TIMEOUT, what, {s.name: [b for b, _ in s.got] for s in subs}))
        if not any([s.poll() for s in subs]):
            time.sleep(0.005)


def quiet(what, wait=1.0):
    """Nothing more arrives at any open subscriber for wait seconds."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        for s in subs:
            if s.poll():
                b, h = s.got[-1]
                fail("unexpected message at %s (%s): %r %r" % (s.name, what, b, h))
        time.sleep(0.01)


def received():
    return sum(len(s.got) for s in subs)


def acked():
    return sum(len(s.got) for s in subs) - sum(len(s.held) for s in subs)


def owners(g):
    """The subscribers that got messages of group g."""
    return [s for s in subs if any(b.startswith(g + "/") for b, _ in s.got)]


def seqs(s, g):
    return [int(b.split("/")[1]) for b, _ in s.got if b.split("/")[0] == g and b.split("/")[1].isdigit()]


def check_headers(s):
    """JMSXGroupID/Seq echo the body; the first message of a group at s is
    marked first, no other."""
    seen = set()
    for b, h in s.got:
        g, seq = b.split("/")
        check(h.get("JMSXGroupID") == g, "%s: %r has JMSXGroupID %r" % (s.name, b, h.get("JMSXGroupID")))
        if seq.isdigit():
            check(h.get("JMSXGroupSeq") == seq, "%s: %r has JMSXGroupSeq %r" % (s.name, b, h.get("JMSXGroupSeq")))
        if g not in seen:
            check(h.get(FIRST) == "true", "%s: first message %r of group %s without %s:true: %r" % (s.name, b, g, FIRST, h))
            seen.add(g)
        else:
            check(FIRST not in h, "%s: %r is not the first of group %s but has %s: %r" % (s.name, b, g, FIRST, h))


# 1. Six groups x 5, interleaved.
for seq in range(1, 6):
    for g in GROUPS:
        publish(g, seq)
pump(lambda: received() == 30, "30 messages of phase 1")
quiet("after phase 1")
owner = {}
for g in GROUPS:
    o = owners(g)
    check(len(o) == 1, "group %s went to %s" % (g, [s.name for s in o]))
    owner[g] = o[0]
    check(seqs(o[0], g) == [1, 2, 3, 4, 5], "group %s at %s in order %r" % (g, o[0].name, seqs(o[0], g)))
for s in subs:
    check_headers(s)
    check(any(owner[g] is s for g in GROUPS), "%s holds no group: %r" % (s.name, {g: owner[g].name for g in GROUPS}))
print("phase 1 owners: %s" % " ".join("%s=%s" % (g, owner[g].name) for g in GROUPS))

# 2. The victim holds its window, then leaves with it unacknowledged.
victim = subs[0]
mine = [g for g in GROUPS if owner[g] is victim]
others = [s for s in subs if s is not victim]
victim.acking = False
for seq in range(6, 9):
    for g in GROUPS:
        publish(g, seq)
pump(lambda: len(victim.held) == PREFETCH and all(seqs(owner[g], g)[-1] == 8 for g in GROUPS if g not in mine),
     "the victim's window and the other groups up to 8")
quiet("while the victim holds its window", wait=0.5)
held = [f.body for f in victim.held]
check(len(held) == PREFETCH, "victim holds %r, want %d messages (its prefetch)" % (held, PREFETCH))
close(victim.conn)
victim.open = False
for seq in range(9, 11):
    for g in GROUPS:
        publish(g, seq)
pump(lambda: acked() == 60, "every message acknowledged once")
quiet("after every message was acknowledged")

for g in GROUPS:
    if g not in mine:
        check(owners(g) == [owner[g]], "group %s moved from %s: %r" % (g, owner[g].name, [s.name for s in owners(g)]))
        check(seqs(owner[g], g) == list(range(1, 11)), "group %s at %s: %r" % (g, owner[g].name, seqs(owner[g], g)))
        continue
    by_victim = seqs(victim, g)
    new = [s for s in others if seqs(s, g)]
    check(len(new) == 1, "group %s of the victim went on at %r" % (g, [s.name for s in new]))
    rest = seqs(new[0], g)
    acked_by_victim = [n for n in by_victim if "%s/%d" % (g, n) not in held]
    check(acked_by_victim + rest == list(range(1, 11)),
          "group %s: acknowledged by the victim %r, then at %s %r; want 1..10 once each in order" % (
              g, acked_by_victim, new[0].name, rest))
    for b, h in new[0].got:
        if b.split("/")[0] != g:
            continue
        if b in held:
            check(h.get("redelivered") == "true", "%r held by the victim, not marked redelivered at %s: %r" % (b, new[0].name, h))
        else:
            check(h.get("redelivered") != "true", "%r marked redelivered at %s: %r" % (b, new[0].name, h))
    owner[g] = new[0]
for s in others:
    check_headers(s)
bodies = [b for s in others for b, _ in s.got] + [b for b, _ in victim.got if b not in held]
check(sorted(bodies) == sorted("%s/%d" % (g, n) for g in GROUPS for n in range(1, 11)),
      "acknowledged messages are not every message once: %r" % sorted(bodies))
print("victim %s held %r; its groups went to %s" % (victim.name, held, " ".join("%s=%s" % (g, owner[g].name) for g in mine)))

# 3. JMSXGroupSeq -1 closes a group; its next message starts it anew.
g = next(g for g in GROUPS if g not in mine)
at = owner[g]
publish(g, -1, body="%s/close" % g)
pump(lambda: any(b == "%s/close" % g for s in subs for b, _ in s.got), "the closing message")
b, h = at.got[-1]
check(b == "%s/close" % g, "closing message of %s went elsewhere than %s: %r" % (g, at.name, {s.name: s.got[-1][0] for s in others}))
check(h.get("JMSXGroupSeq") == "-1" and FIRST not in h, "closing message headers %r" % h)
publish(g, 1, body="%s/again" % g)
pump(lambda: any(b == "%s/again" % g for s in subs for b, _ in s.got), "the message after the close")
s = next(s for s in others if s.got[-1][0] == "%s/again" % g)
h = s.got[-1][1]
check(h.get(FIRST) == "true", "after JMSXGroupSeq -1 the next message of %s (at %s) has no %s:true: %r" % (g, s.name, FIRST, h))
quiet("after the closed group's next message", wait=0.5)
print("closed group %s at %s; its next message went to %s" % (g, at.name, s.name))

for s in others:
    s.col.no_errors()
    close(s.conn)
pc.no_errors()
close(p)
done("groups " + v)
