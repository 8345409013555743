import java.util.BitSet;

import javax.jms.Connection;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.Session;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * Receives from a queue (AUTO_ACKNOWLEDGE) until it has seen N distinct
 * sequence numbers (property "seq", 0..N-1) or TIMEOUT_S seconds passed.
 *
 *   java FailoverConsumer URL QUEUE N TIMEOUT_S
 *
 * Prints "READY" once consuming, then one "DUP seq redelivered=B" line per
 * duplicate, and a last line
 *
 *   RESULT received=R distinct=D duplicates=X redelivered_duplicates=Y missing=M
 *
 * followed by "MISSING a,b,..." (at most 50) when some are missing. Exits 0
 * when nothing is missing and every duplicate was marked JMSRedelivered.
 */
public final class FailoverConsumer {
    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: java FailoverConsumer URL QUEUE N TIMEOUT_S");
            System.exit(2);
        }
        int n = Integer.parseInt(args[2]);
        long deadline = System.currentTimeMillis() + Long.parseLong(args[3]) * 1000;
        Scenarios.startWatchdog(Long.parseLong(args[3]) + 30);
        BitSet seen = new BitSet(n);
        int received = 0;
        int dups = 0;
        int redeliveredDups = 0;
        Connection c = new ActiveMQConnectionFactory(args[0]).createConnection();
        try {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer mc = s.createConsumer(s.createQueue(args[1]));
            System.out.println("READY");
            System.out.flush();
            while (seen.cardinality() < n && System.currentTimeMillis() < deadline) {
                Message m = mc.receive(500);
                if (m == null) {
                    continue;
                }
                received++;
                int seq = m.getIntProperty("seq");
                if (seen.get(seq)) {
                    dups++;
                    if (m.getJMSRedelivered()) {
                        redeliveredDups++;
                    }
                    System.out.println("DUP " + seq + " redelivered=" + m.getJMSRedelivered());
                }
                seen.set(seq);
            }
        } catch (Exception e) {
            System.out.println("FAIL consumer: " + e);
            e.printStackTrace(System.out);
        } finally {
            Env.closeQuietly(c);
        }
        int missing = n - seen.cardinality();
        System.out.printf("RESULT received=%d distinct=%d duplicates=%d redelivered_duplicates=%d missing=%d%n",
                received, seen.cardinality(), dups, redeliveredDups, missing);
        if (missing > 0) {
            StringBuilder sb = new StringBuilder("MISSING ");
            int shown = 0;
            for (int i = seen.nextClearBit(0); i < n && shown < 50; i = seen.nextClearBit(i + 1), shown++) {
                sb.append(shown == 0 ? "" : ",").append(i);
            }
            System.out.println(sb);
        }
        System.out.flush();
        System.exit(missing == 0 && dups == redeliveredDups ? 0 : 1);
    }
}
