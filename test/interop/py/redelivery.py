"""Redelivery: an unacknowledged message comes back with redelivered:true."""
from common import ack, args, check, close, connect, done, individual, send, subscribe

port, v = args()
dest = "/queue/interop.redeliver." + v
p, pc = connect(port, v)
send(p, pc, dest, "again")
close(p)

c, cc = connect(port, v)
subscribe(c, cc, v, dest, ack=individual(v))
f = cc.next("first delivery")
check(f.body == "again", "got %r" % f.body)
check(f.headers.get("redelivered") != "true", "first delivery marked redelivered: %r" % f.headers)
mid = f.headers.get("message-id")
close(c)  # without ACK

c, cc = connect(port, v)
subscribe(c, cc, v, dest, ack=individual(v))
f = cc.next("redelivery after disconnect without ACK")
check(f.body == "again", "got %r" % f.body)
check(f.headers.get("redelivered") == "true", "no redelivered:true header: %r" % f.headers)
check(f.headers.get("message-id") == mid, "message-id changed: %r -> %r" % (mid, f.headers.get("message-id")))
r = "ack-" + v
ack(c, v, f, receipt=r)
cc.receipt(r)
close(c)

c, cc = connect(port, v)
subscribe(c, cc, v, dest, ack=individual(v))
cc.none("acknowledged message")
close(c)
done("redelivery " + v)
