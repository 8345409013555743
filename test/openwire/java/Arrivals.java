import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.Predicate;

import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.TextMessage;

import org.apache.activemq.command.ActiveMQMessage;

/**
 * What the consumers of a scenario received, in the order they received
 * it (one list for all of them), filled by Receiver threads. A scenario
 * waits for a condition on it (await), then for it to stop growing
 * (settle), then checks what is there.
 */
final class Arrivals {
    /** Group property a broker sets on a group's first message to a consumer. */
    static final String FIRST = "JMSXGroupFirstForConsumer";

    /**
     * One message as a consumer received it: the scenario's name of the
     * consumer, the text body, JMSXGroupID (null without) and
     * JMSXGroupSeq, JMSXGroupFirstForConsumer, JMSRedelivered, the number
     * of transport interruptions (failovers) of the receiving connection
     * before it arrived, and JMSDestination. firstInMap is what the
     * message's property map holds under JMSXGroupFirstForConsumer (null
     * for nothing): the 5.17 client's getBooleanProperty reads the
     * OpenWire Message field of that name instead, so a broker that sets
     * only the map entry shows here.
     */
    record Arrival(String consumer, String body, String group, int seq, boolean first, boolean redelivered,
            int outages, String dest, Object firstInMap) {
        static Arrival of(String consumer, Message m, int outages) throws JMSException {
            String group = m.getStringProperty("JMSXGroupID");
            int seq = group == null ? 0 : m.getIntProperty("JMSXGroupSeq");
            boolean first = m.propertyExists(FIRST) && m.getBooleanProperty(FIRST);
            Object inMap;
            try {
                inMap = ((ActiveMQMessage) m).getProperties().get(FIRST);
            } catch (IOException e) {
                throw new JMSException("properties: " + e);
            }
            return new Arrival(consumer, ((TextMessage) m).getText(), group, seq, first, m.getJMSRedelivered(),
                    outages, String.valueOf(m.getJMSDestination()), inMap);
        }

        @Override
        public String toString() {
            return consumer + ":" + body + (first ? "(first)" : "") + (redelivered ? "(redelivered)" : "")
                    + (outages > 0 ? "(after " + outages + " outage)" : "")
                    + (firstInMap != null ? "(map " + FIRST + "=" + firstInMap + ")" : "");
        }
    }

    private final List<Arrival> list = new ArrayList<>();

    synchronized void add(Arrival a) {
        list.add(a);
        notifyAll();
    }

    /** A copy of everything received so far, in order. */
    synchronized List<Arrival> all() {
        return new ArrayList<>(list);
    }

    /** What consumer received, in order. */
    synchronized List<Arrival> of(String consumer) {
        return select(a -> a.consumer.equals(consumer));
    }

    /** The arrivals that pass p, in order. */
    synchronized List<Arrival> select(Predicate<Arrival> p) {
        List<Arrival> out = new ArrayList<>();
        for (Arrival a : list) {
            if (p.test(a)) {
                out.add(a);
            }
        }
        return out;
    }

    /** How many arrivals pass p. */
    synchronized int count(Predicate<Arrival> p) {
        int n = 0;
        for (Arrival a : list) {
            if (p.test(a)) {
                n++;
            }
        }
        return n;
    }

    /** How many distinct bodies that pass p arrived. */
    synchronized int distinct(Predicate<Arrival> p) {
        return (int) list.stream().filter(p).map(Arrival::body).distinct().count();
    }

    /**
     * Waits at most ms until done holds; fails saying what and how much
     * each consumer had received when it does not.
     */
    synchronized void await(String what, long ms, BooleanSupplier done) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (!done.getAsBoolean()) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError(what + ": not within " + ms + " ms; received so far " + perConsumer());
            }
            wait(Math.min(left, 50)); // done may also depend on state outside this list
        }
    }

    /**
     * Waits until nothing more arrives for quietMs: late duplicates or
     * strays show up before the checks run.
     */
    synchronized void settle(long quietMs) throws InterruptedException {
        int n = -1;
        while (n != list.size()) {
            n = list.size();
            long end = System.currentTimeMillis() + quietMs;
            for (long left = quietMs; left > 0 && n == list.size(); left = end - System.currentTimeMillis()) {
                wait(left);
            }
        }
    }

    /** How many messages each consumer received, e.g. {c0=100, c1=50}. */
    synchronized Map<String, Integer> perConsumer() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (Arrival a : list) {
            m.merge(a.consumer, 1, Integer::sum);
        }
        return m;
    }

    /** Bodies that arrived more than once among those that pass p, with every arrival of each. */
    synchronized Map<String, List<Arrival>> duplicates(Predicate<Arrival> p) {
        Map<String, List<Arrival>> by = new LinkedHashMap<>();
        for (Arrival a : list) {
            if (p.test(a)) {
                by.computeIfAbsent(a.body, k -> new ArrayList<>()).add(a);
            }
        }
        by.values().removeIf(l -> l.size() < 2);
        return by;
    }

    /**
     * A thread that receives from one consumer into an Arrivals until it
     * is stopped or, after an arrival, stopWhen (if not null) holds.
     */
    static final class Receiver {
        final String name;
        final MessageConsumer consumer;
        private final Arrivals into;
        private final IntSupplier outages;
        private final BooleanSupplier stopWhen;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile Throwable failure;

        /** Starts receiving; outages counts the connection's interruptions so far. */
        Receiver(String name, MessageConsumer consumer, Arrivals into, IntSupplier outages, BooleanSupplier stopWhen) {
            this.name = name;
            this.consumer = consumer;
            this.into = into;
            this.outages = outages;
            this.stopWhen = stopWhen;
            this.thread = new Thread(this::loop, "receiver-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        Receiver(String name, MessageConsumer consumer, Arrivals into, IntSupplier outages) {
            this(name, consumer, into, outages, null);
        }

        private void loop() {
            try {
                while (running) {
                    Message m = consumer.receive(50);
                    if (m == null) {
                        continue;
                    }
                    into.add(Arrival.of(name, m, outages.getAsInt()));
                    if (stopWhen != null && stopWhen.getAsBoolean()) {
                        return;
                    }
                }
            } catch (Throwable e) {
                failure = e;
            }
        }

        /** Waits at most ms for the receiver to end by itself (stopWhen); fails if it does not. */
        void awaitDone(long ms) throws InterruptedException {
            thread.join(ms);
            Env.check(!thread.isAlive(), "receiver %s still receiving after %d ms", name, ms);
            rethrow();
        }

        /** Stops receiving (the consumer stays open) and rethrows what the receive loop failed with. */
        void stop() throws InterruptedException {
            running = false;
            thread.join(Env.WAIT_MS);
            Env.check(!thread.isAlive(), "receiver %s did not stop", name);
            rethrow();
        }

        /** Stops receiving and closes the consumer. */
        void close() throws Exception {
            stop();
            consumer.close();
        }

        private void rethrow() {
            if (failure != null) {
                throw new AssertionError("receiver " + name + " failed: " + failure, failure);
            }
        }
    }
}
