import static javax.jms.Session.CLIENT_ACKNOWLEDGE;

import javax.jms.Connection;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TextMessage;

/** Consumer priority on a queue (the destination option consumer.priority). */
final class PriorityScenarios {
    private PriorityScenarios() {
    }

    /**
     * A queue serves its highest-priority consumer while it has room in its
     * prefetch window, the next priority only once it is full: a consumer at
     * 5 with prefetch 3 gets the first three messages, one at 0 the rest,
     * one at -5 (where a network bridge consumes) nothing. Once the first
     * acknowledges, it is served first again. The lower consumers subscribe
     * first, so plain round robin would give them the first messages.
     */
    static void consumers(Env env) throws Exception {
        Connection c = env.connect();
        try {
            String name = env.name("q");
            Session bs = c.createSession(false, CLIENT_ACKNOWLEDGE);
            MessageConsumer bridge = bs.createConsumer(bs.createQueue(name + "?consumer.priority=-5"));
            Session ls = c.createSession(false, CLIENT_ACKNOWLEDGE);
            MessageConsumer low = ls.createConsumer(ls.createQueue(name));
            Session hs = c.createSession(false, CLIENT_ACKNOWLEDGE);
            MessageConsumer high = hs.createConsumer(
                    hs.createQueue(name + "?consumer.priority=5&consumer.prefetchSize=3"));

            Session ps = c.createSession(false, CLIENT_ACKNOWLEDGE);
            Queue q = ps.createQueue(name);
            MessageProducer p = ps.createProducer(q);
            for (int i = 0; i < 10; i++) {
                p.send(ps.createTextMessage("m" + i));
            }
            // Read the lower one first: the higher one's receives would
            // widen its window (delivered acks) and change who gets what.
            Message last = null;
            for (int i = 3; i < 10; i++) {
                last = Env.recv(low, "priority 0, message " + i);
                Env.equal("m" + i, ((TextMessage) last).getText(), "priority 0 gets what priority 5 had no room for");
            }
            Env.none(low, "priority 0 after the seven");
            last.acknowledge();
            for (int i = 0; i < 3; i++) {
                last = Env.recv(high, "priority 5, message " + i);
                Env.equal("m" + i, ((TextMessage) last).getText(), "priority 5 gets the first three");
            }
            last.acknowledge();
            Env.none(high, "priority 5 after its prefetch of three");

            p.send(ps.createTextMessage("m10"));
            Env.equal("m10", ((TextMessage) Env.recv(high, "priority 5 after its ack")).getText(),
                    "priority 5 with room again");
            Env.none(low, "priority 0 while priority 5 has room");
            Env.none(bridge, "priority -5 while others have room");
        } finally {
            c.close();
        }
    }
}
