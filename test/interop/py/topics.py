"""Topics: fan-out to two subscribers; no backlog for non-durable subscribers."""
from common import args, check, close, connect, done, send, subscribe

port, v = args()
dest = "/topic/interop.t." + v
p, pc = connect(port, v)
send(p, pc, dest, "before anyone subscribed")
subs = []
for _ in range(2):
    c, cc = connect(port, v)
    subscribe(c, cc, v, dest)
    subs.append((c, cc))
for i in range(5):
    send(p, pc, dest, "t%d" % i)
for k, (c, cc) in enumerate(subs):
    for i in range(5):
        f = cc.next("topic message %d on subscriber %d" % (i, k))
        check(f.body == "t%d" % i, "subscriber %d got %r, want t%d" % (k, f.body, i))
        check(f.headers.get("destination") == dest, "destination %r" % f.headers.get("destination"))
    cc.none("subscriber %d after 5 messages" % k)
    close(c)
close(p)
done("topics " + v)
