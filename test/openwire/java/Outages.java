import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Destination;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageProducer;
import javax.jms.Session;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.transport.TransportListener;

/**
 * Counts the interruptions of a failover connection (its broker went away)
 * and the resumptions that followed (it reconnected and restored its
 * state), as the connection's transport listener hears them.
 */
final class Outages implements TransportListener {
    private final AtomicInteger interrupted = new AtomicInteger();
    private final AtomicInteger resumed = new AtomicInteger();

    /** Starts counting c's outages. */
    static Outages watch(Connection c) {
        Outages o = new Outages();
        ((ActiveMQConnection) c).addTransportListener(o);
        return o;
    }

    /** How often the connection was interrupted so far. */
    int interrupted() {
        return interrupted.get();
    }

    /** How often it resumed after an interruption (the first connect does not count). */
    int resumed() {
        return resumed.get();
    }

    @Override
    public void onCommand(Object command) {
    }

    @Override
    public void onException(IOException error) {
    }

    @Override
    public void transportInterupted() {
        interrupted.incrementAndGet();
    }

    @Override
    public void transportResumed() {
        if (interrupted.get() > 0) {
            resumed.incrementAndGet();
        }
    }

    /** Makes the i-th message of a publication. */
    interface Make {
        Message make(Session s, int i) throws JMSException;
    }

    /**
     * Sends n persistent messages to d from a session of c (watched by o),
     * printing "PUBLISH n" first and "SENT k" after the k-th send returned
     * (the broker acknowledged it), so that the test can kill the master
     * in the middle. Fails unless c went through a failover during the
     * sends, with sends after it: a publication the kill missed proves
     * nothing. Returns how many sends returned after the failover.
     */
    static int publishThroughFailover(Connection c, Outages o, Destination d, int n, Make make) throws JMSException {
        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageProducer p = s.createProducer(d);
        p.setDeliveryMode(DeliveryMode.PERSISTENT);
        System.out.println("PUBLISH " + n);
        int after = 0;
        for (int i = 0; i < n; i++) {
            p.send(make.make(s, i));
            if (o.resumed() > 0) {
                after++;
            }
            System.out.println("SENT " + (i + 1));
        }
        s.close();
        Env.check(o.interrupted() > 0 && after > 0,
                "the publisher's connection went through no failover while sending (%d interruptions, %d sends after one)",
                o.interrupted(), after);
        System.out.println("INFO " + after + " of " + n + " sends returned after the failover");
        return after;
    }
}
