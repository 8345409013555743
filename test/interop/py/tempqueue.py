"""Request/reply over a temporary queue: /temp-queue/x as reply-to."""
from common import args, check, close, connect, done, send, subscribe

port, v = args()
service = "/queue/interop.service." + v
resp, rc = connect(port, v)
subscribe(resp, rc, v, service)
req, qc = connect(port, v)
subscribe(req, qc, v, "/temp-queue/replies")
send(req, qc, service, "ping", headers={"reply-to": "/temp-queue/replies", "correlation-id": "c-1"})

f = rc.next("request on " + service)
reply_to = f.headers.get("reply-to")
check(reply_to, "request has no reply-to: %r" % f.headers)
check(reply_to != "/temp-queue/replies", "reply-to shown to another connection as the creator's local name %r" % reply_to)
check(f.headers.get("correlation-id") == "c-1", "correlation-id %r" % f.headers.get("correlation-id"))
send(resp, rc, reply_to, "pong", headers={"correlation-id": "c-1"})

g = qc.next("reply on /temp-queue/replies")
check(g.body == "pong", "reply body %r" % g.body)
check(g.headers.get("correlation-id") == "c-1", "reply correlation-id %r" % g.headers.get("correlation-id"))
check(g.headers.get("destination") == "/temp-queue/replies", "reply destination %r" % g.headers.get("destination"))
close(req)
close(resp)
print("reply-to seen by the responder: %s" % reply_to)
done("tempqueue " + v)
