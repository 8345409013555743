import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TemporaryQueue;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * A network of two brokers as JMS applications see it:
 *
 *   java NetworkScenarios URL_A URL_B PREFIX
 *
 * A responder on B answers requests sent on A to a temporary queue of the
 * requester on A (request/reply across the bridge); persistent messages
 * produced on A reach a consumer on B, each once; topic messages published
 * on A reach a subscriber on B. Prints "OK" and exits 0, or prints
 * "FAIL ..." and exits 1.
 */
public final class NetworkScenarios {
    public static void main(String[] args) throws Exception {
        Scenarios.startWatchdog(120);
        String prefix = args[2];
        Connection a = new ActiveMQConnectionFactory(args[0]).createConnection();
        Connection b = new ActiveMQConnectionFactory(args[1]).createConnection();
        a.start();
        b.start();
        try {
            // The responder on B.
            Session bs = b.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer requests = bs.createConsumer(bs.createQueue(prefix + ".requests"));
            Session bps = b.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer replier = bps.createProducer(null);
            requests.setMessageListener(m -> {
                try {
                    TextMessage r = bps.createTextMessage("re: " + ((TextMessage) m).getText());
                    r.setJMSCorrelationID(m.getJMSCorrelationID());
                    replier.send(m.getJMSReplyTo(), r);
                } catch (Exception e) {
                    System.out.println("FAIL responder: " + e);
                    System.exit(1);
                }
            });
            // Synchronous consumers need a session without a listener.
            Session bs2 = b.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer work = bs2.createConsumer(bs2.createQueue(prefix + ".work"));
            MessageConsumer news = bs2.createConsumer(bs2.createTopic(prefix + ".news"));

            // The requester on A. Its temporary queue must be known on B
            // before B replies (B's bridge learns of it from A's consumer
            // advisories), as with ActiveMQ's network of brokers.
            Session as = a.createSession(false, Session.AUTO_ACKNOWLEDGE);
            TemporaryQueue replyTo = as.createTemporaryQueue();
            MessageConsumer replies = as.createConsumer(replyTo);
            Thread.sleep(1500);
            MessageProducer requester = as.createProducer(as.createQueue(prefix + ".requests"));
            for (int i = 0; i < 20; i++) {
                TextMessage q = as.createTextMessage("q" + i);
                q.setJMSReplyTo(replyTo);
                q.setJMSCorrelationID("c" + i);
                requester.send(q);
                Message r = replies.receive(15000);
                if (!(r instanceof TextMessage) || !("re: q" + i).equals(((TextMessage) r).getText())
                        || !("c" + i).equals(r.getJMSCorrelationID())) {
                    fail("reply " + i + ": " + r);
                }
            }

            MessageProducer p = as.createProducer(as.createQueue(prefix + ".work"));
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int i = 0; i < 200; i++) {
                p.send(as.createTextMessage("w" + i));
            }
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (int i = 0; i < 200; i++) {
                Message m = work.receive(15000);
                if (!(m instanceof TextMessage)) {
                    fail("work: got " + seen.size() + " of 200, then " + m);
                }
                if (!seen.add(((TextMessage) m).getText())) {
                    fail("work: " + ((TextMessage) m).getText() + " twice");
                }
            }
            if (work.receive(500) != null) {
                fail("work: more than 200 messages");
            }

            MessageProducer pub = as.createProducer(as.createTopic(prefix + ".news"));
            for (int i = 0; i < 10; i++) {
                pub.send(as.createTextMessage("n" + i));
            }
            for (int i = 0; i < 10; i++) {
                Message m = news.receive(15000);
                if (!(m instanceof TextMessage) || !("n" + i).equals(((TextMessage) m).getText())) {
                    fail("news " + i + ": " + m);
                }
            }
            if (news.receive(500) != null) {
                fail("news: a message came twice");
            }
            System.out.println("OK");
        } finally {
            a.close();
            b.close();
        }
        System.exit(0);
    }

    private static void fail(String what) {
        System.out.println("FAIL " + what);
        System.exit(1);
    }
}
