import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;
import javax.jms.TransactionRolledBackException;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * A transaction that a broker failover interrupts:
 *
 *   java TxFailover URL QUEUE GOFILE
 *
 * Puts 5 persistent messages on QUEUE, consumes 3 of them in a transacted
 * session that also sends one message to QUEUE.out, prints "INFLIGHT" and
 * waits until the file GOFILE exists (the broker is killed and restarted
 * meanwhile), then commits and prints "COMMITTED", "ROLLEDBACK" or "OTHER",
 * then "QUEUE n OUT m": what each queue holds afterwards.
 */
public final class TxFailover {
    public static void main(String[] args) throws Exception {
        Scenarios.startWatchdog(90);
        Connection c = new ActiveMQConnectionFactory(args[0]).createConnection();
        try {
            c.start();
            Session ps = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer p = ps.createProducer(ps.createQueue(args[1]));
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int i = 0; i < 5; i++) {
                p.send(ps.createTextMessage("m" + i));
            }
            Session tx = c.createSession(true, Session.SESSION_TRANSACTED);
            MessageConsumer mc = tx.createConsumer(tx.createQueue(args[1]));
            for (int i = 0; i < 3; i++) {
                if (mc.receive(10000) == null) {
                    System.out.println("TIMEOUT");
                    System.exit(1);
                }
            }
            tx.createProducer(tx.createQueue(args[1] + ".out")).send(tx.createTextMessage("derived"));
            System.out.println("INFLIGHT");
            System.out.flush();
            while (!new java.io.File(args[2]).exists()) {
                Thread.sleep(50);
            }
            try {
                tx.commit();
                System.out.println("COMMITTED");
            } catch (TransactionRolledBackException e) {
                System.out.println("ROLLEDBACK");
            } catch (JMSException e) {
                System.out.println("OTHER " + e);
            }
            mc.close();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            System.out.println("QUEUE " + drain(s, args[1]) + " OUT " + drain(s, args[1] + ".out"));
        } finally {
            c.close();
        }
    }

    private static int drain(Session s, String queue) throws JMSException {
        MessageConsumer mc = s.createConsumer(s.createQueue(queue));
        int n = 0;
        while (mc.receive(1500) != null) {
            n++;
        }
        mc.close();
        return n;
    }
}
