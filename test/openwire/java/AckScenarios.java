import static javax.jms.Session.AUTO_ACKNOWLEDGE;
import static javax.jms.Session.CLIENT_ACKNOWLEDGE;
import static javax.jms.Session.DUPS_OK_ACKNOWLEDGE;
import static javax.jms.Session.SESSION_TRANSACTED;

import javax.jms.Connection;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQSession;

/** Acknowledgement modes and local transactions. */
final class AckScenarios {
    private AckScenarios() {
    }

    static void send(Connection c, Queue q, String... bodies) throws Exception {
        Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
        MessageProducer p = s.createProducer(q);
        for (String b : bodies) {
            p.send(s.createTextMessage(b));
        }
        s.close();
    }

    /** Receives one message whose body must be want, with the redelivery markers given. */
    static Message expect(MessageConsumer c, String want, boolean redelivered, int count) throws Exception {
        Message m = Env.recv(c, "receive " + want);
        Env.equal(want, ((TextMessage) m).getText(), "body");
        Env.equal(redelivered, m.getJMSRedelivered(), "JMSRedelivered of " + want);
        Env.equal(count, m.getIntProperty("JMSXDeliveryCount"), "JMSXDeliveryCount of " + want);
        Env.equal(count, m.getObjectProperty("JMSXDeliveryCount"), "JMSXDeliveryCount object of " + want);
        return m;
    }

    /** AUTO: each message is acknowledged by receive; recover() redelivers nothing. */
    static void auto(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Queue q = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("q"));
            send(c, q, "a", "b");
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            MessageConsumer mc = s.createConsumer(q);
            expect(mc, "a", false, 1);
            s.recover();
            expect(mc, "b", false, 1);
            s.recover();
            Env.none(mc, "after recover in AUTO");
            s.close();
            Env.none(c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q), "queue after AUTO");
        } finally {
            c.close();
        }
    }

    /**
     * CLIENT: recover() redelivers every unacknowledged message of the
     * session; acknowledge() on any message acknowledges all delivered so far.
     */
    static void client(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Queue q = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("q"));
            send(c, q, "a", "b", "c", "d");
            Session s = c.createSession(false, CLIENT_ACKNOWLEDGE);
            MessageConsumer mc = s.createConsumer(q);
            expect(mc, "a", false, 1);
            expect(mc, "b", false, 1);
            s.recover();
            expect(mc, "a", true, 2);
            Message b = expect(mc, "b", true, 2);
            s.recover();
            expect(mc, "a", true, 3);
            b = expect(mc, "b", true, 3);
            expect(mc, "c", false, 1);
            b.acknowledge(); // acknowledges a, b and c: the whole session
            s.recover();
            expect(mc, "d", false, 1);
            s.close(); // d is not acknowledged: back to the queue
            MessageConsumer again = c.createSession(false, CLIENT_ACKNOWLEDGE).createConsumer(q);
            Message d = expect(again, "d", true, 2);
            d.acknowledge();
            Env.none(again, "queue after CLIENT acknowledge");
        } finally {
            c.close();
        }
    }

    /** DUPS_OK: messages are acknowledged lazily, at the latest when the session closes. */
    static void dupsOK(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Queue q = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("q"));
            send(c, q, "a", "b", "c", "d", "e");
            Session s = c.createSession(false, DUPS_OK_ACKNOWLEDGE);
            MessageConsumer mc = s.createConsumer(q);
            for (String b : new String[] {"a", "b", "c", "d", "e"}) {
                expect(mc, b, false, 1);
            }
            s.close();
            Env.none(c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q), "queue after DUPS_OK");
        } finally {
            c.close();
        }
    }

    /** INDIVIDUAL_ACKNOWLEDGE: acknowledge() covers just that message; recover() redelivers the rest. */
    static void individual(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Queue q = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("q"));
            send(c, q, "a", "b", "c");
            Session s = c.createSession(false, ActiveMQSession.INDIVIDUAL_ACKNOWLEDGE);
            MessageConsumer mc = s.createConsumer(q);
            expect(mc, "a", false, 1);
            expect(mc, "b", false, 1).acknowledge();
            expect(mc, "c", false, 1);
            s.recover();
            expect(mc, "a", true, 2).acknowledge();
            expect(mc, "c", true, 2);
            s.close();
            // recover() is local to the client: the broker counts one redelivery for the
            // close, so c, delivered twice, comes back with JMSXDeliveryCount 2, not 3.
            MessageConsumer again = c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q);
            expect(again, "c", true, 2);
            Env.none(again, "queue after INDIVIDUAL acknowledge");
        } finally {
            c.close();
        }
    }

    /** Transacted sends are invisible until commit; a rolled back send is discarded. */
    static void txCommit(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Queue q = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("q"));
            MessageConsumer mc = c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q);
            Session tx = c.createSession(true, SESSION_TRANSACTED);
            Env.check(tx.getTransacted(), "session is not transacted");
            Env.equal(SESSION_TRANSACTED, tx.getAcknowledgeMode(), "acknowledge mode of a transacted session");
            MessageProducer p = tx.createProducer(q);
            p.send(tx.createTextMessage("t1"));
            p.send(tx.createTextMessage("t2"));
            Env.none(mc, "before commit");
            tx.commit();
            expect(mc, "t1", false, 1);
            expect(mc, "t2", false, 1);
            p.send(tx.createTextMessage("gone"));
            tx.rollback();
            p.send(tx.createTextMessage("t3"));
            tx.commit();
            expect(mc, "t3", false, 1);
            Env.none(mc, "after the rolled back send");
        } finally {
            c.close();
        }
    }

    /**
     * A rollback redelivers the consumed messages (JMSRedelivered, a growing
     * JMSXDeliveryCount); a commit removes them.
     */
    static void txRollback(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Queue q = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("q"));
            send(c, q, "a", "b", "c");
            Session tx = c.createSession(true, SESSION_TRANSACTED);
            MessageConsumer mc = tx.createConsumer(q);
            expect(mc, "a", false, 1);
            expect(mc, "b", false, 1);
            tx.rollback();
            expect(mc, "a", true, 2);
            expect(mc, "b", true, 2);
            tx.rollback();
            expect(mc, "a", true, 3);
            tx.commit();
            expect(mc, "b", true, 3);
            expect(mc, "c", false, 1);
            tx.commit();
            Env.none(mc, "after commit");
            tx.close();

            // Consume and send in one transaction: both or neither.
            send(c, q, "in");
            Queue out = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("out"));
            Session t2 = c.createSession(true, SESSION_TRANSACTED);
            MessageConsumer in = t2.createConsumer(q);
            MessageProducer p = t2.createProducer(out);
            expect(in, "in", false, 1);
            p.send(t2.createTextMessage("forwarded"));
            t2.rollback();
            MessageConsumer outc = c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(out);
            Env.none(outc, "forwarded message after rollback");
            expect(in, "in", true, 2);
            p.send(t2.createTextMessage("forwarded"));
            t2.commit();
            expect(outc, "forwarded", false, 1);
            t2.close();
            Env.none(c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q), "input after commit");
        } finally {
            c.close();
        }
    }
}
