import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;

/**
 * Message groups (JMSXGroupID, JMSXGroupSeq) on a queue with three
 * consumers: each group goes to one consumer, in order, the first message
 * of a group to a consumer marked JMSXGroupFirstForConsumer; a closed
 * consumer's groups move on, whole and in order, to another; JMSXGroupSeq
 * -1 closes a group; and across a failover every message arrives once and
 * each group again goes to one consumer.
 */
final class GroupScenarios {
    static final int GROUPS = 6;
    static final String[] CONSUMERS = {"c0", "c1", "c2"};

    private GroupScenarios() {
    }

    static String group(int g) {
        return "g" + g;
    }

    static String body(String group, int seq) {
        return group + "-" + seq;
    }

    static Message groupMessage(Session s, int g, int seq) throws JMSException {
        Message m = s.createTextMessage(body(group(g), seq));
        m.setStringProperty("JMSXGroupID", group(g));
        m.setIntProperty("JMSXGroupSeq", seq);
        return m;
    }

    /** Sends JMSXGroupSeq from..to of every group, round by round (g0-1, g1-1, ..., g0-2, ...). */
    static void sendRounds(Session s, MessageProducer p, int from, int to) throws JMSException {
        for (int seq = from; seq <= to; seq++) {
            for (int g = 0; g < GROUPS; g++) {
                p.send(groupMessage(s, g, seq));
            }
        }
    }

    /** Three consumers (c0, c1, c2), each in a session of its own on c, receiving into got. */
    static Map<String, Arrivals.Receiver> consumers(Connection c, Queue q, Arrivals got, Outages o) throws JMSException {
        Map<String, Arrivals.Receiver> rs = new LinkedHashMap<>();
        for (String name : CONSUMERS) {
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            rs.put(name, new Arrivals.Receiver(name, s.createConsumer(q), got, o::interrupted));
        }
        return rs;
    }

    /**
     * Single broker: 6 groups x 50 messages to 3 consumers; then the
     * consumer owning the most groups stops part way (more of its groups
     * waiting in its prefetch window) and is closed while seq 81..100 are
     * being sent; then a JMSXGroupSeq -1 message closes g0.
     */
    static void groups(Env env) throws Exception {
        Connection cc = env.connect();
        Connection pc = env.connect();
        try {
            Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = ps.createQueue(env.name("groups"));
            MessageProducer p = ps.createProducer(q);
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            Arrivals got = new Arrivals();
            Map<String, Arrivals.Receiver> rs = consumers(cc, q, got, Outages.watch(cc));
            Map<Arrivals.Arrival, String> wrongFirst = new LinkedHashMap<>();

            sendRounds(ps, p, 1, 50);
            got.await("6 groups x 50", 20_000, () -> got.count(a -> true) >= GROUPS * 50);
            got.settle(Env.QUIET_MS);
            Map<String, List<String>> owned = new LinkedHashMap<>();
            Map<String, String> owner = new LinkedHashMap<>();
            for (int g = 0; g < GROUPS; g++) {
                String gr = group(g);
                List<Arrivals.Arrival> l = got.select(a -> gr.equals(a.group()));
                owner.put(gr, l.isEmpty() ? "nobody" : l.get(0).consumer());
                expectRun(gr + " (seq 1..50)", l, owner.get(gr), 1, 50, true, wrongFirst);
                owned.computeIfAbsent(owner.get(gr), k -> new ArrayList<>()).add(gr);
            }
            System.out.println("INFO groups per consumer: " + owned);

            // The consumer with the most groups takes seq 51 to at least 55 of
            // them and stops receiving: the rest of its groups waits in its
            // prefetch window, and more comes while it is closed.
            String victim = owned.entrySet().stream().max((x, y) -> x.getValue().size() - y.getValue().size())
                    .get().getKey();
            List<String> moved = owned.get(victim);
            rs.get(victim).stop();
            Arrivals.Receiver vr = new Arrivals.Receiver(victim, rs.get(victim).consumer, got, () -> 0,
                    () -> got.select(a -> a.consumer().equals(victim) && a.seq() >= 55).stream()
                            .map(Arrivals.Arrival::group).distinct().count() == moved.size());
            sendRounds(ps, p, 51, 70);
            vr.awaitDone(Env.WAIT_MS);
            got.await("the other groups up to seq 70", 20_000,
                    () -> got.count(a -> !moved.contains(a.group()) && a.seq() > 50) >= (GROUPS - moved.size()) * 20);
            CountDownLatch half = new CountDownLatch(1);
            AtomicReference<Throwable> sendFailed = new AtomicReference<>();
            Thread sender = new Thread(() -> {
                try {
                    sendRounds(ps, p, 71, 80);
                    half.countDown();
                    sendRounds(ps, p, 81, 100);
                } catch (Throwable e) {
                    sendFailed.set(e);
                    half.countDown();
                }
            }, "sender");
            sender.start();
            Env.check(half.await(Env.WAIT_MS, TimeUnit.MILLISECONDS), "seq 71..80 not sent within %d ms", Env.WAIT_MS);
            vr.consumer.close(); // while seq 81..100 are being sent
            sender.join(4 * Env.WAIT_MS);
            Env.check(!sender.isAlive() && sendFailed.get() == null, "sending seq 71..100: %s",
                    sender.isAlive() ? "still sending" : sendFailed.get());
            got.await("every group up to seq 100", 20_000, () -> got.distinct(a -> a.group() != null) >= GROUPS * 100);
            got.settle(Env.QUIET_MS);
            Env.check(got.count(a -> true) == GROUPS * 100, "%d arrivals for %d messages; more than once: %s",
                    got.count(a -> true), GROUPS * 100, got.duplicates(a -> true));
            for (int g = 0; g < GROUPS; g++) {
                String gr = group(g);
                List<Arrivals.Arrival> l = got.select(a -> gr.equals(a.group()));
                if (!moved.contains(gr)) {
                    expectRun(gr + " (seq 1..100, its consumer never left)", l, owner.get(gr), 1, 100, true, wrongFirst);
                    continue;
                }
                int k = 0;
                while (k < l.size() && l.get(k).consumer().equals(victim)) {
                    k++;
                }
                Env.check(k >= 55 && k < l.size(), "%s: %d messages at %s, which took at least 55: %s", gr, k, victim, l);
                expectRun(gr + " before " + victim + " closed", l.subList(0, k), victim, 1, k, true, wrongFirst);
                String next = l.get(k).consumer();
                expectRun(gr + " after " + victim + " closed", l.subList(k, l.size()), next, k + 1, 100, true, wrongFirst);
                System.out.printf("INFO %s: seq 1..%d at %s, %d..100 at %s%n", gr, k, victim, k + 1, next);
            }

            // JMSXGroupSeq -1 closes g0: its next message is a new group's
            // first, wherever it goes.
            List<Arrivals.Arrival> g0 = got.select(a -> "g0".equals(a.group()));
            String g0owner = g0.get(g0.size() - 1).consumer();
            Message close = ps.createTextMessage("g0-close");
            close.setStringProperty("JMSXGroupID", "g0");
            close.setIntProperty("JMSXGroupSeq", -1);
            p.send(close);
            Message again = ps.createTextMessage("g0-again");
            again.setStringProperty("JMSXGroupID", "g0");
            again.setIntProperty("JMSXGroupSeq", 1);
            p.send(again);
            got.await("g0-close and g0-again", 20_000,
                    () -> got.count(a -> a.body().equals("g0-close")) > 0 && got.count(a -> a.body().equals("g0-again")) > 0);
            got.settle(Env.QUIET_MS);
            List<Arrivals.Arrival> closing = got.select(a -> a.body().equals("g0-close"));
            List<Arrivals.Arrival> reopened = got.select(a -> a.body().equals("g0-again"));
            Env.check(closing.size() == 1 && closing.get(0).consumer().equals(g0owner),
                    "JMSXGroupSeq -1: want it once at g0's consumer %s; got %s", g0owner, closing);
            Env.check(reopened.size() == 1, "the message after JMSXGroupSeq -1: want it once; got %s", reopened);
            markedFirst("JMSXGroupSeq -1", closing.get(0), false, wrongFirst);
            markedFirst("the message after JMSXGroupSeq -1 (a new group)", reopened.get(0), true, wrongFirst);
            System.out.printf("INFO g0 closed at %s; its next message went to %s%n", g0owner, reopened.get(0).consumer());
            for (Arrivals.Receiver r : rs.values()) {
                if (!r.name.equals(victim)) {
                    r.stop();
                }
            }
            noWrongFirst(wrongFirst);
        } finally {
            Env.closeQuietly(cc);
            Env.closeQuietly(pc);
        }
    }

    /**
     * run (one group's arrivals) must be seq from..to in order, all at
     * consumer, and only its first marked JMSXGroupFirstForConsumer (when
     * firstMarked; else none): a wrong mark is added to wrongFirst, which
     * the scenario checks last, so that the other checks run first.
     */
    static void expectRun(String what, List<Arrivals.Arrival> run, String consumer, int from, int to, boolean firstMarked,
            Map<Arrivals.Arrival, String> wrongFirst) {
        Env.check(run.size() == to - from + 1, "%s: want %d messages at %s, got %d: %s", what, to - from + 1, consumer,
                run.size(), run);
        for (int i = 0; i < run.size(); i++) {
            Arrivals.Arrival a = run.get(i);
            Env.check(a.consumer().equals(consumer), "%s: seq %d went to %s, the group is %s's: %s", what, a.seq(),
                    a.consumer(), consumer, run);
            Env.check(a.seq() == from + i, "%s: want seq %d at position %d, got %d: %s", what, from + i, i, a.seq(), run);
            markedFirst(what, a, firstMarked && i == 0, wrongFirst);
        }
    }

    /**
     * Records a in wrongFirst (once, however often it is checked) unless
     * getBooleanProperty(JMSXGroupFirstForConsumer) is want.
     */
    static void markedFirst(String what, Arrivals.Arrival a, boolean want, Map<Arrivals.Arrival, String> wrongFirst) {
        if (a.first() != want) {
            wrongFirst.putIfAbsent(a, String.format("%s: %s %s", what, a, want ? "not marked first" : "marked first"));
        }
    }

    /** Fails when some messages had the wrong JMSXGroupFirstForConsumer, listing them. */
    static void noWrongFirst(Map<Arrivals.Arrival, String> wrongFirst) {
        Env.check(wrongFirst.isEmpty(),
                "%d messages with a wrong %s (as getBooleanProperty reads it; \"map\" is the property map's entry): %s",
                wrongFirst.size(), Arrivals.FIRST, wrongFirst.values().stream().limit(20).toList());
    }

    /**
     * Across a failover: three consumers on one failover connection,
     * 6 groups x 100 persistent messages published while the test kills
     * the master. Every message arrives exactly once (the client's
     * duplicate audit, one per connection and queue, hides redeliveries of
     * what was consumed before the kill), each consumer gets each group in
     * order, and each group keeps its one consumer across the failover
     * (Pier records which consumer holds a group; the failover client
     * comes back with the same consumer ids), marked first only on seq 1.
     */
    static void failover(Env env) throws Exception {
        Connection cc = env.connect();
        Outages co = Outages.watch(cc);
        Connection pc = env.connect();
        Outages po = Outages.watch(pc);
        try {
            Queue q = pc.createSession(false, Session.AUTO_ACKNOWLEDGE).createQueue(env.name("groups"));
            Arrivals got = new Arrivals();
            Map<String, Arrivals.Receiver> rs = consumers(cc, q, got, co);
            System.out.println("READY");
            int n = GROUPS * 100;
            Outages.publishThroughFailover(pc, po, q, n, (s, i) -> groupMessage(s, i % GROUPS, i / GROUPS + 1));
            got.await("every message after the failover", 30_000, () -> got.distinct(a -> true) >= n);
            got.settle(Env.QUIET_MS);
            for (Arrivals.Receiver r : rs.values()) {
                r.stop();
            }
            Env.check(co.resumed() > 0, "the consumers' connection did not fail over (%d interruptions)", co.interrupted());
            Map<String, List<Arrivals.Arrival>> dups = got.duplicates(a -> true);
            Env.check(dups.isEmpty(), "%d messages arrived more than once: %s", dups.size(), dups);
            Env.check(got.count(a -> true) == n, "%d arrivals, want %d", got.count(a -> true), n);
            List<String> before = new ArrayList<>();
            List<String> after = new ArrayList<>();
            Map<Arrivals.Arrival, String> wrongFirst = new LinkedHashMap<>();
            for (int g = 0; g < GROUPS; g++) {
                String gr = group(g);
                for (String c : CONSUMERS) {
                    List<Arrivals.Arrival> l = got.select(a -> gr.equals(a.group()) && a.consumer().equals(c));
                    for (int i = 1; i < l.size(); i++) {
                        Env.check(l.get(i).seq() > l.get(i - 1).seq(), "%s at %s out of order: %s", gr, c, l);
                    }
                }
                List<Arrivals.Arrival> l = got.select(a -> gr.equals(a.group()));
                Env.check(l.stream().allMatch(a -> a.consumer().equals(l.get(0).consumer())),
                        "%s changed consumer (it must keep it across the failover): %s", gr, l);
                for (Arrivals.Arrival a : l) {
                    markedFirst(gr + (a.outages() == 0 ? " before" : " after") + " the failover", a,
                            a.seq() == 1 && a.outages() == 0, wrongFirst);
                }
                before.add(gr + "@" + l.get(0).consumer());
                after.add(gr + "@" + l.get(l.size() - 1).consumer());
            }
            System.out.println("INFO groups before the failover " + before + ", after " + after + "; arrivals "
                    + got.perConsumer() + ", " + got.count(Arrivals.Arrival::redelivered) + " marked redelivered");
            noWrongFirst(wrongFirst);
        } finally {
            Env.closeQuietly(cc);
            Env.closeQuietly(pc);
        }
    }
}
