"""Durable topic subscriptions: client-id + activemq.subscriptionName."""
from common import args, check, close, connect, done, send, subscribe

port, v = args()
dest = "/topic/interop.durable." + v
cid, name = "interop-durable-" + v, "sub-" + v
dh = {"activemq.subscriptionName": name}

c, cc = connect(port, v, client_id=cid)
sub = subscribe(c, cc, v, dest, headers=dh)
close(c)

p, pc = connect(port, v)
for i in range(3):
    send(p, pc, dest, "d%d" % i)

c, cc = connect(port, v, client_id=cid)
sub = subscribe(c, cc, v, dest, headers=dh)
for i in range(3):
    f = cc.next("durable message d%d published while disconnected" % i)
    check(f.body == "d%d" % i, "got %r, want d%d" % (f.body, i))
cc.none("after the backlog")

# UNSUBSCRIBE with activemq.subscriptionName removes the subscription.
r = "unsub-" + v
h = dict(dh, receipt=r)
if v == "1.0":
    c.unsubscribe(id=sub, headers=h)
else:
    c.unsubscribe(sub, headers=h)
cc.receipt(r)
cc.no_errors()
close(c)
for i in range(2):
    send(p, pc, dest, "gone%d" % i)
c, cc = connect(port, v, client_id=cid)
subscribe(c, cc, v, dest, headers=dh)
cc.none("the durable subscription was removed; nothing published meanwhile may arrive")
send(p, pc, dest, "new")
f = cc.next("message for the new durable subscription")
check(f.body == "new", "got %r, want new" % f.body)
# Clean up the new subscription too.
close(c)
close(p)
done("durable " + v)
