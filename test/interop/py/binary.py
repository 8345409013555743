"""Binary bodies with NUL and high bytes round-trip exactly (content-length)."""
from common import args, check, close, connect, done, send, subscribe

port, v = args()
dest = "/queue/interop.bin." + v
bodies = [
    bytes(range(256)) * 4,
    b"\x00",
    b"\x00\x00\x00",
    b"head\x00tail\xff\xfe\x80\n\r\n",
    b"\xc3\x28 invalid utf-8 \xa0\xa1",
]
p, pc = connect(port, v, auto_decode=False)
for b in bodies:
    send(p, pc, dest, b)
c, cc = connect(port, v, auto_decode=False)
subscribe(c, cc, v, dest)
for i, b in enumerate(bodies):
    f = cc.next("binary body %d" % i)
    check(f.body == b, "body %d: got %r, want %r" % (i, f.body[:64], b[:64]))
    check(f.headers.get("content-length") == str(len(b)),
          "body %d: content-length %r, want %d" % (i, f.headers.get("content-length"), len(b)))
cc.none("after the binary bodies")
close(c)
close(p)
done("binary " + v)
