"""STOMP over TLS (stomp+ssl://) with stomp.py's set_ssl: the broker CA's
file verifies the broker and app logs in; with another CA's file the
handshake fails.

    tls.py PORT CA_FILE OTHER_CA_FILE
"""
import sys

import stomp

from common import check, close, connection, login, passed, send, subscribe, watchdog

watchdog()
port, ca, other = int(sys.argv[1]), sys.argv[2], sys.argv[3]

conn, rec = login(port, "app", ssl_ca=ca)
cipher = conn.transport.socket.cipher()
send(conn, rec, "/queue/orders.stomp-tls", "over tls")
subscribe(conn, rec, "/queue/orders.stomp-tls")
f = rec.message("the message over TLS")
check(f.body == "over tls", "received %r" % f.body)
rec.no_error("over TLS")
close(conn)

bad, brec = connection(port, ssl_ca=other)
try:
    bad.connect(username="app", passcode="irrelevant", wait=True)
except stomp.exception.ConnectFailedException:
    pass
else:
    check(False, "connected over TLS trusting another CA")
passed("tls: %r" % (cipher,))
