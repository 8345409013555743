import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.transport.failover.FailoverTransport;

/**
 * A failover client that knows one broker and must find another, which
 * that broker advertised (updateClusterClients):
 *
 *   java ClusterFailover URL QUEUE GOFILE
 *
 * Sends one persistent message to QUEUE and receives it, prints
 * "FIRST uri" (the broker it is connected to) and "READY", waits until the
 * file GOFILE exists (the first broker is stopped meanwhile), then sends
 * and receives a second message and prints "SECOND uri".
 *
 * The first consumer is closed before the failover and a new one receives
 * the second message: a consumer the client restores on a broker that is
 * up at once may be restored with prefetch 0 and then raised by a
 * ConsumerControl (ConnectionStateTracker.restoreConsumers), which Pier
 * does not apply yet; this program checks the move, not that.
 */
public final class ClusterFailover {
    public static void main(String[] args) throws Exception {
        Scenarios.startWatchdog(90);
        Connection c = new ActiveMQConnectionFactory(args[0]).createConnection();
        try {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer p = s.createProducer(s.createQueue(args[1]));
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            MessageConsumer mc = s.createConsumer(s.createQueue(args[1]));
            roundTrip(p, s, mc, "first");
            mc.close();
            System.out.println("FIRST " + connectedTo(c));
            System.out.println("READY");
            System.out.flush();
            while (!new java.io.File(args[2]).exists()) {
                Thread.sleep(50);
            }
            roundTrip(p, s, s.createConsumer(s.createQueue(args[1])), "second");
            System.out.println("SECOND " + connectedTo(c));
        } finally {
            c.close();
        }
    }

    private static void roundTrip(MessageProducer p, Session s, MessageConsumer mc, String text) throws Exception {
        p.send(s.createTextMessage(text));
        Message m = mc.receive(20000);
        if (!(m instanceof TextMessage) || !text.equals(((TextMessage) m).getText())) {
            System.out.println("WRONG " + text + ": " + m);
            System.exit(1);
        }
    }

    private static String connectedTo(Connection c) {
        FailoverTransport ft = ((ActiveMQConnection) c).getTransport().narrow(FailoverTransport.class);
        return String.valueOf(ft.getConnectedTransportURI());
    }
}
