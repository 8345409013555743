"""Transactions: COMMIT makes sends visible, ABORT drops them; ACK in a transaction."""
from common import ack, args, check, close, connect, done, individual, rid, send, subscribe

port, v = args()
dest = "/queue/interop.tx." + v
c, cc = connect(port, v)
subscribe(c, cc, v, dest)
p, pc = connect(port, v)

tx = rid("tx")
p.begin(tx)
p.send(dest, "in-tx-1", headers={"transaction": tx})
p.send(dest, "in-tx-2", headers={"transaction": tx})
cc.none("sent in an open transaction")
r = rid()
p.commit(tx, headers={"receipt": r})
pc.receipt(r)
for want in ("in-tx-1", "in-tx-2"):
    f = cc.next("committed message " + want)
    check(f.body == want, "got %r, want %s" % (f.body, want))

tx = rid("tx")
p.begin(tx)
p.send(dest, "aborted", headers={"transaction": tx})
r = rid()
p.abort(tx, headers={"receipt": r})
pc.receipt(r)
cc.none("sent in an aborted transaction")
send(p, pc, dest, "after-abort")
f = cc.next("message sent after the abort")
check(f.body == "after-abort", "got %r, want after-abort (the aborted send leaked?)" % f.body)
close(c)

# ACK inside a transaction: committed ack removes m1; aborted ack leaves m2.
dest = "/queue/interop.txack." + v
send(p, pc, dest, "m1")
send(p, pc, dest, "m2")
c, cc = connect(port, v)
subscribe(c, cc, v, dest, ack=individual(v) if v != "1.0" else "client")
m1 = cc.next("m1")
m2 = cc.next("m2")
check((m1.body, m2.body) == ("m1", "m2"), "got %r, %r" % (m1.body, m2.body))
if v == "1.0":
    # client ack is cumulative: ACK m1 only (m2 stays unacknowledged).
    pass
tx = rid("tx")
c.begin(tx)
ack(c, v, m1, transaction=tx)
r = rid()
c.commit(tx, headers={"receipt": r})
cc.receipt(r)
tx = rid("tx")
c.begin(tx)
ack(c, v, m2, transaction=tx)
r = rid()
c.abort(tx, headers={"receipt": r})
cc.receipt(r)
cc.no_errors()
close(c)
c, cc = connect(port, v)
subscribe(c, cc, v, dest)
f = cc.next("m2 (its ACK was aborted)")
check(f.body == "m2", "got %r, want m2 (m1's ACK was committed)" % f.body)
cc.none("m1 was acknowledged in a committed transaction")
close(c)
close(p)
done("transactions " + v)
