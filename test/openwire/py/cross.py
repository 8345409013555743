"""The STOMP half of the cross-protocol test, run with Debian's stomp.py.

    cross.py recv PORT QUEUE   receive the two JMS messages, print one line each
    cross.py send PORT QUEUE   send three messages for the JMS side
"""
import sys
import threading

import stomp


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.frames = []
        self.cond = threading.Condition()

    def on_message(self, frame):
        with self.cond:
            self.frames.append(frame)
            self.cond.notify_all()


def main():
    mode, port, queue = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # auto_decode off: bodies stay bytes; auto_content_length off: a send
    # carries content-length only when its headers say so.
    conn = stomp.Connection12([("127.0.0.1", port)], timeout=10, auto_decode=False, auto_content_length=False)
    listener = Listener()
    conn.set_listener("", listener)
    conn.connect(wait=True)
    if mode == "recv":
        conn.subscribe("/queue/" + queue, id="1", ack="auto")
        with listener.cond:
            listener.cond.wait_for(lambda: len(listener.frames) >= 2, timeout=20)
        if len(listener.frames) < 2:
            print("TIMEOUT with %d messages" % len(listener.frames))
            sys.exit(1)
        for f in listener.frames:
            body, h = f.body, f.headers
            print("MSG body=%s content-length=%s corr=%s type=%s color=%s count=%s ok=%s persistent=%s priority=%s" % (
                body.hex(), h.get("content-length"), h.get("correlation-id"), h.get("type"), h.get("color"),
                h.get("count"), h.get("ok"), h.get("persistent"), h.get("priority")))
    else:
        # Without content-length: a text message; with it: bytes, unless
        # amq-msg-type says text (ActiveMQ's rules).
        conn.send("/queue/" + queue, "stomp text \u2713", headers={"color": "blue", "correlation-id": "c2",
                  "persistent": "true"})
        conn.send("/queue/" + queue, b"\x00\x01\xfe", headers={"color": "green", "content-length": "3"})
        conn.send("/queue/" + queue, "forced text", headers={"amq-msg-type": "text", "color": "black",
                  "content-length": "11"})
        print("SENT 3")
    conn.disconnect()


if __name__ == "__main__":
    main()
