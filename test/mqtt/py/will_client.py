"""An MQTT 5 client with a will, for the will tests: connects (clean start
0, the given session expiry) with a will on WILL_TOPIC (none if "-") that
has a will delay of DELAY seconds, prints CONNECTED <session present>, then
either waits to be killed or, with "disconnect", disconnects normally and
prints DISCONNECTED.

    will_client.py PORT CLIENT_ID WILL_TOPIC WILL_PAYLOAD DELAY EXPIRY [disconnect]
"""

import sys
import time

from common import Client, out, watchdog

watchdog()
port, client_id, topic, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
delay, expiry = int(sys.argv[5]), int(sys.argv[6])
c = Client("5", client_id=client_id, clean=False)
will = None if topic == "-" else (topic, payload, 1, delay)
present, reason = c.connect(port, expiry=expiry, will=will)
out("CONNECTED", present, reason)
if len(sys.argv) > 7 and sys.argv[7] == "disconnect":
    c.close()
    out("DISCONNECTED")
    sys.exit(0)
while True:
    time.sleep(1)
