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
 * The JMS half of the cross-protocol test (the other half speaks STOMP):
 *
 *   java CrossProtocol send URL QUEUE   sends a text and a bytes message
 *   java CrossProtocol recv URL QUEUE N  prints one MSG line per message
 */
public final class CrossProtocol {
    public static void main(String[] args) throws Exception {
        Scenarios.startWatchdog(60);
        Connection c = new ActiveMQConnectionFactory(args[1]).createConnection();
        try {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            if (args[0].equals("send")) {
                MessageProducer p = s.createProducer(s.createQueue(args[2]));
                p.setDeliveryMode(DeliveryMode.PERSISTENT);
                TextMessage t = s.createTextMessage("jms text \u2713 \uD83D\uDE00");
                t.setStringProperty("color", "red");
                t.setIntProperty("count", 7);
                t.setBooleanProperty("ok", true);
                t.setJMSCorrelationID("corr-1");
                t.setJMSType("greeting");
                p.send(t, DeliveryMode.PERSISTENT, 6, 0);
                BytesMessage b = s.createBytesMessage();
                b.writeBytes(new byte[] {0, 1, 2, (byte) 0xff});
                p.send(b);
                System.out.println("SENT 2");
                return;
            }
            MessageConsumer mc = s.createConsumer(s.createQueue(args[2]));
            int n = Integer.parseInt(args[3]);
            for (int i = 0; i < n; i++) {
                Message m = mc.receive(20000);
                if (m == null) {
                    System.out.println("TIMEOUT after " + i);
                    System.exit(1);
                }
                StringBuilder hex = new StringBuilder();
                String kind;
                if (m instanceof TextMessage) {
                    kind = "text";
                    for (byte x : ((TextMessage) m).getText().getBytes("UTF-8")) {
                        hex.append(String.format("%02x", x));
                    }
                } else {
                    kind = "bytes";
                    BytesMessage b = (BytesMessage) m;
                    byte[] body = new byte[(int) b.getBodyLength()];
                    b.readBytes(body);
                    for (byte x : body) {
                        hex.append(String.format("%02x", x));
                    }
                }
                System.out.println("MSG kind=" + kind + " body=" + hex + " corr=" + m.getJMSCorrelationID()
                        + " color=" + m.getStringProperty("color") + " persistent="
                        + (m.getJMSDeliveryMode() == DeliveryMode.PERSISTENT) + " priority=" + m.getJMSPriority());
            }
        } finally {
            c.close();
        }
    }
}
