import static javax.jms.Session.AUTO_ACKNOWLEDGE;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.InvalidSelectorException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TextMessage;
import javax.jms.Topic;

/** JMS header fields and message selectors. */
final class HeaderScenarios {
    private HeaderScenarios() {
    }

    /** JMSMessageID is "ID:…", unique, and the consumer sees the producer's; other headers survive. */
    static void messageID(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageProducer p = s.createProducer(q);
            MessageConsumer mc = s.createConsumer(q);
            int n = 50;
            List<String> sent = new ArrayList<>();
            long before = System.currentTimeMillis();
            for (int i = 0; i < n; i++) {
                p.setDeliveryMode(i % 2 == 0 ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
                TextMessage m = s.createTextMessage("m" + i);
                p.send(m);
                Env.check(m.getJMSMessageID() != null && m.getJMSMessageID().startsWith("ID:"),
                        "JMSMessageID %s", m.getJMSMessageID());
                sent.add(m.getJMSMessageID());
            }
            long after = System.currentTimeMillis();
            Env.equal(n, new HashSet<>(sent).size(), "distinct JMSMessageIDs");
            // ActiveMQ keeps persistent and non-persistent messages of a queue in two
            // lists (StoreQueueCursor), so order holds only within one delivery mode.
            int nextEven = 0;
            int nextOdd = 1;
            for (int k = 0; k < n; k++) {
                Message m = Env.recv(mc, "message " + k);
                int i = Integer.parseInt(((TextMessage) m).getText().substring(1));
                Env.equal(i % 2 == 0 ? nextEven : nextOdd, i, "order within the delivery mode");
                if (i % 2 == 0) {
                    nextEven += 2;
                } else {
                    nextOdd += 2;
                }
                Env.equal(sent.get(i), m.getJMSMessageID(), "JMSMessageID of m" + i);
                Env.equal(i % 2 == 0 ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT,
                        m.getJMSDeliveryMode(), "JMSDeliveryMode of m" + i);
                Env.check(m.getJMSTimestamp() >= before && m.getJMSTimestamp() <= after,
                        "JMSTimestamp %d outside [%d, %d]", m.getJMSTimestamp(), before, after);
                Env.equal(q, m.getJMSDestination(), "JMSDestination");
                Env.equal(4, m.getJMSPriority(), "default JMSPriority");
                Env.equal(0L, m.getJMSExpiration(), "JMSExpiration without TTL");
                Env.equal(null, m.getJMSCorrelationID(), "JMSCorrelationID");
                Env.equal(null, m.getJMSReplyTo(), "JMSReplyTo");
                Env.equal(null, m.getJMSType(), "JMSType");
                Env.check(!m.getJMSRedelivered(), "JMSRedelivered on first delivery");
            }
            p.setDisableMessageID(true); // only a hint: ActiveMQ assigns ids anyway
            Message m = s.createTextMessage("x");
            p.send(m);
            Env.check(Env.recv(mc, "with disableMessageID").getJMSMessageID().startsWith("ID:"), "id with disableMessageID");
        } finally {
            c.close();
        }
    }

    /**
     * JMSPriority is carried to the consumer. With ActiveMQ's default
     * configuration (policy prioritizedMessages=false) it does not reorder a
     * queue: messages sent with priority 1 and then 9 before the consumer
     * exists come out FIFO. JMS 1.1 3.4.10 asks only for best effort, and
     * ActiveMQ with prioritizedMessages=true delivers the high ones first, so
     * both orders are accepted (and printed); nothing else is.
     */
    static void priority(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageProducer p = s.createProducer(q);
            for (int i = 0; i < 4; i++) {
                p.send(s.createTextMessage("low" + i), DeliveryMode.PERSISTENT, 1, 0);
            }
            for (int i = 0; i < 4; i++) {
                p.send(s.createTextMessage("high" + i), DeliveryMode.PERSISTENT, 9, 0);
            }
            MessageConsumer mc = s.createConsumer(q);
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Message m = Env.recv(mc, "message " + i);
                got.add(((TextMessage) m).getText() + "/" + m.getJMSPriority());
            }
            List<String> fifo = List.of("low0/1", "low1/1", "low2/1", "low3/1", "high0/9", "high1/9", "high2/9", "high3/9");
            List<String> byPriority = List.of("high0/9", "high1/9", "high2/9", "high3/9", "low0/1", "low1/1", "low2/1", "low3/1");
            if (got.equals(byPriority)) {
                System.out.println("NOTE priority order (ActiveMQ's default is FIFO: prioritizedMessages=false)");
                return;
            }
            Env.equal(fifo, got, "consumption order (FIFO as ActiveMQ by default, or by priority)");
        } finally {
            c.close();
        }
    }

    /** A message with a 100 ms time to live is not delivered after 1 s; one with a long TTL is. */
    static void expiration(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageProducer p = s.createProducer(q);
            String mark = env.name("expired");
            TextMessage dies = s.createTextMessage("dies");
            dies.setStringProperty("mark", mark);
            p.send(dies, DeliveryMode.PERSISTENT, 4, 100);
            Env.check(dies.getJMSExpiration() == dies.getJMSTimestamp() + 100, "JMSExpiration %d, timestamp %d",
                    dies.getJMSExpiration(), dies.getJMSTimestamp());
            TextMessage lives = s.createTextMessage("lives");
            p.send(lives, DeliveryMode.PERSISTENT, 4, 60_000);
            p.send(s.createTextMessage("forever"));
            Thread.sleep(1000);
            MessageConsumer mc = s.createConsumer(q);
            Message m = Env.recv(mc, "long TTL message");
            Env.equal("lives", ((TextMessage) m).getText(), "first message after the expiry");
            Env.equal(lives.getJMSExpiration(), m.getJMSExpiration(), "JMSExpiration of the long TTL message");
            Env.equal("forever", ((TextMessage) Env.recv(mc, "no TTL message")).getText(), "second message");
            Env.none(mc, "after the live messages");

            // ActiveMQ moves an expired persistent message to ActiveMQ.DLQ, without its expiration.
            MessageConsumer dlq = s.createConsumer(s.createQueue("ActiveMQ.DLQ"), "mark = '" + mark + "'");
            Message d = Env.recv(dlq, "expired message on ActiveMQ.DLQ");
            Env.equal(dies.getJMSMessageID(), d.getJMSMessageID(), "JMSMessageID of the expired message");
            Env.equal(0L, d.getJMSExpiration(), "JMSExpiration on the DLQ");
        } finally {
            c.close();
        }
    }

    /** JMSCorrelationID, JMSType and JMSReplyTo (queue and topic) reach the consumer unchanged. */
    static void correlationAndType(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            Queue rq = s.createQueue(env.name("reply"));
            Topic rt = s.createTopic(env.name("reply"));
            MessageProducer p = s.createProducer(q);
            MessageConsumer mc = s.createConsumer(q);
            TextMessage a = s.createTextMessage("a");
            a.setJMSCorrelationID("corr-" + MessageScenarios.TRICKY);
            a.setJMSType("order.created");
            a.setJMSReplyTo(rq);
            p.send(a);
            TextMessage b = s.createTextMessage("b");
            b.setJMSCorrelationIDAsBytes(new byte[] {'x', 'y'});
            b.setJMSReplyTo(rt);
            p.send(b);
            Message ga = Env.recv(mc, "a");
            Env.equal("corr-" + MessageScenarios.TRICKY, ga.getJMSCorrelationID(), "JMSCorrelationID");
            Env.equal("order.created", ga.getJMSType(), "JMSType");
            Env.equal(rq, ga.getJMSReplyTo(), "JMSReplyTo queue");
            Message gb = Env.recv(mc, "b");
            Env.equal("xy", gb.getJMSCorrelationID(), "JMSCorrelationID from bytes");
            Env.equal(rt, gb.getJMSReplyTo(), "JMSReplyTo topic");
        } finally {
            c.close();
        }
    }

    /** Message selectors on a queue consumer; non-matching messages stay for others. */
    static void selector(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageProducer p = s.createProducer(q);
            String[][] items = {
                {"red", "5"}, {"red", "15"}, {"blue", "20"}, {"red", "11"}, {"green", "30"}, {"red", "10"},
            };
            for (int i = 0; i < items.length; i++) {
                TextMessage m = s.createTextMessage("m" + i);
                m.setStringProperty("color", items[i][0]);
                m.setIntProperty("weight", Integer.parseInt(items[i][1]));
                m.setJMSType(i % 2 == 0 ? "even" : "odd");
                p.send(m, DeliveryMode.PERSISTENT, i == 5 ? 7 : 4, 0); // one priority: FIFO on any broker
            }
            Env.equal(List.of("m1", "m3"), drain(s, q, "color = 'red' AND weight > 10"), "color = 'red' AND weight > 10");
            Env.equal(List.of("m2", "m4"), drain(s, q, "color IN ('blue', 'green') AND weight BETWEEN 20 AND 30"), "IN/BETWEEN");
            Env.equal(List.of("m5"), drain(s, q, "JMSType = 'odd' AND JMSPriority > 4 AND color LIKE 'r_d'"), "headers and LIKE");
            Env.equal(List.of(), drain(s, q, "missing IS NOT NULL"), "IS NOT NULL on an absent property");
            Env.equal(List.of("m0"), drain(s, q, "missing IS NULL"), "IS NULL");
            Env.exactly(InvalidSelectorException.class,
                    Env.expectThrow("bad selector", () -> s.createConsumer(q, "color = ")), "invalid selector");
        } finally {
            c.close();
        }
    }

    private static List<String> drain(Session s, Queue q, String selector) throws Exception {
        MessageConsumer mc = s.createConsumer(q, selector);
        Env.equal(selector, mc.getMessageSelector(), "getMessageSelector");
        List<String> got = new ArrayList<>();
        for (Message m; (m = mc.receive(Env.QUIET_MS)) != null; ) {
            got.add(((TextMessage) m).getText());
        }
        mc.close();
        return got;
    }
}
