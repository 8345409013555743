"""Refused frames over STOMP: a SEND to a queue app may not write and a
SUBSCRIBE to one it may not read get an ERROR, and the connection goes on
working (a later SEND gets its RECEIPT and the message arrives).

    denied.py PORT
"""
import sys

from common import check, close, login, passed, rid, send, subscribe, watchdog

watchdog()
port = int(sys.argv[1])
conn, rec = login(port, "app")

r = rid()
conn.send("/queue/payments", "from app", headers={"receipt": r})
e = rec.error("SEND to /queue/payments")
msg = e.headers.get("message", "")
check("User app is not authorized to write to: queue://payments" in msg, "SEND refused with %r" % msg)
check(r not in rec.receipts, "the refused SEND got a RECEIPT")
check(conn.is_connected() and not rec.disconnected.is_set(), "disconnected after the refused SEND")

send(conn, rec, "/queue/orders.stomp", "still working", persistent="true")
subscribe(conn, rec, "/queue/orders.stomp")
f = rec.message("the allowed message")
check(f.body == "still working", "received %r" % f.body)

r = rid()
conn.subscribe("/queue/payments", rid(), ack="auto", headers={"receipt": r})
e = rec.error("SUBSCRIBE to /queue/payments")
msg2 = e.headers.get("message", "")
check("User app is not authorized to read from: queue://payments" in msg2, "SUBSCRIBE refused with %r" % msg2)
check(conn.is_connected(), "disconnected after the refused SUBSCRIBE")

send(conn, rec, "/queue/orders.stomp", "again")
f = rec.message("the second allowed message")
check(f.body == "again", "received %r" % f.body)
rec.no_error("after the allowed frames")
close(conn)

# Positive control: admin writes payments and reads its own message
# first, so app's refused SEND did not get there.
admin, arec = login(port, "admin")
send(admin, arec, "/queue/payments", "from admin")
subscribe(admin, arec, "/queue/payments")
f = arec.message("admin's message on payments")
check(f.body == "from admin", "admin's first message on payments is %r" % f.body)
arec.no_message("payments after admin's own message")
close(admin)
passed("denied: %r; %r" % (msg, msg2))
