"""The QoS matrix with paho: subscribers at QoS 0, 1 and 2 on qos/py<v>/#,
publishers at QoS 0, 1 and 2 sending N numbered messages each to
qos/py<v>/<qos>. Prints, per subscriber, MSG <sub qos> <topic> <qos> <dup>
<retain> <payload>.

    qos.py PORT VERSION N
"""

import sys

from common import Client, describe, out, watchdog

watchdog()
port, version, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = "qos/py%s" % version
subs = []
for q in range(3):
    s = Client(version)
    s.connect(port)
    out("SUBACK", q, s.subscribe(base + "/#", q))
    subs.append(s)
for q in range(3):
    p = Client(version)
    p.connect(port)
    for i in range(n):
        p.publish("%s/%d" % (base, q), str(i), q)
    p.close()
for q, s in enumerate(subs):
    for m in s.await_messages(3 * n):
        out("MSG", q, describe(m))
    s.close()
out("DONE")
