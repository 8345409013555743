import java.util.BitSet;

import javax.jms.Connection;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.Session;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * A logged-in failover consumer (AUTO_ACKNOWLEDGE): receives from a queue
 * until it has seen messages 0..N-1 (property "n") or TIMEOUT_S passed.
 *
 *   java FailoverReceive URL USER PASSWORD QUEUE N TIMEOUT_S
 *
 * Prints "READY" once its consumer exists, "INTERRUPTED"/"RESUMED" around
 * failovers, "DUP n redelivered=B" for each message seen twice, and last
 *
 *   RESULT received=R distinct=D duplicates=X missing=M
 *
 * with "MISSING a,b,..." (the first 50) when some never came. Exits 0
 * when every message came exactly once.
 */
public final class FailoverReceive {
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: java FailoverReceive URL USER PASSWORD QUEUE N TIMEOUT_S");
            System.exit(2);
        }
        int n = Integer.parseInt(args[4]);
        long timeout = Long.parseLong(args[5]);
        Scenarios.startWatchdog(timeout + 30);
        long deadline = System.currentTimeMillis() + timeout * 1000;
        BitSet seen = new BitSet(n);
        int received = 0;
        int dups = 0;
        Connection c = new ActiveMQConnectionFactory(args[0]).createConnection(args[1], args[2]);
        try {
            ((ActiveMQConnection) c).addTransportListener(new FailoverSend.Hooks());
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer mc = s.createConsumer(s.createQueue(args[3]));
            System.out.println("READY");
            System.out.flush();
            while (seen.cardinality() < n && System.currentTimeMillis() < deadline) {
                Message m = mc.receive(250);
                if (m == null) {
                    continue;
                }
                received++;
                int i = m.getIntProperty("n");
                if (seen.get(i)) {
                    dups++;
                    System.out.println("DUP " + i + " redelivered=" + m.getJMSRedelivered());
                }
                seen.set(i);
            }
            // Anything more after the last one is a duplicate too.
            for (Message m = mc.receive(500); m != null; m = mc.receive(500)) {
                received++;
                dups++;
                System.out.println("DUP " + m.getIntProperty("n") + " redelivered=" + m.getJMSRedelivered());
            }
        } catch (Exception e) {
            System.out.println("FAIL consumer: " + e);
            e.printStackTrace(System.out);
        } finally {
            try {
                c.close();
            } catch (Exception e) {
                // ending anyway
            }
        }
        int missing = n - seen.cardinality();
        System.out.printf("RESULT received=%d distinct=%d duplicates=%d missing=%d%n", received, seen.cardinality(),
                dups, missing);
        if (missing > 0) {
            StringBuilder b = new StringBuilder("MISSING ");
            int shown = 0;
            for (int i = seen.nextClearBit(0); i < n && shown < 50; i = seen.nextClearBit(i + 1), shown++) {
                b.append(shown == 0 ? "" : ",").append(i);
            }
            System.out.println(b);
        }
        System.out.flush();
        System.exit(missing == 0 && dups == 0 ? 0 : 1);
    }
}
