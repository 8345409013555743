import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The JMS side of the MQTT suite's interop test, on the ActiveMQ 5.17 client:
 *
 *   java MqttJms recv URL TOPIC N   prints READY once subscribed, then a MSG
 *                                   line per message (body, delivery mode,
 *                                   JMSReplyTo, JMSCorrelationID, the
 *                                   string properties sorted), DONE
 *   java MqttJms send URL TOPIC     sends a persistent text message with a
 *                                   string property, JMSReplyTo and
 *                                   JMSCorrelationID; prints SENT
 */
public final class MqttJms {
    public static void main(String[] args) throws Exception {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(120_000);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("WATCHDOG");
            System.exit(3);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        Connection c = new ActiveMQConnectionFactory(args[1]).createConnection();
        try {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            if (args[0].equals("send")) {
                MessageProducer p = s.createProducer(s.createTopic(args[2]));
                TextMessage t = s.createTextMessage("from jms");
                t.setStringProperty("color", "blue");
                t.setStringProperty("shape", "round");
                t.setJMSReplyTo(s.createTopic("inter.jms.replies"));
                t.setJMSCorrelationID("jms-corr-9");
                p.send(t, DeliveryMode.PERSISTENT, 4, 0);
                System.out.println("SENT");
                return;
            }
            MessageConsumer mc = s.createConsumer(s.createTopic(args[2]));
            System.out.println("READY");
            int n = Integer.parseInt(args[3]);
            for (int i = 0; i < n; i++) {
                Message m = mc.receive(60_000);
                if (m == null) {
                    System.out.println("TIMEOUT after " + i);
                    System.exit(1);
                }
                System.out.println("MSG " + describe(m));
            }
            System.out.println("DONE");
        } finally {
            c.close();
        }
    }

    static String describe(Message m) throws Exception {
        String body;
        if (m instanceof TextMessage) {
            body = "text:" + ((TextMessage) m).getText();
        } else if (m instanceof BytesMessage) {
            BytesMessage b = (BytesMessage) m;
            byte[] raw = new byte[(int) b.getBodyLength()];
            b.readBytes(raw);
            body = "bytes:" + new String(raw, StandardCharsets.UTF_8);
        } else {
            body = "other:" + m.getClass().getSimpleName();
        }
        List<String> props = new ArrayList<>();
        for (Enumeration<?> e = m.getPropertyNames(); e.hasMoreElements();) {
            String k = (String) e.nextElement();
            Object v = m.getObjectProperty(k);
            if (v instanceof String) {
                props.add(k + "=" + v);
            }
        }
        Collections.sort(props);
        return "body=" + body + " persistent=" + (m.getJMSDeliveryMode() == DeliveryMode.PERSISTENT)
                + " replyTo=" + m.getJMSReplyTo() + " corr=" + m.getJMSCorrelationID() + " props=" + String.join(",", props);
    }
}
