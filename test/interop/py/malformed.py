"""Malformed input over raw sockets: each bad frame gets an ERROR and the
socket is closed, while a well-behaved client keeps working and stored
messages survive. The broker runs with limits.max_frame_size: 1KiB."""
from common import args, check, close, connect, done, raw_connect, raw_socket, read_until_closed, send, subscribe

port, v = args()
stored = "/queue/interop.stored"
p, pc = connect(port, "1.2")
for i in range(5):
    send(p, pc, stored, "kept%d" % i)
by, bc = connect(port, "1.2")
subscribe(by, bc, "1.2", "/queue/interop.bystander")

cases = [
    ("garbage command", True, b"FROBNICATE\nfoo:bar\n\n\x00"),
    ("binary garbage", True, b"\xff\xfe\x00\x01garbage\n\n\x00"),
    ("oversized frame", True, b"SEND\ndestination:/queue/big\ncontent-length:4096\n\n" + b"x" * 4096 + b"\x00"),
    ("oversized frame without content-length", True, b"SEND\ndestination:/queue/big\n\n" + b"y" * 4096 + b"\x00"),
    ("non-numeric content-length", True, b"SEND\ndestination:/queue/x\ncontent-length:abc\n\nhello\x00"),
    ("negative content-length", True, b"SEND\ndestination:/queue/x\ncontent-length:-5\n\nhello\x00"),
    ("content-length shorter than body", True, b"SEND\ndestination:/queue/x\ncontent-length:2\n\nhello\x00"),
    ("invalid escape in 1.2", True, b"SEND\ndestination:/queue/x\nfoo:bar\\tbaz\n\nhi\x00"),
    ("garbage instead of CONNECT", False, b"HELLO WORLD\n\n\x00"),
]
for i, (name, connected, payload) in enumerate(cases):
    s = raw_connect(port, "1.2") if connected else raw_socket(port)
    s.sendall(payload)
    data, closed = read_until_closed(s, timeout=15)
    s.close()
    check(b"ERROR" in data, "%s: no ERROR frame (got %r)" % (name, data[:300]))
    check(closed, "%s: socket still open 15 s after the ERROR (got %r)" % (name, data[:300]))
    # The bystander still works after each case.
    send(by, bc, "/queue/interop.bystander", "alive%d" % i)
    f = bc.next("bystander message after %s" % name)
    check(f.body == "alive%d" % i, "bystander got %r" % f.body)
    print("%s: ERROR and close: ok" % name)

bc.no_errors()
close(by)
c, cc = connect(port, "1.2")
subscribe(c, cc, "1.2", stored)
for i in range(5):
    f = cc.next("stored message kept%d" % i)
    check(f.body == "kept%d" % i, "got %r" % f.body)
cc.none("after the stored messages")
for d in ("/queue/x", "/queue/big"):
    subscribe(c, cc, "1.2", d)
    cc.none("nothing from a rejected frame may have been stored in " + d)
close(c)
close(p)
done("malformed")
