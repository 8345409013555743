import static javax.jms.Session.AUTO_ACKNOWLEDGE;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.Topic;
import javax.jms.TopicSubscriber;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.advisory.AdvisorySupport;
import org.apache.activemq.command.ActiveMQMessage;
import org.apache.activemq.command.ConsumerId;
import org.apache.activemq.command.ConsumerInfo;
import org.apache.activemq.command.DataStructure;
import org.apache.activemq.command.RemoveInfo;
import org.apache.activemq.command.RemoveSubscriptionInfo;

/**
 * Consumer advisories, what a network bridge is built on: it subscribes to
 * a broker's consumer advisories to learn where consumers are, and reads
 * their broker paths to avoid loops. (Message broker paths cannot be tested
 * from JMS: ActiveMQSession.send clears them; test/client sends one with
 * the Go client.)
 */
final class AdvisoryScenarios {
    private AdvisoryScenarios() {
    }

    /** The subject of an advisory, which must be of the given class. */
    static <T extends DataStructure> T subject(Message m, Class<T> type, String what) throws Exception {
        Env.check(m instanceof ActiveMQMessage, "%s: %s is not an ActiveMQMessage", what, m.getClass().getName());
        Env.equal("Advisory", m.getJMSType(), what + ": JMSType");
        Env.equal(DeliveryMode.NON_PERSISTENT, m.getJMSDeliveryMode(), what + ": delivery mode");
        DataStructure ds = ((ActiveMQMessage) m).getDataStructure();
        Env.check(type.isInstance(ds), "%s: data structure %s, want a %s", what, ds, type.getSimpleName());
        return type.cast(ds);
    }

    /**
     * Consumers of a queue and of a topic are announced on
     * AdvisorySupport.getConsumerAdvisoryTopic(dest): a ConsumerInfo when one
     * is added (the consumers that exist are replayed to a new advisory
     * subscriber, wildcard ones too), a RemoveInfo when one closes, a
     * RemoveSubscriptionInfo when a durable subscription is deleted, with
     * consumerCount and the origin broker's id; advisory consumers are not
     * announced.
     */
    static void consumers(Env env) throws Exception {
        String cid = env.name("cid");
        Connection watcher = env.connect();
        Connection app = DestinationScenarios.withClientID(env, cid);
        try {
            Session ws = watcher.createSession(false, AUTO_ACKNOWLEDGE);
            Session as = app.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = as.createQueue(env.name("q"));
            Topic advTopic = AdvisorySupport.getConsumerAdvisoryTopic(q);
            Env.equal("ActiveMQ.Advisory.Consumer.Queue." + q.getQueueName(), advTopic.getTopicName(), "advisory topic");
            String brokerId = ((ActiveMQConnection) watcher).getBrokerInfo().getBrokerId().getValue();
            String appConn = ((ActiveMQConnection) app).getConnectionInfo().getConnectionId().getValue();

            // A consumer that exists is replayed to the new advisory subscriber.
            MessageConsumer first = as.createConsumer(as.createQueue(q.getQueueName() + "?consumer.priority=-5"), "n > 1");
            MessageConsumer adv = ws.createConsumer(advTopic);
            Message m = Env.recv(adv, "replayed consumer");
            ConsumerInfo info = subject(m, ConsumerInfo.class, "replayed consumer");
            Env.equal(q.getQueueName(), info.getDestination().getPhysicalName(), "consumer's destination");
            Env.check(info.getDestination().isQueue(), "consumer's destination %s is not a queue", info.getDestination());
            Env.equal("n > 1", info.getSelector(), "consumer's selector");
            Env.equal((byte) -5, info.getPriority(), "consumer's priority");
            Env.equal(1000, info.getPrefetchSize(), "consumer's prefetch");
            Env.equal(false, info.isNetworkSubscription(), "network subscription");
            Env.equal(appConn, info.getConsumerId().getConnectionId(), "consumer's connection id");
            Env.equal(1, m.getIntProperty("consumerCount"), "consumerCount");
            Env.equal(brokerId, m.getStringProperty("originBrokerId"), "originBrokerId");
            Env.check(m.getStringProperty("originBrokerName") != null, "no originBrokerName");
            ConsumerId firstID = info.getConsumerId();

            // A new consumer is announced; so is a network subscription with its priority.
            MessageConsumer second = as.createConsumer(
                    as.createQueue(q.getQueueName() + "?consumer.networkSubscription=true&consumer.priority=-64"));
            m = Env.recv(adv, "second consumer");
            info = subject(m, ConsumerInfo.class, "second consumer");
            Env.equal(true, info.isNetworkSubscription(), "network subscription");
            Env.equal((byte) -64, info.getPriority(), "network consumer's priority");
            Env.equal(2, m.getIntProperty("consumerCount"), "consumerCount with two consumers");
            ConsumerId secondID = info.getConsumerId();

            // Advisory consumers are not announced.
            MessageConsumer other = ws.createConsumer(AdvisorySupport.getConsumerAdvisoryTopic(ws.createQueue(env.name("other"))));
            Env.none(adv, "after an advisory consumer was added");

            first.close();
            m = Env.recv(adv, "removal");
            RemoveInfo removed = subject(m, RemoveInfo.class, "removal");
            Env.equal(firstID, removed.getObjectId(), "removed consumer");
            Env.equal(1, m.getIntProperty("consumerCount"), "consumerCount after the removal");

            // A wildcard advisory subscriber hears of the consumers that exist.
            MessageConsumer wild = ws.createConsumer(ws.createTopic("ActiveMQ.Advisory.Consumer.Queue." + env.name(">")));
            info = subject(Env.recv(wild, "wildcard replay"), ConsumerInfo.class, "wildcard replay");
            Env.equal(secondID, info.getConsumerId(), "consumer replayed to the wildcard subscriber");
            Env.none(wild, "after the wildcard replay");
            second.close();
            subject(Env.recv(wild, "removal heard by the wildcard subscriber"), RemoveInfo.class, "wildcard removal");
            subject(Env.recv(adv, "second removal"), RemoveInfo.class, "second removal");
            other.close();
            wild.close();

            // Topics, durable subscriptions.
            Topic t = as.createTopic(env.name("t"));
            MessageConsumer tadv = ws.createConsumer(AdvisorySupport.getConsumerAdvisoryTopic(t));
            TopicSubscriber d = as.createDurableSubscriber(t, "sub");
            m = Env.recv(tadv, "durable subscriber");
            Env.equal("ActiveMQ.Advisory.Consumer.Topic." + t.getTopicName(), ((Topic) m.getJMSDestination()).getTopicName(),
                    "advisory destination");
            info = subject(m, ConsumerInfo.class, "durable subscriber");
            Env.equal("sub", info.getSubscriptionName(), "subscription name");
            Env.check(info.getDestination().isTopic(), "durable subscriber's destination %s is not a topic", info.getDestination());
            d.close();
            subject(Env.recv(tadv, "durable subscriber closed"), RemoveInfo.class, "durable subscriber closed");
            as.unsubscribe("sub");
            RemoveSubscriptionInfo rs = subject(Env.recv(tadv, "unsubscribe"), RemoveSubscriptionInfo.class, "unsubscribe");
            Env.equal("sub", rs.getSubscriptionName(), "unsubscribed name");
            Env.equal(cid, rs.getClientId(), "unsubscribed client id");
        } finally {
            app.close();
            watcher.close();
        }
    }
}
