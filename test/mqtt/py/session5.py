"""MQTT 5 persistent sessions with paho, one phase per run (client id
CLIENT_ID, topic TOPIC):

  subscribe     clean start 1, session expiry 300 s, subscribe TOPIC at
                QoS 1, disconnect
  resume N      clean start 0, session expiry 300 s, no subscribe: wait for
                N messages, print them, disconnect
  clean         clean start 1, session expiry 0, disconnect
  empty         clean start 0, session expiry 300 s, subscribe TOPIC/marker,
                publish a marker there, print what comes until it, disconnect

Each prints CONNECTED <session present> <reason> first, MSG lines (topic
qos dup retain payload) for messages, DONE last.

    session5.py PORT CLIENT_ID TOPIC PHASE [N]
"""

import sys

from common import Client, describe, out, watchdog

watchdog()
port, client_id, topic, phase = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = Client("5", client_id=client_id, clean=phase in ("subscribe", "clean"))
present, reason = c.connect(port, expiry=0 if phase == "clean" else 300)
out("CONNECTED", present, reason)
if phase == "subscribe":
    out("SUBACK", c.subscribe(topic, 1))
elif phase == "resume":
    for m in c.await_messages(int(sys.argv[5])):
        out("MSG", describe(m))
elif phase == "empty":
    out("SUBACK", c.subscribe(topic + "/marker", 1))
    c.publish(topic + "/marker", "marker", 1)
    got = []
    while not any(m.topic == topic + "/marker" for m in got):
        got = c.await_messages(len(got) + 1)
    for m in got:
        out("MSG", describe(m))
c.close()
out("DONE")
