// JmsBench generates JMS (OpenWire) load against a broker with the ActiveMQ
// 5.x client and measures throughput and end-to-end latency. It is the
// OpenWire counterpart of `pier bench` (STOMP) and prints the same JSON keys,
// on one line, so bench/compare-activemq.sh reads both the same way.
//
// Build and run with Debian's libactivemq-java jars (no other dependencies):
//
//   CP=/usr/share/java/activemq-client.jar:/usr/share/java/geronimo-jms_1.1_spec.jar:\
//   /usr/share/java/geronimo-j2ee-management-1.1-spec.jar:/usr/share/java/hawtbuf.jar:\
//   /usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
//   javac -cp "$CP" -d /tmp/jmsbench bench/openwire/JmsBench.java
//   java -cp "$CP:/tmp/jmsbench" JmsBench --url tcp://127.0.0.1:61616 --count 10000
//
// Each producer and each consumer has its own connection and session.
// Persistent sends are synchronous (the JMS default); consumers use
// AUTO_ACKNOWLEDGE. Every message carries the run id, its producer and
// sequence number and a System.nanoTime stamp (producers and consumers share
// this JVM); messages of other runs are consumed and ignored. With --rate,
// message i of a producer is due at start + i × producers / rate and is
// stamped with that due time, so a broker that stalls the sender shows it as
// latency (no coordinated omission). After sending, JmsBench waits (at most
// --drain-timeout) until every sent message arrived, prints one JSON line on
// stdout and a summary on stderr, and exits 1 on a shortfall or a JMS error,
// 2 on bad arguments.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;

import org.apache.activemq.ActiveMQConnectionFactory;

public final class JmsBench {
    static final String P_RUN = "pierbench_run";
    static final String P_PRODUCER = "pierbench_producer";
    static final String P_SEQ = "pierbench_seq";
    static final String P_STAMP = "pierbench_nanos";
    static final String P_WARM = "pierbench_warmup";

    // Options, set by parse.
    String url = "tcp://127.0.0.1:61616";
    String queue = "pierbench";
    int producers = 1;
    int consumers = 1;
    int size = 1024;
    boolean persistent = true;
    boolean text = false;
    long count = 10000; // total over all producers; ignored with a duration
    double durationSeconds = 0;
    double rate = 0; // total msgs/s; 0 = as fast as possible
    long warmup = 0; // total, sent and drained before the measured run
    double drainTimeoutSeconds = 60;

    final String runId = UUID.randomUUID().toString();
    final AtomicLong received = new AtomicLong();
    final AtomicLong warmReceived = new AtomicLong();
    final AtomicLong duplicates = new AtomicLong();
    final AtomicLong stale = new AtomicLong();
    final AtomicLong lastReceiveNanos = new AtomicLong();
    final AtomicReference<String> firstError = new AtomicReference<>();
    BitSet[] seen; // per producer: sequence numbers received, guarded by itself

    public static void main(String[] args) {
        JmsBench b = new JmsBench();
        try {
            b.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("jmsbench: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        }
        int code;
        try {
            code = b.run();
        } catch (Exception e) {
            System.err.println("jmsbench: " + e);
            code = 1;
        }
        System.exit(code); // the client's threads must not keep the JVM alive
    }

    static final String USAGE = String.join("\n",
            "usage: JmsBench [--url tcp://host:port] [--queue name] [--producers n] [--consumers n]",
            "                [--size bytes] [--persistent true|false] [--type bytes|text]",
            "                [--count n | --duration 20s] [--rate msgs/s] [--warmup n] [--drain-timeout 60s]");

    void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i], v;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println(USAGE);
                System.exit(0);
                return;
            } else if (i + 1 < args.length) {
                v = args[++i];
            } else {
                throw new IllegalArgumentException("missing value for " + a);
            }
            try {
                switch (a) {
                    case "--url": url = v; break;
                    case "--queue": queue = v; break;
                    case "--producers": producers = Integer.parseInt(v); break;
                    case "--consumers": consumers = Integer.parseInt(v); break;
                    case "--size": size = Integer.parseInt(v); break;
                    case "--persistent": persistent = parseBool(v); break;
                    case "--type": text = parseType(v); break;
                    case "--count": count = Long.parseLong(v); break;
                    case "--duration": durationSeconds = parseSeconds(v); break;
                    case "--rate": rate = Double.parseDouble(v); break;
                    case "--warmup": warmup = Long.parseLong(v); break;
                    case "--drain-timeout": drainTimeoutSeconds = parseSeconds(v); break;
                    default: throw new IllegalArgumentException("unknown option " + a);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad value for " + a + ": " + v);
            }
        }
        if (producers < 1 || consumers < 1 || size < 0 || count < 0 || warmup < 0
                || durationSeconds < 0 || rate < 0 || drainTimeoutSeconds <= 0) {
            throw new IllegalArgumentException("producers and consumers must be >= 1; other numbers >= 0");
        }
        if (durationSeconds == 0 && count == 0) {
            throw new IllegalArgumentException("need --count or --duration");
        }
    }

    static boolean parseBool(String v) {
        if (v.equals("true")) return true;
        if (v.equals("false")) return false;
        throw new IllegalArgumentException("want true or false, got " + v);
    }

    static boolean parseType(String v) {
        if (v.equals("text")) return true;
        if (v.equals("bytes")) return false;
        throw new IllegalArgumentException("want --type bytes or text, got " + v);
    }

    // parseSeconds accepts "20", "20s", "1500ms" or "2m".
    static double parseSeconds(String v) {
        if (v.endsWith("ms")) return Double.parseDouble(v.substring(0, v.length() - 2)) / 1000;
        if (v.endsWith("s")) return Double.parseDouble(v.substring(0, v.length() - 1));
        if (v.endsWith("m")) return Double.parseDouble(v.substring(0, v.length() - 1)) * 60;
        return Double.parseDouble(v);
    }

    int run() throws Exception {
        ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(url);
        seen = new BitSet[producers];
        for (int i = 0; i < producers; i++) seen[i] = new BitSet();
        List<Connection> conns = new ArrayList<>();
        Histogram[] hists = new Histogram[consumers];
        try {
            for (int i = 0; i < consumers; i++) {
                hists[i] = new Histogram();
                conns.add(startConsumer(factory, hists[i]));
            }
            Producer[] ps = new Producer[producers];
            for (int i = 0; i < producers; i++) {
                ps[i] = new Producer(i, factory);
                conns.add(ps[i].conn);
            }
            if (warmup > 0) warmUp(ps);
            long start = System.nanoTime();
            sendAll(ps, start);
            long sendEnd = System.nanoTime();
            long sent = 0;
            for (Producer p : ps) sent += p.sent;
            boolean drained = drain(sent);
            return report(start, sendEnd, sent, drained, Histogram.merge(hists));
        } finally {
            for (Connection c : conns) {
                try {
                    c.close();
                } catch (JMSException e) {
                    // closing after a broker error; nothing left to do
                }
            }
        }
    }

    Connection startConsumer(ActiveMQConnectionFactory factory, Histogram hist) throws JMSException {
        Connection c = factory.createConnection();
        c.setExceptionListener(e -> firstError.compareAndSet(null, "consumer connection: " + e));
        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageConsumer mc = s.createConsumer(s.createQueue(queue));
        mc.setMessageListener(m -> onMessage(m, hist));
        c.start();
        return c;
    }

    void onMessage(Message m, Histogram hist) {
        long now = System.nanoTime();
        try {
            if (!runId.equals(m.getStringProperty(P_RUN))) {
                stale.incrementAndGet();
                return;
            }
            if (m.propertyExists(P_WARM)) {
                warmReceived.incrementAndGet();
                return;
            }
            int producer = m.getIntProperty(P_PRODUCER);
            int seq = (int) m.getLongProperty(P_SEQ);
            BitSet bits = seen[producer];
            synchronized (bits) {
                if (bits.get(seq)) {
                    duplicates.incrementAndGet();
                    return;
                }
                bits.set(seq);
            }
            hist.record(now - m.getLongProperty(P_STAMP));
            received.incrementAndGet();
            lastReceiveNanos.accumulateAndGet(now, Math::max);
        } catch (JMSException | RuntimeException e) {
            firstError.compareAndSet(null, "consumer: " + e);
        }
    }

    // warmUp sends warmup messages (not measured) and waits until they are consumed,
    // so JIT compilation in client and broker does not land in the measured run.
    void warmUp(Producer[] ps) throws JMSException, InterruptedException {
        long each = Math.max(1, warmup / ps.length);
        for (Producer p : ps) {
            for (long i = 0; i < each; i++) p.send(-1, System.nanoTime(), true);
        }
        long want = each * ps.length;
        long deadline = System.nanoTime() + (long) (drainTimeoutSeconds * 1e9);
        while (warmReceived.get() < want && System.nanoTime() < deadline) Thread.sleep(5);
        if (warmReceived.get() < want) {
            throw new JMSException("warm-up: received " + warmReceived.get() + " of " + want);
        }
    }

    void sendAll(Producer[] ps, long start) throws InterruptedException {
        long deadline = durationSeconds > 0 ? start + (long) (durationSeconds * 1e9) : Long.MAX_VALUE;
        long interval = rate > 0 ? (long) (1e9 * producers / rate) : 0;
        Thread[] threads = new Thread[ps.length];
        CountDownLatch done = new CountDownLatch(ps.length);
        for (int i = 0; i < ps.length; i++) {
            Producer p = ps[i];
            long quota = durationSeconds > 0 ? Long.MAX_VALUE : count / producers + (i < count % producers ? 1 : 0);
            threads[i] = new Thread(() -> {
                try {
                    p.loop(start, deadline, interval, quota);
                } catch (JMSException | RuntimeException e) {
                    firstError.compareAndSet(null, "producer " + p.index + ": " + e);
                } finally {
                    done.countDown();
                }
            }, "producer-" + i);
            threads[i].start();
        }
        done.await();
        for (Thread t : threads) t.join();
    }

    boolean drain(long sent) throws InterruptedException {
        long deadline = System.nanoTime() + (long) (drainTimeoutSeconds * 1e9);
        while (received.get() < sent && System.nanoTime() < deadline) Thread.sleep(2);
        return received.get() >= sent;
    }

    final class Producer {
        final int index;
        final Connection conn;
        final Session session;
        final MessageProducer producer;
        final byte[] payload;
        final String textPayload;
        long sent; // read by the main thread after join

        Producer(int index, ActiveMQConnectionFactory factory) throws JMSException {
            this.index = index;
            conn = factory.createConnection();
            conn.setExceptionListener(e -> firstError.compareAndSet(null, "producer connection: " + e));
            conn.start();
            session = conn.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = session.createQueue(queue);
            producer = session.createProducer(q);
            producer.setDeliveryMode(persistent ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
            payload = new byte[size];
            Arrays.fill(payload, (byte) 'x');
            textPayload = text ? new String(payload, StandardCharsets.US_ASCII) : null;
        }

        void loop(long start, long deadline, long interval, long quota) throws JMSException {
            for (long i = 0; i < quota; i++) {
                long due = start + i * interval;
                long now = System.nanoTime();
                if (now >= deadline || due >= deadline) return;
                if (interval > 0) {
                    while (now < due) {
                        LockSupport.parkNanos(due - now);
                        now = System.nanoTime();
                    }
                }
                send(i, interval > 0 ? due : now, false);
                sent++;
            }
        }

        void send(long seq, long stamp, boolean warm) throws JMSException {
            Message m;
            if (text) {
                m = session.createTextMessage(textPayload);
            } else {
                BytesMessage bm = session.createBytesMessage();
                bm.writeBytes(payload);
                m = bm;
            }
            m.setStringProperty(P_RUN, runId);
            m.setIntProperty(P_PRODUCER, index);
            m.setLongProperty(P_SEQ, seq);
            if (warm) m.setBooleanProperty(P_WARM, true);
            m.setLongProperty(P_STAMP, stamp);
            producer.send(m);
        }
    }

    int report(long start, long sendEnd, long sent, boolean drained, Histogram h) {
        double sendSecs = (sendEnd - start) / 1e9;
        long last = lastReceiveNanos.get();
        double totalSecs = (Math.max(last, sendEnd) - start) / 1e9;
        long recv = received.get();
        String err = firstError.get();
        boolean ok = drained && err == null;
        StringBuilder j = new StringBuilder(512);
        j.append('{');
        kv(j, "tool", "JmsBench").append(", ");
        kv(j, "url", url).append(", ");
        kv(j, "destination", "queue://" + queue).append(", ");
        kv(j, "run_id", runId).append(", ");
        num(j, "producers", producers).append(", ");
        num(j, "consumers", consumers).append(", ");
        num(j, "size", size).append(", ");
        kv(j, "type", text ? "text" : "bytes").append(", ");
        j.append("\"persistent\": ").append(persistent).append(", ");
        num(j, "target_rate", rate).append(", ");
        num(j, "sent", sent).append(", ");
        num(j, "received", recv).append(", ");
        num(j, "duplicates", duplicates.get()).append(", ");
        num(j, "stale", stale.get()).append(", ");
        num(j, "send_seconds", sendSecs).append(", ");
        num(j, "total_seconds", totalSecs).append(", ");
        num(j, "send_rate", sendSecs > 0 ? sent / sendSecs : 0).append(", ");
        num(j, "receive_rate", totalSecs > 0 ? recv / totalSecs : 0).append(", ");
        j.append("\"latency\": {");
        num(j, "count", h.count()).append(", ");
        num(j, "min_us", h.min() / 1e3).append(", ");
        num(j, "mean_us", h.mean() / 1e3).append(", ");
        num(j, "p50_us", h.quantile(0.50) / 1e3).append(", ");
        num(j, "p90_us", h.quantile(0.90) / 1e3).append(", ");
        num(j, "p99_us", h.quantile(0.99) / 1e3).append(", ");
        num(j, "p999_us", h.quantile(0.999) / 1e3).append(", ");
        num(j, "max_us", h.max() / 1e3).append("}, ");
        j.append("\"ok\": ").append(ok);
        if (err != null) j.append(',').append(quote("error")).append(": ").append(quote(err));
        j.append('}');
        System.out.println(j);

        System.err.printf(Locale.ROOT,
                "jmsbench: %s %s %d B %s, %d/%d clients%s: sent %d in %.2fs (%.0f msg/s), received %d in %.2fs (%.0f msg/s)%n"
                        + "jmsbench: latency µs p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f max %.0f%s%s%n",
                url, queue, size, persistent ? "persistent" : "non-persistent", producers, consumers,
                rate > 0 ? String.format(Locale.ROOT, ", rate %.0f msg/s", rate) : "",
                sent, sendSecs, sendSecs > 0 ? sent / sendSecs : 0, recv, totalSecs, totalSecs > 0 ? recv / totalSecs : 0,
                h.quantile(0.50) / 1e3, h.quantile(0.90) / 1e3, h.quantile(0.99) / 1e3, h.quantile(0.999) / 1e3, h.max() / 1e3,
                duplicates.get() > 0 ? ", " + duplicates.get() + " duplicates" : "",
                stale.get() > 0 ? ", " + stale.get() + " leftover messages of earlier runs ignored" : "");
        if (!drained) System.err.printf("jmsbench: SHORTFALL: received %d of %d within %.0fs%n", recv, sent, drainTimeoutSeconds);
        if (err != null) System.err.println("jmsbench: error: " + err);
        return ok ? 0 : 1;
    }

    static StringBuilder kv(StringBuilder j, String k, String v) {
        return j.append(quote(k)).append(": ").append(quote(v));
    }

    static StringBuilder num(StringBuilder j, String k, double v) {
        j.append(quote(k)).append(": ");
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return j.append((long) v);
        return j.append(String.format(Locale.ROOT, "%.3f", v));
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    // Histogram records nanosecond values in log-linear buckets like
    // HdrHistogram (and pier's internal/bench): exact below 128 ns, then 64
    // buckets per power of two, so a percentile is at most 1/64 above the true
    // value; memory is fixed. record is synchronized: each consumer has its
    // own, uncontended, and the main thread reads it after the run.
    static final class Histogram {
        static final int SUB_BITS = 6, SUB_COUNT = 1 << SUB_BITS, LINEAR_MAX = 2 * SUB_COUNT, MAX_SHIFT = 34;
        static final int BUCKETS = LINEAR_MAX + MAX_SHIFT * SUB_COUNT;
        final long[] counts = new long[BUCKETS];
        long n, sum, min = Long.MAX_VALUE, max;

        static int bucketOf(long v) {
            if (v < 0) v = 0;
            if (v < LINEAR_MAX) return (int) v;
            int shift = (64 - Long.numberOfLeadingZeros(v)) - (SUB_BITS + 1);
            if (shift > MAX_SHIFT) return BUCKETS - 1;
            return LINEAR_MAX + (shift - 1) * SUB_COUNT + (int) (v >> shift) - SUB_COUNT;
        }

        static long upperOf(int i) {
            if (i < LINEAR_MAX) return i;
            int shift = (i - LINEAR_MAX) / SUB_COUNT + 1;
            long sub = (i - LINEAR_MAX) % SUB_COUNT + SUB_COUNT;
            return ((sub + 1) << shift) - 1;
        }

        synchronized void record(long v) {
            v = Math.max(v, 0);
            counts[bucketOf(v)]++;
            n++;
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }

        static Histogram merge(Histogram[] hs) {
            Histogram m = new Histogram();
            for (Histogram h : hs) {
                synchronized (h) {
                    for (int i = 0; i < BUCKETS; i++) m.counts[i] += h.counts[i];
                    m.n += h.n;
                    m.sum += h.sum;
                    m.min = Math.min(m.min, h.min);
                    m.max = Math.max(m.max, h.max);
                }
            }
            return m;
        }

        long count() { return n; }
        long min() { return n == 0 ? 0 : min; }
        long max() { return max; }
        double mean() { return n == 0 ? 0 : (double) sum / n; }

        long quantile(double q) {
            if (n == 0) return 0;
            long rank = Math.min(Math.max((long) (q * n + 0.5), 1), n), seenSoFar = 0;
            for (int i = 0; i < BUCKETS; i++) {
                seenSoFar += counts[i];
                if (seenSoFar >= rank) return Math.min(Math.max(upperOf(i), min), max);
            }
            return max;
        }
    }
}
