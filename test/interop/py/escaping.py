"""Header escaping (1.1/1.2): values with ':', '\\n' and '\\\\' round-trip."""
from common import args, check, close, connect, done, send, subscribe

port, v = args()
dest = "/queue/interop.esc." + v
values = {
    "x-colon": "a:b:c",
    "x-newline": "line1\nline2",
    "x-backslash": "C:\\path\\to",
    "x-mixed": "k:v\n\\n:end",
}
p, pc = connect(port, v)
send(p, pc, dest, "escaped", headers=values)
c, cc = connect(port, v)
subscribe(c, cc, v, dest)
f = cc.next("message with escaped headers")
for k, want in values.items():
    check(f.headers.get(k) == want, "header %s: got %r, want %r" % (k, f.headers.get(k), want))
close(c)
close(p)
done("escaping " + v)
