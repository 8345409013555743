#!/usr/bin/env python3
"""Tiny OpenWire capture server: records every frame a client sends (loose encoding)."""
import os, socket, struct, sys, threading

OUT = sys.argv[2] if len(sys.argv) > 2 else "out"
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 61700
NAMES = {0: "Null", 1: "WireFormatInfo", 2: "BrokerInfo", 3: "ConnectionInfo", 4: "SessionInfo", 5: "ConsumerInfo",
         6: "ProducerInfo", 7: "TransactionInfo", 8: "DestinationInfo", 9: "RemoveSubscriptionInfo",
         10: "KeepAliveInfo", 11: "ShutdownInfo", 12: "RemoveInfo", 14: "ControlCommand", 15: "FlushCommand",
         16: "ConnectionError", 17: "ConsumerControl", 18: "ConnectionControl", 19: "ProducerAck",
         20: "MessagePull", 21: "MessageDispatch", 22: "MessageAck", 23: "Message", 24: "BytesMessage",
         25: "MapMessage", 26: "ObjectMessage", 27: "StreamMessage", 28: "TextMessage", 29: "BlobMessage",
         30: "Response", 31: "ExceptionResponse", 90: "MessageDispatchNotification"}

def mstr(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b

def wireformat():
    props = [("TightEncodingEnabled", b"\x01\x00"), ("CacheEnabled", b"\x01\x00"),
             ("SizePrefixDisabled", b"\x01\x00"), ("StackTraceEnabled", b"\x01\x00"),
             ("TcpNoDelayEnabled", b"\x01\x01"), ("CacheSize", b"\x05" + struct.pack(">i", 0)),
             ("MaxInactivityDuration", b"\x06" + struct.pack(">q", 30000)),
             ("MaxInactivityDurationInitalDelay", b"\x06" + struct.pack(">q", 10000)),
             ("MaxFrameSize", b"\x06" + struct.pack(">q", 104857600))]
    m = struct.pack(">i", len(props)) + b"".join(mstr(k) + v for k, v in props)
    body = b"\x01" + b"ActiveMQ" + struct.pack(">i", 12) + b"\x01" + struct.pack(">i", len(m)) + m
    return struct.pack(">i", len(body)) + body

def response(corr):
    body = b"\x1e" + struct.pack(">i", 0) + b"\x00" + struct.pack(">i", corr)
    return struct.pack(">i", len(body)) + body

def read_string(b, o):
    if b[o] == 0:
        return None, o + 1
    n = struct.unpack_from(">H", b, o + 1)[0]
    return b[o + 3:o + 3 + n], o + 3 + n

def nested_span(b, o):
    """Return the end offset of a nested Destination or ConsumerId at o (notNull + type + body)."""
    if b[o] == 0:
        return o + 1
    t = b[o + 1]
    _, o2 = read_string(b, o + 2)
    if t == 122:
        return o2 + 16
    return o2

def serve(conn, idx):
    seq = 0
    last_text = None
    buf = b""
    def frames():
        nonlocal buf
        while True:
            while len(buf) < 4 or len(buf) < 4 + struct.unpack_from(">i", buf)[0]:
                d = conn.recv(65536)
                if not d:
                    return
                buf += d
            n = struct.unpack_from(">i", buf)[0]
            f, buf = buf[:4 + n], buf[4 + n:]
            yield f
    for f in frames():
        seq += 1
        t = f[4]
        name = NAMES.get(t, "Type%d" % t)
        with open(os.path.join(OUT, "c%d-%03d-%s.bin" % (idx, seq, name)), "wb") as fh:
            fh.write(f)
        if t == 1:
            conn.sendall(wireformat())
            continue
        if t == 28:
            last_text = f[5:]
        cid, rr = struct.unpack_from(">i?", f, 5)
        if rr:
            conn.sendall(response(cid))
        if t == 5 and last_text is not None and f[10] == 1:
            # Dispatch the last TextMessage to this consumer (ConsumerInfo: C(ConsumerId), Z browser, C(Destination)).
            end_id = nested_span(f, 10)
            end_dest = nested_span(f, end_id + 1)
            if f[end_id + 1 + 1] == 100:  # only queue consumers
                body = (b"\x15" + struct.pack(">i", 0) + b"\x00" + f[10:end_id] + f[end_id + 1:end_dest]
                        + b"\x01\x1c" + last_text + struct.pack(">i", 0))
                conn.sendall(struct.pack(">i", len(body)) + body)
    conn.close()

def main():
    os.makedirs(OUT, exist_ok=True)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", PORT))
    s.listen()
    idx = 0
    while True:
        c, _ = s.accept()
        idx += 1
        threading.Thread(target=serve, args=(c, idx), daemon=True).start()

main()
