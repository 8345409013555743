"""Logins over STOMP: login/passcode accepted, and a wrong passcode, an
unknown user and no credentials refused with an ERROR frame in ActiveMQ's
words.

    login.py PORT
"""
import sys

from common import USERS, check, close, login, passed, refused_login, watchdog

watchdog()
port = int(sys.argv[1])

conn, rec = login(port, "app")
rec.no_error("after a good login")
close(conn)

e = refused_login(port, "app", "not-" + USERS["app"])
msg = e.headers.get("message", "")
check("User name [app] or password is invalid." in msg, "wrong passcode: ERROR message %r" % msg)

e = refused_login(port, "nobody", "whatever")
msg2 = e.headers.get("message", "")
check("User name [nobody] or password is invalid." in msg2, "unknown user: ERROR message %r" % msg2)

e = refused_login(port, None, None)
msg3 = e.headers.get("message", "")
check("anonymous" in msg3, "no credentials: ERROR message %r" % msg3)

passed("login: accepted app; refused: %r, %r, %r" % (msg, msg2, msg3))
