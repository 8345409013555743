"""NACK sends the message to ActiveMQ.DLQ with original-destination."""
from common import ack, args, check, close, connect, done, send, subscribe

port, v = args()
dest = "/queue/interop.nack." + v
p, pc = connect(port, v)
send(p, pc, dest, "poison", headers={"marker": "nack-" + v})

c, cc = connect(port, v)
subscribe(c, cc, v, dest, ack="client-individual")
f = cc.next("message to NACK")
r = "nack-" + v
ack(c, v, f, receipt=r, nack=True)
cc.receipt(r)
cc.no_errors()
close(c)

d, dc = connect(port, v)
subscribe(d, dc, v, "/queue/ActiveMQ.DLQ")
g = dc.next("NACKed message on /queue/ActiveMQ.DLQ")
check(g.body == "poison", "DLQ body %r" % g.body)
check(g.headers.get("original-destination") == dest,
      "original-destination %r, want %r (headers %r)" % (g.headers.get("original-destination"), dest, g.headers))
check(g.headers.get("marker") == "nack-" + v, "user header lost: %r" % g.headers)
close(d)

c, cc = connect(port, v)
subscribe(c, cc, v, dest)
cc.none("the NACKed message must not be redelivered")
close(c)
close(p)
done("nack " + v)
