import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * A logged-in failover producer: sends N persistent messages numbered
 * 0..N-1 (property "n") to a queue, one every DELAY_MS, and prints
 * "ACK n" once each send returned (the broker stored it).
 *
 *   java FailoverSend URL USER PASSWORD QUEUE N DELAY_MS
 *
 * Prints "INTERRUPTED" and "RESUMED" when the failover transport loses and
 * regains the broker, "DONE" at the end; exits 1 on any exception.
 */
public final class FailoverSend {
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: java FailoverSend URL USER PASSWORD QUEUE N DELAY_MS");
            System.exit(2);
        }
        Scenarios.startWatchdog(Long.getLong("watchdog.seconds", 120));
        int n = Integer.parseInt(args[4]);
        long delay = Long.parseLong(args[5]);
        Connection c = new ActiveMQConnectionFactory(args[0]).createConnection(args[1], args[2]);
        int status = 0;
        try {
            ((ActiveMQConnection) c).addTransportListener(new Hooks());
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer p = s.createProducer(s.createQueue(args[3]));
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int i = 0; i < n; i++) {
                TextMessage m = s.createTextMessage("message " + i);
                m.setIntProperty("n", i);
                p.send(m);
                System.out.println("ACK " + i);
                System.out.flush();
                Thread.sleep(delay);
            }
            System.out.println("DONE");
        } catch (Exception e) {
            System.out.println("FAIL producer: " + e);
            e.printStackTrace(System.out);
            status = 1;
        } finally {
            try {
                c.close();
            } catch (Exception e) {
                // ending anyway
            }
        }
        System.out.flush();
        System.exit(status);
    }

    /** Prints the failover transport's interruptions and resumptions. */
    static final class Hooks implements org.apache.activemq.transport.TransportListener {
        public void onCommand(Object command) {
        }

        public void onException(java.io.IOException error) {
            System.out.println("EXCEPTION " + error);
        }

        public void transportInterupted() {
            System.out.println("INTERRUPTED");
            System.out.flush();
        }

        public void transportResumed() {
            System.out.println("RESUMED");
            System.out.flush();
        }
    }
}
