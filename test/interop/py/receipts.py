"""Receipts for SUBSCRIBE, SEND, BEGIN, COMMIT, UNSUBSCRIBE, DISCONNECT."""
from common import args, check, close, connect, done, rid

port, v = args()
dest = "/queue/interop.receipt." + v
c, cc = connect(port, v)
r = rid()
if v == "1.0":
    c.subscribe(dest, id="s1", headers={"receipt": r})
else:
    c.subscribe(dest, "s1", headers={"receipt": r})
cc.receipt(r)
r = rid()
c.send(dest, "hello", headers={"receipt": r})
cc.receipt(r)
f = cc.next("message sent with a receipt")
check(f.body == "hello", "got %r" % f.body)
tx = rid("tx")
r = rid()
c.begin(tx, headers={"receipt": r})
cc.receipt(r)
r = rid()
c.commit(tx, headers={"receipt": r})
cc.receipt(r)
r = rid()
if v == "1.0":
    c.unsubscribe(id="s1", headers={"receipt": r})
else:
    c.unsubscribe("s1", headers={"receipt": r})
cc.receipt(r)
cc.no_errors()
r = "bye-" + v
c.disconnect(receipt=r)
cc.receipt(r)
done("receipts " + v)
