"""Heart-beats: an idle client that beats stays connected; a raw client
that promises heart-beats and goes silent is disconnected."""
import time

from common import args, check, close, connect, done, raw_connect, read_until_closed, send, subscribe

port, v = args()
dest = "/queue/interop.hb." + v
c, cc = connect(port, v, heartbeats=(1000, 1000))
subscribe(c, cc, v, dest)
time.sleep(3.5)
check(c.is_connected(), "connection with heartbeats=(1000,1000) dropped while idle")
check(not cc.disconnected.is_set(), "stomp.py saw a disconnect while idle")
check(cc.heartbeats > 0, "no heart-beat received from the broker in 3.5 s")
send(c, cc, dest, "still alive")
f = cc.next("message after 3.5 s idle")
check(f.body == "still alive", "got %r" % f.body)
close(c)

s = raw_connect(port, v, heart_beat="500,0")
start = time.monotonic()
data, closed = read_until_closed(s, timeout=15)
check(closed, "a client silent after promising heart-beats every 500 ms is still connected after 15 s (got %r)" % data)
print("silent client dropped after %.1fs, got %r" % (time.monotonic() - start, data[:200]))
done("heartbeats " + v)
