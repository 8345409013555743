"""Dead-lettering after policies.redelivery.max_redeliveries (2): the
message is delivered 3 times, then lands on ActiveMQ.DLQ."""
from common import args, check, close, connect, done, individual, send, subscribe

port, v = args()
dest = "/queue/interop.maxred." + v
p, pc = connect(port, v)
send(p, pc, dest, "doomed")
close(p)

for i in range(3):
    c, cc = connect(port, v)
    subscribe(c, cc, v, dest, ack=individual(v))
    f = cc.next("delivery %d of 3" % (i + 1))
    check(f.body == "doomed", "got %r" % f.body)
    close(c)  # without ACK

c, cc = connect(port, v)
subscribe(c, cc, v, dest, ack=individual(v))
cc.none("a 4th delivery (max_redeliveries is 2)")
close(c)

d, dc = connect(port, v)
subscribe(d, dc, v, "/queue/ActiveMQ.DLQ")
g = dc.next("dead-lettered message on /queue/ActiveMQ.DLQ")
check(g.body == "doomed", "DLQ body %r" % g.body)
check(g.headers.get("original-destination") == dest, "original-destination %r" % g.headers.get("original-destination"))
close(d)
done("maxredeliveries " + v)
