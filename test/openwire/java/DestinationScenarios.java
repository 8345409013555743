import static javax.jms.Session.AUTO_ACKNOWLEDGE;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.jms.Connection;
import javax.jms.Destination;
import javax.jms.InvalidDestinationException;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.QueueBrowser;
import javax.jms.Session;
import javax.jms.TemporaryQueue;
import javax.jms.TemporaryTopic;
import javax.jms.TextMessage;
import javax.jms.Topic;
import javax.jms.TopicSubscriber;

import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQPrefetchPolicy;

/** Queues, topics, durable subscriptions, temporary destinations and browsers. */
final class DestinationScenarios {
    private DestinationScenarios() {
    }

    /** Competing consumers on a queue share its messages, each delivered once. */
    static void competing(Env env) throws Exception {
        ActiveMQConnectionFactory f = env.factory();
        ActiveMQPrefetchPolicy pp = new ActiveMQPrefetchPolicy();
        pp.setAll(1); // with the default 1000 the first consumer could take everything
        f.setPrefetchPolicy(pp);
        Connection c = f.createConnection();
        try {
            c.start();
            Queue q = c.createSession(false, AUTO_ACKNOWLEDGE).createQueue(env.name("q"));
            int n = 40;
            Set<String> seen = Collections.synchronizedSet(new HashSet<>());
            AtomicInteger dups = new AtomicInteger();
            CountDownLatch all = new CountDownLatch(n);
            int[] perConsumer = new int[3];
            for (int i = 0; i < perConsumer.length; i++) {
                int id = i;
                c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(q).setMessageListener(m -> {
                    try {
                        if (!seen.add(((TextMessage) m).getText())) {
                            dups.incrementAndGet();
                        }
                        synchronized (perConsumer) {
                            perConsumer[id]++;
                        }
                        Thread.sleep(5); // let the others get their turn
                    } catch (Exception e) {
                        dups.addAndGet(1000);
                    }
                    all.countDown();
                });
            }
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            MessageProducer p = s.createProducer(q);
            for (int i = 0; i < n; i++) {
                p.send(s.createTextMessage("m" + i));
            }
            Env.check(all.await(Env.WAIT_MS * 2, TimeUnit.MILLISECONDS), "received %d of %d", n - all.getCount(), n);
            Thread.sleep(Env.QUIET_MS);
            Env.equal(0, dups.get(), "duplicate deliveries");
            Env.equal(n, seen.size(), "distinct messages");
            synchronized (perConsumer) {
                for (int i = 0; i < perConsumer.length; i++) {
                    Env.check(perConsumer[i] > 0, "consumer %d got nothing (%d/%d/%d)", i,
                            perConsumer[0], perConsumer[1], perConsumer[2]);
                }
            }
        } finally {
            c.close();
        }
    }

    /** Every subscriber of a topic gets every message, in order; a late subscriber gets nothing old. */
    static void fanout(Env env) throws Exception {
        Connection c = env.connect();
        Connection other = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Topic t = s.createTopic(env.name("t"));
            List<MessageConsumer> subs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                subs.add(c.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(t));
            }
            subs.add(other.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(t));
            MessageProducer p = s.createProducer(t);
            for (int i = 0; i < 5; i++) {
                p.send(s.createTextMessage("m" + i));
            }
            MessageConsumer late = other.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(t);
            for (int k = 0; k < subs.size(); k++) {
                for (int i = 0; i < 5; i++) {
                    Message m = Env.recv(subs.get(k), "subscriber " + k);
                    Env.equal("m" + i, ((TextMessage) m).getText(), "subscriber " + k + " order");
                    Env.equal(t, m.getJMSDestination(), "JMSDestination");
                }
                Env.none(subs.get(k), "subscriber " + k + " after the five");
            }
            Env.none(late, "subscriber created after the sends");
        } finally {
            c.close();
            other.close();
        }
    }

    static Connection withClientID(Env env, String id) throws JMSException {
        Connection c = env.factory().createConnection();
        c.setClientID(id);
        c.start();
        return c;
    }

    /** A durable subscription keeps messages while its subscriber is offline, until unsubscribed. */
    static void durable(Env env) throws Exception {
        String id = env.name("cid");
        Connection c = withClientID(env, id);
        Connection pc = env.connect();
        try {
            Session ps = pc.createSession(false, AUTO_ACKNOWLEDGE);
            Topic t = ps.createTopic(env.name("t"));
            MessageProducer p = ps.createProducer(t);
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            TopicSubscriber sub = s.createDurableSubscriber(t, "sub");
            p.send(ps.createTextMessage("online"));
            Env.equal("online", ((TextMessage) Env.recv(sub, "online message")).getText(), "online message");

            Exception inUse = Env.expectThrow("unsubscribe while the subscriber is active", () -> s.unsubscribe("sub"));
            Env.exactly(JMSException.class, inUse, "unsubscribe of an active durable subscription");

            sub.close();
            for (int i = 0; i < 3; i++) {
                p.send(ps.createTextMessage("offline" + i));
            }
            c.close();

            c = withClientID(env, id);
            Session s2 = c.createSession(false, AUTO_ACKNOWLEDGE);
            sub = s2.createDurableSubscriber(t, "sub");
            for (int i = 0; i < 3; i++) {
                Env.equal("offline" + i, ((TextMessage) Env.recv(sub, "kept message")).getText(), "kept message");
            }
            Env.none(sub, "after the kept messages");
            sub.close();

            // Unsubscribe drops the subscription and what it kept.
            p.send(ps.createTextMessage("dropped by unsubscribe"));
            s2.unsubscribe("sub");
            Exception gone = Env.expectThrow("unsubscribe of an unknown subscription", () -> s2.unsubscribe("sub"));
            Env.exactly(InvalidDestinationException.class, gone, "unsubscribe of an unknown subscription");
            sub = s2.createDurableSubscriber(t, "sub");
            Env.none(sub, "new subscription after unsubscribe");
            p.send(ps.createTextMessage("new"));
            Env.equal("new", ((TextMessage) Env.recv(sub, "new subscription")).getText(), "new subscription");
            sub.close();
            s2.unsubscribe("sub");
        } finally {
            Env.closeQuietly(c);
            pc.close();
        }
    }

    /** Request/reply across two connections, the reply going to a TemporaryQueue of the requester. */
    static void requestReply(Env env) throws Exception {
        Connection server = env.connect();
        Connection client = env.connect();
        try {
            Session ss = server.createSession(false, AUTO_ACKNOWLEDGE);
            Queue service = ss.createQueue(env.name("svc"));
            MessageProducer replier = ss.createProducer(null);
            MessageConsumer requests = ss.createConsumer(service);

            Session cs = client.createSession(false, AUTO_ACKNOWLEDGE);
            TemporaryQueue replyTo = cs.createTemporaryQueue();
            Env.check(replyTo.getQueueName().startsWith("ID:"), "temporary queue name %s", replyTo.getQueueName());
            MessageConsumer replies = cs.createConsumer(replyTo);
            MessageProducer requester = cs.createProducer(service);
            for (int i = 0; i < 3; i++) {
                TextMessage req = cs.createTextMessage("ping" + i);
                req.setJMSReplyTo(replyTo);
                requester.send(req);

                Message got = Env.recv(requests, "request " + i);
                Destination rt = got.getJMSReplyTo();
                Env.check(rt instanceof TemporaryQueue, "JMSReplyTo is %s, not a TemporaryQueue", rt);
                Env.equal(replyTo, rt, "JMSReplyTo");
                TextMessage reply = ss.createTextMessage("pong" + i);
                reply.setJMSCorrelationID(got.getJMSMessageID());
                replier.send(rt, reply);

                Message r = Env.recv(replies, "reply " + i);
                Env.equal("pong" + i, ((TextMessage) r).getText(), "reply body");
                Env.equal(req.getJMSMessageID(), r.getJMSCorrelationID(), "reply correlation id");
            }

            // Only the creating connection may consume from a temporary destination.
            Exception foreign = Env.expectThrow("consumer on another connection's temporary queue",
                    () -> ss.createConsumer(replyTo));
            Env.exactly(InvalidDestinationException.class, foreign, "consumer on a foreign temporary queue");

            replies.close();
            replyTo.delete();
            Exception deleted = Env.expectThrow("send to a deleted temporary queue",
                    () -> waitDeleted(ss, replier, replyTo));
            Env.exactly(InvalidDestinationException.class, deleted, "send to a deleted temporary queue");
        } finally {
            server.close();
            client.close();
        }
    }

    /** Sends to a deleted temp destination until the deletion advisory has reached the sender. */
    private static void waitDeleted(Session s, MessageProducer p, Destination d) throws Exception {
        long deadline = System.currentTimeMillis() + Env.WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            p.send(d, s.createTextMessage("to a deleted destination"));
            Thread.sleep(50);
        }
    }

    /** A temporary topic fans out to its creator's subscribers; messages from another connection arrive. */
    static void tempTopic(Env env) throws Exception {
        Connection owner = env.connect();
        Connection other = env.connect();
        try {
            Session os = owner.createSession(false, AUTO_ACKNOWLEDGE);
            TemporaryTopic tt = os.createTemporaryTopic();
            MessageConsumer a = os.createConsumer(tt);
            MessageConsumer b = owner.createSession(false, AUTO_ACKNOWLEDGE).createConsumer(tt);
            Session xs = other.createSession(false, AUTO_ACKNOWLEDGE);
            // The sender learns of the temporary topic through an advisory; wait for it.
            Message announce = os.createTextMessage("announce");
            announce.setJMSReplyTo(tt);
            Queue q = os.createQueue(env.name("q"));
            os.createProducer(q).send(announce);
            Destination where = Env.recv(xs.createConsumer(q), "announcement").getJMSReplyTo();
            Env.check(where instanceof TemporaryTopic, "JMSReplyTo is %s, not a TemporaryTopic", where);
            xs.createProducer(where).send(xs.createTextMessage("hello"));
            Env.equal("hello", ((TextMessage) Env.recv(a, "first subscriber")).getText(), "first subscriber");
            Env.equal("hello", ((TextMessage) Env.recv(b, "second subscriber")).getText(), "second subscriber");
            a.close();
            b.close();
            tt.delete();
        } finally {
            owner.close();
            other.close();
        }
    }

    /** A browser sees the queue's messages in order without consuming them; the enumeration ends. */
    static void browser(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageProducer p = s.createProducer(q);
            for (int i = 0; i < 5; i++) {
                TextMessage m = s.createTextMessage("m" + i);
                m.setIntProperty("n", i);
                p.send(m);
            }
            for (int round = 0; round < 2; round++) {
                QueueBrowser b = s.createBrowser(q);
                Env.equal(q, b.getQueue(), "browser queue");
                List<String> seen = browse(b);
                Env.equal(List.of("m0", "m1", "m2", "m3", "m4"), seen, "browse round " + round);
                b.close();
            }
            QueueBrowser odd = s.createBrowser(q, "n = 1 OR n = 3");
            Env.equal("n = 1 OR n = 3", odd.getMessageSelector(), "browser selector");
            Env.equal(List.of("m1", "m3"), browse(odd), "browse with a selector");
            odd.close();
            Env.equal(List.of(), browse(s.createBrowser(s.createQueue(env.name("empty")))), "browse an empty queue");

            MessageConsumer mc = s.createConsumer(q);
            for (int i = 0; i < 5; i++) {
                Message m = Env.recv(mc, "after browsing");
                Env.equal("m" + i, ((TextMessage) m).getText(), "consumed after browsing");
                Env.check(!m.getJMSRedelivered(), "browsed message marked redelivered");
            }
            Env.none(mc, "after consuming");
        } finally {
            c.close();
        }
    }

    /** Browses to the end; the enumeration must end within WAIT_MS. */
    private static List<String> browse(QueueBrowser b) throws Exception {
        List<String> seen = new ArrayList<>();
        long deadline = System.currentTimeMillis() + Env.WAIT_MS;
        Enumeration<?> e = b.getEnumeration();
        while (e.hasMoreElements()) {
            Env.check(System.currentTimeMillis() < deadline, "browser enumeration did not end: %s", seen);
            Object o = e.nextElement();
            if (o != null) {
                seen.add(((TextMessage) o).getText());
            }
        }
        return seen;
    }
}
