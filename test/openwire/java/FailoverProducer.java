import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * Sends N persistent messages with sequence numbers 0..N-1 to a queue and
 * prints "ACK seq" after each send() returned (a persistent send is
 * synchronous: the broker has stored it). Meant for a failover: URL while
 * the broker is killed and restarted; the send blocks during the outage.
 *
 *   java FailoverProducer URL QUEUE N [DELAY_MS]
 *
 * Prints "DONE n" and exits 0 when all were acknowledged; any exception
 * exits 1. A watchdog (-Dwatchdog.seconds, default 150) exits 3.
 */
public final class FailoverProducer {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: java FailoverProducer URL QUEUE N [DELAY_MS]");
            System.exit(2);
        }
        Scenarios.startWatchdog(Long.getLong("watchdog.seconds", 150));
        int n = Integer.parseInt(args[2]);
        long delay = args.length > 3 ? Long.parseLong(args[3]) : 0;
        Connection c = new ActiveMQConnectionFactory(args[0]).createConnection();
        try {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer p = s.createProducer(s.createQueue(args[1]));
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int i = 0; i < n; i++) {
                TextMessage m = s.createTextMessage("seq " + i);
                m.setIntProperty("seq", i);
                p.send(m);
                System.out.println("ACK " + i);
                System.out.flush();
                if (delay > 0) {
                    Thread.sleep(delay);
                }
            }
            System.out.println("DONE " + n);
        } catch (Exception e) {
            System.out.println("FAIL producer: " + e);
            e.printStackTrace(System.out);
            System.exit(1);
        } finally {
            Env.closeQuietly(c);
        }
        System.exit(0);
    }
}
