// BrowseTimer times a JMS QueueBrowser, the way ActiveMQ's web console
// (browse.jsp) reads a queue, with ActiveMQ's own JMS client over OpenWire,
// for bench/compare-console.sh: for each of --repeat browses, the time to
// the first message, to the 25th (Pier's page), to the 400th (the broker's
// browse page) and to the end of the enumeration (what browse.jsp must reach
// before its page is complete), bounded by --timeout seconds. It stops
// repeating after a browse that did not end in time. It prints one line of
// key=value pairs (medians over the browses in ms, or "-" for none).
//
//   java -cp ACTIVEMQ_JARS:. BrowseTimer --url tcp://127.0.0.1:61616 --queue cb.deep \
//       [--user U --password P] [--repeat 10] [--timeout 120]
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import javax.jms.Connection;
import javax.jms.QueueBrowser;
import javax.jms.Session;

import org.apache.activemq.ActiveMQConnectionFactory;

public class BrowseTimer {
    /** One browse's marks, in ns from its start; -1 when not reached. */
    static final class Marks {
        final AtomicLong first = new AtomicLong(-1), page = new AtomicLong(-1), browsePage = new AtomicLong(-1),
                end = new AtomicLong(-1), count = new AtomicLong();
        volatile Exception failed;
        /** Set when the browse is given up: an enumeration that ends after it was cut, not by the broker. */
        final java.util.concurrent.atomic.AtomicBoolean cut = new java.util.concurrent.atomic.AtomicBoolean();
    }

    public static void main(String[] args) throws Exception {
        String url = "tcp://127.0.0.1:61616", queue = "cb.deep", user = null, password = null;
        int repeat = 10, timeout = 120;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--url": url = args[i + 1]; break;
                case "--queue": queue = args[i + 1]; break;
                case "--user": user = args[i + 1]; break;
                case "--password": password = args[i + 1]; break;
                case "--repeat": repeat = Integer.parseInt(args[i + 1]); break;
                case "--timeout": timeout = Integer.parseInt(args[i + 1]); break;
                default: throw new IllegalArgumentException("unknown flag " + args[i]);
            }
        }
        ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory(url);
        if (user != null) {
            cf.setUserName(user);
            cf.setPassword(password);
        }
        List<Marks> done = new ArrayList<>();
        int timeouts = 0;
        for (int r = 0; r < repeat; r++) {
            Marks m = browse(cf, queue, timeout);
            if (m.failed != null) throw m.failed;
            done.add(m);
            System.err.printf("BrowseTimer: %s: %d messages, first %s ms, 25th %s ms, 400th %s ms, end %s ms%n", queue,
                    m.count.get(), ms(m.first.get()), ms(m.page.get()), ms(m.browsePage.get()), ms(m.end.get()));
            if (m.end.get() < 0) {
                timeouts++;
                break; // another would take as long
            }
        }
        Marks first = done.get(0);
        System.out.printf("first_msg_ms=%s page_ms=%s browse_page_ms=%s end_ms=%s first_end_ms=%s max_end_ms=%s first_messages=%d messages=%d browses=%d timeouts=%d%n",
                median(done, 0), median(done, 1), median(done, 2), median(done, 3), ms(first.end.get()),
                maxEnd(done), first.count.get(), done.get(done.size() - 1).count.get(), done.size(), timeouts);
    }

    /** browse enumerates the queue in a thread, waiting at most timeout seconds. */
    static Marks browse(ActiveMQConnectionFactory cf, String queue, int timeout) throws Exception {
        Marks m = new Marks();
        Connection conn = cf.createConnection();
        conn.start();
        Thread t = new Thread(() -> {
            try {
                Session s = conn.createSession(false, Session.AUTO_ACKNOWLEDGE);
                long start = System.nanoTime();
                QueueBrowser b = s.createBrowser(s.createQueue(queue));
                Enumeration<?> e = b.getEnumeration();
                while (e.hasMoreElements()) {
                    e.nextElement();
                    long n = m.count.incrementAndGet(), at = System.nanoTime() - start;
                    if (n == 1) m.first.set(at);
                    if (n == 25) m.page.set(at);
                    if (n == 400) m.browsePage.set(at);
                }
                if (!m.cut.get()) m.end.set(System.nanoTime() - start);
                b.close();
            } catch (Exception ex) {
                if (m.end.get() < 0 && !m.cut.get()) m.failed = ex;
            }
        });
        t.setDaemon(true);
        t.start();
        t.join(timeout * 1000L);
        boolean ended = !t.isAlive();
        if (!ended) {
            m.cut.set(true);
            t.interrupt();
        }
        try {
            conn.close();
        } catch (Exception ignored) {
            // closing ends a browse that did not end
        }
        if (!ended) m.failed = null;
        return m;
    }

    static String ms(long ns) {
        return ns < 0 ? "-" : String.format("%.1f", ns / 1e6);
    }

    /** median of mark k (0 first, 1 page, 2 browse page, 3 end) over the browses that reached it. */
    static String median(List<Marks> ms, int k) {
        List<Long> v = new ArrayList<>();
        for (Marks m : ms) {
            long x = k == 0 ? m.first.get() : k == 1 ? m.page.get() : k == 2 ? m.browsePage.get() : m.end.get();
            if (x >= 0) v.add(x);
        }
        if (v.isEmpty()) return "-";
        Collections.sort(v);
        return ms(v.get((v.size() - 1) / 2));
    }

    static String maxEnd(List<Marks> ms) {
        long max = -1;
        for (Marks m : ms) max = Math.max(max, m.end.get());
        return ms(max);
    }
}
