import static javax.jms.Session.AUTO_ACKNOWLEDGE;
import static javax.jms.Session.CLIENT_ACKNOWLEDGE;
import static javax.jms.Session.SESSION_TRANSACTED;

import java.util.HashSet;
import java.util.Set;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.InvalidClientIDException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQPrefetchPolicy;
import org.apache.activemq.RedeliveryPolicy;

/** Connections, prefetch, the close cascade, dead letters and producer flow control. */
final class ConnectionScenarios {
    private ConnectionScenarios() {
    }

    /** A client id is exclusive among live connections; it is free again once its owner closed. */
    static void clientID(Env env) throws Exception {
        String id = env.name("cid");
        Connection a = env.factory().createConnection();
        Connection b = env.factory().createConnection();
        try {
            a.setClientID(id);
            a.start();
            Env.equal(id, a.getClientID(), "client id of the first connection");
            // ActiveMQConnection.setClientID sends the ConnectionInfo at once (synchronously),
            // so the broker's InvalidClientIDException comes out of setClientID itself.
            Exception e = Env.expectThrow("second connection with the same client id", () -> b.setClientID(id));
            Env.exactly(InvalidClientIDException.class, e, "duplicate client id");
            Env.closeQuietly(b);
            a.close();
        } finally {
            Env.closeQuietly(a);
            Env.closeQuietly(b);
        }
        Connection c = env.factory().createConnection();
        try {
            c.setClientID(id);
            c.start();
            c.createSession(false, AUTO_ACKNOWLEDGE).close();
        } catch (InvalidClientIDException e) {
            throw new AssertionError("client id still taken after its connection closed", e);
        } finally {
            c.close();
        }
    }

    /** A prefetch 0 consumer pulls: receive(timeout) and receiveNoWait, empty and not. */
    static void prefetchZero(Env env) throws Exception {
        ActiveMQConnectionFactory f = env.factory();
        ActiveMQPrefetchPolicy pp = new ActiveMQPrefetchPolicy();
        pp.setAll(0);
        f.setPrefetchPolicy(pp);
        Connection c = f.createConnection();
        Connection pc = env.connect();
        try {
            c.start();
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageConsumer c1 = s.createConsumer(q);
            MessageConsumer c2 = c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q);
            Env.check(c1.receiveNoWait() == null, "receiveNoWait on an empty queue returned a message");
            long t0 = System.nanoTime();
            Env.check(c1.receive(500) == null, "receive(500) on an empty queue returned a message");
            long took = (System.nanoTime() - t0) / 1_000_000;
            Env.check(took >= 400 && took < 4000, "receive(500) on an empty queue took %d ms", took);

            Session ps = pc.createSession(false, AUTO_ACKNOWLEDGE);
            MessageProducer p = ps.createProducer(q);
            for (int i = 0; i < 3; i++) {
                p.send(ps.createTextMessage("m" + i));
            }
            // Nothing is pushed to a prefetch 0 consumer: each message goes to the one that pulls.
            Env.equal("m0", ((TextMessage) c2.receiveNoWait()).getText(), "receiveNoWait with messages");
            Env.equal("m1", ((TextMessage) Env.recv(c1, "receive(timeout)")).getText(), "receive(timeout)");
            Env.equal("m2", ((TextMessage) c2.receive(Env.WAIT_MS)).getText(), "second consumer");
            Env.check(c1.receiveNoWait() == null, "receiveNoWait after draining returned a message");
            Env.check(c2.receive(300) == null, "receive(300) after draining returned a message");

            // A pull waiting in receive(timeout) gets a message sent meanwhile.
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(300);
                    p.send(ps.createTextMessage("late"));
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            t.start();
            Env.equal("late", ((TextMessage) c1.receive(Env.WAIT_MS)).getText(), "pull answered by a later send");
            t.join();
        } finally {
            Env.closeQuietly(c);
            Env.closeQuietly(pc);
        }
    }

    /**
     * Delivered but unacknowledged messages go back to the queue, marked
     * redelivered, when their consumer, its session or its connection closes.
     */
    static void closeCascade(Env env) throws Exception {
        for (String how : new String[] {"consumer", "session", "connection"}) {
            Queue q = new org.apache.activemq.command.ActiveMQQueue(env.name(how));
            Connection other = env.connect();
            Connection c = env.connect();
            try {
                Session ps = other.createSession(false, AUTO_ACKNOWLEDGE);
                MessageProducer p = ps.createProducer(q);
                for (int i = 0; i < 3; i++) {
                    p.send(ps.createTextMessage(how + i));
                }
                Session s = c.createSession(false, CLIENT_ACKNOWLEDGE);
                MessageConsumer mc = s.createConsumer(q);
                for (int i = 0; i < 2; i++) {
                    Message m = Env.recv(mc, how + ": first delivery");
                    Env.equal(how + i, ((TextMessage) m).getText(), how + ": first delivery order");
                    Env.check(!m.getJMSRedelivered(), "%s: first delivery marked redelivered", how);
                }
                switch (how) {
                    case "consumer":
                        mc.close();
                        break;
                    case "session":
                        s.close();
                        break;
                    default:
                        c.close();
                }
                MessageConsumer oc = other.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q);
                for (int i = 0; i < 3; i++) {
                    Message m = Env.recv(oc, how + ": after close");
                    Env.equal(how + i, ((TextMessage) m).getText(), how + ": redelivery order");
                    // ActiveMQ: the two delivered (not acked) ones are redelivered with the flag and
                    // JMSXDeliveryCount 2; the prefetched but never delivered third one is not.
                    boolean delivered = i < 2;
                    Env.equal(delivered, m.getJMSRedelivered(), how + ": JMSRedelivered of m" + i);
                    Env.equal(delivered ? 2 : 1, m.getIntProperty("JMSXDeliveryCount"),
                            how + ": JMSXDeliveryCount of m" + i);
                }
                Env.none(oc, how + ": after the three");
            } finally {
                Env.closeQuietly(c);
                Env.closeQuietly(other);
            }
        }
    }

    /**
     * A message rolled back more often than maximumRedeliveries (6) is
     * poison-acked by the client and the broker moves it to ActiveMQ.DLQ.
     */
    static void deadLetter(Env env) throws Exception {
        ActiveMQConnectionFactory f = env.factory();
        RedeliveryPolicy rp = f.getRedeliveryPolicy();
        Env.equal(6, rp.getMaximumRedeliveries(), "default maximumRedeliveries");
        Connection c = f.createConnection();
        try {
            c.start();
            Session ps = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = ps.createQueue(env.name("q"));
            String mark = env.name("poison");
            TextMessage sent = ps.createTextMessage("poison");
            sent.setStringProperty("mark", mark);
            ps.createProducer(q).send(sent);

            Session s = c.createSession(true, SESSION_TRANSACTED);
            MessageConsumer mc = s.createConsumer(q);
            int deliveries = 0;
            for (Message m; (m = mc.receive(1500)) != null; ) {
                deliveries++;
                Env.equal(deliveries, m.getIntProperty("JMSXDeliveryCount"), "JMSXDeliveryCount");
                Env.check(deliveries < 20, "still delivered after %d rollbacks", deliveries);
                s.rollback();
            }
            Env.equal(7, deliveries, "deliveries before the dead letter queue (1 + maximumRedeliveries)");

            MessageConsumer dlq = ps.createConsumer(ps.createQueue("ActiveMQ.DLQ"), "mark = '" + mark + "'");
            Message d = Env.recv(dlq, "message on ActiveMQ.DLQ");
            Env.equal(sent.getJMSMessageID(), d.getJMSMessageID(), "JMSMessageID on the DLQ");
            Env.equal("poison", ((TextMessage) d).getText(), "body on the DLQ");
            Env.equal(DeliveryMode.PERSISTENT, d.getJMSDeliveryMode(), "delivery mode on the DLQ");
            String cause = d.getStringProperty("dlqDeliveryFailureCause");
            Env.check(cause != null && cause.contains("Delivery[7] exceeds redelivery policy limit"),
                    "dlqDeliveryFailureCause: %s", cause);
            Env.none(ps.createConsumer(q), "original queue after the dead letter");
        } finally {
            c.close();
        }
    }

    /** Producer flow control settings (a producer window, async sends) don't break sends. */
    static void producerWindow(Env env) throws Exception {
        ActiveMQConnectionFactory f = env.factory();
        f.setProducerWindowSize(4096);
        f.setUseAsyncSend(true);
        Connection c = f.createConnection();
        try {
            c.start();
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageConsumer mc = c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q);
            MessageProducer p = s.createProducer(q);
            byte[] kib = new byte[1024];
            int n = 300;
            for (int i = 0; i < n; i++) {
                p.setDeliveryMode(i % 2 == 0 ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
                javax.jms.BytesMessage m = s.createBytesMessage();
                m.writeBytes(kib);
                m.setIntProperty("seq", i);
                p.send(m);
            }
            Set<Integer> seen = new HashSet<>();
            int[] next = {0, 1}; // order holds within a delivery mode only (see header-message-id)
            for (int i = 0; i < n; i++) {
                Message m = Env.recv(mc, "message " + i + " of " + n);
                int seq = m.getIntProperty("seq");
                Env.equal(next[seq % 2], seq, "order within the delivery mode");
                next[seq % 2] += 2;
                seen.add(seq);
            }
            Env.equal(n, seen.size(), "distinct messages");
        } finally {
            c.close();
        }
    }
}
