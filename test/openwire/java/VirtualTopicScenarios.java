import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.Topic;

/**
 * Virtual topics (ActiveMQ's default names): a message published to topic
 * VirtualTopic.X also goes to every queue Consumer.G.VirtualTopic.X, so
 * that each consumer group G reads the topic as a queue of its own:
 * load-balanced among the group's consumers, kept while they are away,
 * and through a failover.
 */
final class VirtualTopicScenarios {
    private VirtualTopicScenarios() {
    }

    /** A virtual topic's name unique to this run of the scenario. */
    static String topic(Env env) {
        return "VirtualTopic." + env.name("orders");
    }

    static Arrivals.Receiver consumer(Session s, javax.jms.Destination d, String name, Arrivals got, Outages o)
            throws JMSException {
        return new Arrivals.Receiver(name, s.createConsumer(d), got, o::interrupted);
    }

    static void publish(Session s, MessageProducer p, int from, int to) throws JMSException {
        for (int i = from; i <= to; i++) {
            p.send(s.createTextMessage("v-" + i));
        }
    }

    static Predicate<Arrivals.Arrival> at(String... consumers) {
        List<String> l = List.of(consumers);
        return a -> l.contains(a.consumer());
    }

    /** Among the arrivals at consumers, v-from .. v-to each exactly once (in any order) and nothing else. */
    static void exactlyOnce(Arrivals got, String what, int from, int to, String... consumers) {
        List<String> want = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            want.add("v-" + i);
        }
        List<String> have = new ArrayList<>(got.select(at(consumers)).stream().map(Arrivals.Arrival::body).toList());
        Map<String, List<Arrivals.Arrival>> dups = got.duplicates(at(consumers));
        Env.check(dups.isEmpty(), "%s: %d messages arrived more than once: %s", what, dups.size(), dups);
        have.sort((x, y) -> Integer.parseInt(x.substring(2)) - Integer.parseInt(y.substring(2)));
        Env.equal(want, have, what);
    }

    /** What consumer received must be v-from .. v-to in publishing order. */
    static void inOrder(Arrivals got, String consumer, int from, int to) {
        List<String> want = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            want.add("v-" + i);
        }
        Env.equal(want, got.of(consumer).stream().map(Arrivals.Arrival::body).toList(), consumer + "'s messages");
    }

    /**
     * Group A (two consumers), group B (one) and a plain subscriber of the
     * topic: 40 messages reach A once (both of its consumers getting some),
     * B once and the subscriber once; B's consumer closes, 20 more are
     * published, and B's new consumer gets those 20.
     */
    static void virtualTopic(Env env) throws Exception {
        Connection cc = env.connect();
        Connection pc = env.connect();
        try {
            Outages o = Outages.watch(cc);
            Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
            String name = topic(env);
            Topic t = ps.createTopic(name);
            Queue qa = ps.createQueue("Consumer.A." + name);
            Queue qb = ps.createQueue("Consumer.B." + name);
            Arrivals got = new Arrivals();
            Arrivals.Receiver a1 = consumer(cc.createSession(false, Session.AUTO_ACKNOWLEDGE), qa, "a1", got, o);
            Arrivals.Receiver a2 = consumer(cc.createSession(false, Session.AUTO_ACKNOWLEDGE), qa, "a2", got, o);
            Session bs = cc.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Arrivals.Receiver b = consumer(bs, qb, "b", got, o);
            Arrivals.Receiver sub = consumer(cc.createSession(false, Session.AUTO_ACKNOWLEDGE), t, "sub", got, o);
            MessageProducer p = ps.createProducer(t);
            p.setDeliveryMode(DeliveryMode.PERSISTENT);

            publish(ps, p, 0, 39);
            got.await("40 messages to A, B and the subscriber", 20_000,
                    () -> got.distinct(at("a1", "a2")) >= 40 && got.of("b").size() >= 40 && got.of("sub").size() >= 40);
            got.settle(Env.QUIET_MS);
            exactlyOnce(got, "group A", 0, 39, "a1", "a2");
            Env.check(!got.of("a1").isEmpty() && !got.of("a2").isEmpty(),
                    "group A's two consumers are not load-balanced: %s", got.perConsumer());
            inOrder(got, "b", 0, 39);
            inOrder(got, "sub", 0, 39);
            // As ActiveMQ delivers them: JMSDestination is the consumer queue
            // (the topic is the original destination). The client's duplicate
            // audit goes by it: one per connection for a queue, one per
            // consumer for a topic.
            for (Arrivals.Arrival a : got.all()) {
                String want = String.valueOf(a.consumer().equals("sub") ? t : a.consumer().startsWith("a") ? qa : qb);
                Env.equal(want, a.dest(), "JMSDestination of " + a);
            }

            b.close();
            publish(ps, p, 40, 59);
            got.await("20 more to A and the subscriber", 20_000,
                    () -> got.distinct(at("a1", "a2")) >= 60 && got.of("sub").size() >= 60);
            Arrivals.Receiver b2 = consumer(bs, qb, "b2", got, o);
            got.await("B's new consumer gets what was published while B had none", 20_000, () -> got.of("b2").size() >= 20);
            got.settle(Env.QUIET_MS);
            inOrder(got, "b", 0, 39);
            inOrder(got, "b2", 40, 59);
            exactlyOnce(got, "group A", 0, 59, "a1", "a2");
            inOrder(got, "sub", 0, 59);
            for (Arrivals.Receiver r : List.of(a1, a2, b2, sub)) {
                r.stop();
            }
            System.out.println("INFO group A: " + got.of("a1").size() + " to a1, " + got.of("a2").size() + " to a2");
        } finally {
            Env.closeQuietly(cc);
            Env.closeQuietly(pc);
        }
    }

    /**
     * Group A (two consumers) and group B (one) on a failover connection;
     * 300 persistent messages published to the topic while the test kills
     * the master: each reaches A exactly once and B exactly once.
     */
    static void failover(Env env) throws Exception {
        Connection cc = env.connect();
        Outages co = Outages.watch(cc);
        Connection pc = env.connect();
        Outages po = Outages.watch(pc);
        try {
            Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
            String name = topic(env);
            Topic t = ps.createTopic(name);
            Arrivals got = new Arrivals();
            List<Arrivals.Receiver> rs = List.of(
                    consumer(cc.createSession(false, Session.AUTO_ACKNOWLEDGE), ps.createQueue("Consumer.A." + name), "a1", got, co),
                    consumer(cc.createSession(false, Session.AUTO_ACKNOWLEDGE), ps.createQueue("Consumer.A." + name), "a2", got, co),
                    consumer(cc.createSession(false, Session.AUTO_ACKNOWLEDGE), ps.createQueue("Consumer.B." + name), "b", got, co));
            System.out.println("READY");
            int n = 300;
            Outages.publishThroughFailover(pc, po, t, n, (s, i) -> s.createTextMessage("v-" + i));
            got.await("every message to A and B", 30_000,
                    () -> got.distinct(at("a1", "a2")) >= n && got.distinct(at("b")) >= n);
            got.settle(Env.QUIET_MS);
            for (Arrivals.Receiver r : rs) {
                r.stop();
            }
            Env.check(co.resumed() > 0, "the consumers' connection did not fail over (%d interruptions)", co.interrupted());
            System.out.println("INFO arrivals " + got.perConsumer() + ", " + got.count(Arrivals.Arrival::redelivered)
                    + " marked redelivered");
            exactlyOnce(got, "group A", 0, n - 1, "a1", "a2");
            exactlyOnce(got, "group B", 0, n - 1, "b");
        } finally {
            Env.closeQuietly(cc);
            Env.closeQuietly(pc);
        }
    }
}
