import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;

/**
 * Exclusive consumers (queue://X?consumer.exclusive=true): while one is
 * subscribed the first exclusive consumer gets every message of the queue
 * and the others, exclusive or not, none; the next exclusive one takes
 * over when it leaves; after a failover again exactly one consumer
 * receives.
 */
final class ExclusiveScenarios {
    private ExclusiveScenarios() {
    }

    /** A consumer in a session of its own on c, receiving into got. */
    static Arrivals.Receiver consumer(Connection c, Queue q, String name, Arrivals got, Outages o) throws JMSException {
        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        return new Arrivals.Receiver(name, s.createConsumer(q), got, o::interrupted);
    }

    static void send(Session s, MessageProducer p, String prefix, int from, int to) throws JMSException {
        for (int i = from; i <= to; i++) {
            p.send(s.createTextMessage(prefix + i));
        }
    }

    /** consumer's arrivals must be prefix+from .. prefix+to, in order. */
    static void expectBodies(Arrivals got, String consumer, String prefix, int from, int to) {
        List<String> want = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            want.add(prefix + i);
        }
        List<String> have = got.of(consumer).stream().map(Arrivals.Arrival::body).filter(b -> b.startsWith(prefix)).toList();
        Env.equal(want, have, consumer + "'s messages");
    }

    /**
     * The plain consumer, then exclusive e1 and e2: e1 gets everything;
     * e1 stops part way and closes, e2 gets the rest, what e1 had
     * prefetched first; e2 closes with messages prefetched, and only then
     * does the plain consumer get any.
     */
    static void exclusive(Env env) throws Exception {
        Connection cc = env.connect();
        Connection pc = env.connect();
        try {
            Outages o = Outages.watch(cc);
            Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
            String name = env.name("exclusive");
            Queue plain = ps.createQueue(name);
            Queue excl = ps.createQueue(name + "?consumer.exclusive=true");
            MessageProducer p = ps.createProducer(plain);
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            Arrivals got = new Arrivals();
            // The plain consumer subscribes first: exclusivity, not its place, must keep it idle.
            Arrivals.Receiver pr = consumer(cc, plain, "plain", got, o);
            Arrivals.Receiver e1 = consumer(cc, excl, "e1", got, o);
            Arrivals.Receiver e2 = consumer(cc, excl, "e2", got, o);

            send(ps, p, "x-", 0, 29);
            got.await("e1 gets x-0..x-29", 20_000, () -> got.count(a -> true) >= 30);
            got.settle(Env.QUIET_MS);
            expectBodies(got, "e1", "x-", 0, 29);
            expectBodies(got, "e2", "x-", 0, -1);
            expectBodies(got, "plain", "x-", 0, -1);

            e1.stop();
            send(ps, p, "x-", 30, 59);
            Arrivals.Receiver e1b = new Arrivals.Receiver("e1", e1.consumer, got, o::interrupted,
                    () -> got.of("e1").size() >= 40);
            e1b.awaitDone(Env.WAIT_MS);
            e1.consumer.close(); // x-40..x-59 were in its prefetch window
            send(ps, p, "x-", 60, 69);
            got.await("e2 gets x-40..x-69", 20_000, () -> got.of("e2").size() >= 30);
            got.settle(Env.QUIET_MS);
            expectBodies(got, "e1", "x-", 0, 39);
            expectBodies(got, "e2", "x-", 40, 69);
            expectBodies(got, "plain", "x-", 0, -1);

            e2.stop();
            send(ps, p, "x-", 70, 79);
            e2.consumer.close(); // the last exclusive consumer leaves, its window full
            got.await("the plain consumer gets x-70..x-79", 20_000, () -> got.of("plain").size() >= 10);
            got.settle(Env.QUIET_MS);
            expectBodies(got, "plain", "x-", 70, 79);
            expectBodies(got, "e2", "x-", 40, 69);
            pr.stop();
        } finally {
            Env.closeQuietly(cc);
            Env.closeQuietly(pc);
        }
    }

    /**
     * On a failover connection: as exclusive() up to e2 taking over; then
     * the plain consumer closes, e3 (exclusive, after e2) subscribes, and
     * 300 persistent messages are published while the test kills the
     * master. After the failover exactly one of e2 and e3 receives, which
     * depends on the order the client restores them in. Then a plain
     * consumer subscribes again and 10 more messages all go to that one.
     *
     * The plain consumer is not kept across the failover: the client
     * restores a connection's consumers one by one, in no fixed order, and
     * a plain consumer restored before any exclusive one rightly gets what
     * the queue holds meanwhile (ActiveMQ's consumersBeforeDispatchStarts
     * policy exists for this).
     */
    static void failover(Env env) throws Exception {
        Connection cc = env.connect();
        Outages co = Outages.watch(cc);
        Connection pc = env.connect();
        Outages po = Outages.watch(pc);
        try {
            Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
            String name = env.name("exclusive");
            Queue plain = ps.createQueue(name);
            Queue excl = ps.createQueue(name + "?consumer.exclusive=true");
            MessageProducer p = ps.createProducer(plain);
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            Arrivals got = new Arrivals();
            Arrivals.Receiver pr = consumer(cc, plain, "plain", got, co);
            Arrivals.Receiver e1 = consumer(cc, excl, "e1", got, co);
            Arrivals.Receiver e2 = consumer(cc, excl, "e2", got, co);
            send(ps, p, "x-", 0, 19);
            got.await("e1 gets x-0..x-19", 20_000, () -> got.count(a -> true) >= 20);
            e1.stop();
            send(ps, p, "x-", 20, 39);
            new Arrivals.Receiver("e1", e1.consumer, got, co::interrupted, () -> got.of("e1").size() >= 30)
                    .awaitDone(Env.WAIT_MS);
            e1.consumer.close();
            got.await("e2 gets x-30..x-39", 20_000, () -> got.of("e2").size() >= 10);
            got.settle(Env.QUIET_MS);
            expectBodies(got, "e1", "x-", 0, 29);
            expectBodies(got, "e2", "x-", 30, 39);
            expectBodies(got, "plain", "x-", 0, -1);
            pr.close();
            Arrivals.Receiver e3 = consumer(cc, excl, "e3", got, co);

            System.out.println("READY");
            int n = 300;
            Outages.publishThroughFailover(pc, po, plain, n, (s, i) -> s.createTextMessage("m-" + i));
            got.await("every m- message", 30_000, () -> got.distinct(a -> a.body().startsWith("m-")) >= n);
            Env.check(co.resumed() > 0, "the consumers' connection did not fail over (%d interruptions)", co.interrupted());
            Arrivals.Receiver pr2 = consumer(cc, plain, "plain2", got, co);
            send(ps, p, "z-", 0, 9);
            got.await("z-0..z-9", 20_000, () -> got.distinct(a -> a.body().startsWith("z-")) >= 10);
            got.settle(Env.QUIET_MS);
            for (Arrivals.Receiver r : List.of(e2, e3, pr2)) {
                r.stop();
            }

            List<Arrivals.Arrival> ms = got.select(a -> a.body().startsWith("m-") || a.body().startsWith("z-"));
            int k = 0;
            while (k < ms.size() && ms.get(k).consumer().equals("e2")) {
                k++;
            }
            List<Arrivals.Arrival> rest = ms.subList(k, ms.size());
            String then = rest.isEmpty() ? "e2" : rest.get(0).consumer();
            Env.check(rest.stream().allMatch(a -> a.consumer().equals(then)),
                    "after the failover more than one consumer received: %s", rest);
            Env.check(rest.isEmpty() || then.equals("e3") && rest.get(0).outages() > 0,
                    "want e2, then after the failover e2 or e3; got %s from %s on", then, rest.isEmpty() ? null : rest.get(0));
            expectBodies(got, "plain2", "z-", 0, -1);
            expectBodies(got, then, "z-", 0, 9);

            Set<String> seen = new HashSet<>();
            int last = -1;
            int redelivered = 0;
            for (Arrivals.Arrival a : got.select(a -> a.body().startsWith("m-"))) {
                int i = Integer.parseInt(a.body().substring(2));
                if (a.redelivered()) {
                    redelivered++;
                }
                if (!seen.add(a.body())) {
                    Env.check(a.redelivered(), "%s arrived again not marked redelivered", a);
                    continue;
                }
                Env.check(i > last, "%s arrived after m-%d: out of order", a, last);
                last = i;
            }
            Map<String, List<Arrivals.Arrival>> dups = got.duplicates(a -> a.body().startsWith("m-"));
            System.out.printf("INFO after the failover %s received; %d messages marked redelivered, %d arrived twice%s%n",
                    then, redelivered, dups.size(), dups.isEmpty() ? "" : ": " + dups);
        } finally {
            Env.closeQuietly(cc);
            Env.closeQuietly(pc);
        }
    }
}
