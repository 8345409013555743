"""Helpers of the MQTT suite's scripts: Debian's paho-mqtt 1.6.1, both
protocol versions. The scripts print facts (one line each); the Go tests
judge them."""

import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

WAIT = 30  # seconds: every wait for something that should happen


def watchdog(seconds=120):
    """Ends the script if it hangs (the Go test has its own bound too)."""
    def bark():
        print("WATCHDOG after %ds" % seconds, flush=True)
        os._exit(3)
    t = threading.Timer(seconds, bark)
    t.daemon = True
    t.start()


def out(*words):
    print(" ".join(str(w) for w in words), flush=True)


class Client:
    """A paho client whose CONNACK, SUBACKs and messages are awaited."""

    def __init__(self, version, client_id="", clean=True):
        self.v5 = version == "5"
        if self.v5:
            self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        else:
            self.c = mqtt.Client(client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311)
        self.clean = clean
        self.lock = threading.Condition()
        self.connack = None  # (session present, reason)
        self.subacks = {}
        self.messages = []
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self.lock:
            self.connack = (flags.get("session present", 0), int(rc) if not self.v5 else rc.value)
            self.lock.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self.lock:
            self.subacks[mid] = [g.value if hasattr(g, "value") else g for g in granted]
            self.lock.notify_all()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append(msg)
            self.lock.notify_all()

    def _await(self, cond, what):
        with self.lock:
            if not self.lock.wait_for(cond, WAIT):
                out("TIMEOUT", what)
                sys.exit(2)

    def connect(self, port, expiry=None, will=None):
        """Connects (clean start/session as constructed) and returns
        (session present, reason code)."""
        if will is not None:
            topic, payload, qos, delay = will
            props = None
            if self.v5 and delay:
                props = Properties(PacketTypes.WILLMESSAGE)
                props.WillDelayInterval = delay
            self.c.will_set(topic, payload, qos=qos, properties=props)
        if self.v5:
            props = None
            if expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = expiry
            self.c.connect("127.0.0.1", port, keepalive=60, clean_start=self.clean, properties=props)
        else:
            self.c.connect("127.0.0.1", port, keepalive=60)
        self.c.loop_start()
        self._await(lambda: self.connack is not None, "CONNACK")
        return self.connack

    def subscribe(self, topic, qos):
        rc, mid = self.c.subscribe(topic, qos)
        self._await(lambda: mid in self.subacks, "SUBACK " + topic)
        return self.subacks[mid]

    def publish(self, topic, payload, qos, retain=False, props=None):
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if qos > 0:
            info.wait_for_publish(WAIT)
            if not info.is_published():
                out("TIMEOUT publish", topic, payload)
                sys.exit(2)

    def await_messages(self, n):
        self._await(lambda: len(self.messages) >= n, "%d messages" % n)
        with self.lock:
            return list(self.messages)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def describe(msg):
    """One line of a received message: topic qos dup retain payload."""
    return "%s %d %d %d %s" % (msg.topic, msg.qos, int(msg.dup), int(msg.retain), msg.payload.decode())
