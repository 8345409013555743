// GenerateVersions writes the frames the ActiveMQ 5.17 Java client marshals
// for a fixed set of commands, in loose encoding without cache, at OpenWire
// versions 1, 9, 10, 11 and 12: v<N>/<nn>-<Command>.bin. See README.md.
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;

import org.apache.activemq.command.*;
import org.apache.activemq.openwire.OpenWireFormat;
import org.apache.activemq.util.ByteSequence;

public class GenerateVersions {
    static final String CONN = "ID:golden-host-40000-1700000000000-1:1";

    public static void main(String[] args) throws Exception {
        File out = new File(args.length > 0 ? args[0] : ".");
        for (int v : new int[] {1, 9, 10, 11, 12}) {
            File dir = new File(out, "v" + v);
            dir.mkdirs();
            OpenWireFormat wf = new OpenWireFormat();
            wf.setVersion(v);
            wf.setTightEncodingEnabled(false);
            wf.setCacheEnabled(false);
            wf.setStackTraceEnabled(false);
            int n = 0;
            for (Object cmd : commands()) {
                n++;
                String name = cmd.getClass().getSimpleName();
                if (cmd instanceof ActiveMQTextMessage) {
                    name = "TextMessage";
                }
                ByteSequence bs = wf.marshal(cmd);
                File f = new File(dir, String.format("%02d-%s.bin", n, name));
                try (FileOutputStream fo = new FileOutputStream(f)) {
                    fo.write(bs.getData(), bs.getOffset(), bs.getLength());
                }
            }
        }
    }

    static Object[] commands() throws Exception {
        ConnectionId conn = new ConnectionId(CONN);
        SessionId session = new SessionId(conn, 1);
        ConsumerId consumer = new ConsumerId(session, 2);
        ProducerId producer = new ProducerId(session, 3);
        ActiveMQQueue queue = new ActiveMQQueue("golden.queue");
        ActiveMQTopic topic = new ActiveMQTopic("golden.topic");
        BrokerId broker = new BrokerId("ID:golden-broker-1");

        ConnectionInfo ci = new ConnectionInfo(conn);
        ci.setCommandId(1);
        ci.setResponseRequired(true);
        ci.setClientId("golden-client");
        ci.setUserName("alice");
        ci.setPassword("s3cret");
        ci.setManageable(true);
        ci.setClientMaster(true);
        ci.setFaultTolerant(true);
        ci.setFailoverReconnect(true);
        ci.setClientIp("tcp://10.0.0.7:50000");

        ConsumerInfo cons = new ConsumerInfo(consumer);
        cons.setCommandId(2);
        cons.setResponseRequired(true);
        cons.setDestination(topic);
        cons.setPrefetchSize(100);
        cons.setMaximumPendingMessageLimit(5);
        cons.setDispatchAsync(true);
        cons.setSelector("color = 'red' AND weight > 2");
        cons.setClientId("golden-client");
        cons.setSubscriptionName("golden-sub");
        cons.setNoLocal(true);
        cons.setPriority((byte) 3);
        cons.setBrokerPath(new BrokerId[] {broker});
        NetworkBridgeFilter filter = new NetworkBridgeFilter();
        filter.setNetworkBrokerId(broker);
        filter.setMessageTTL(3);
        filter.setConsumerTTL(5);
        cons.setAdditionalPredicate(filter);
        cons.setNetworkSubscription(true);
        cons.setNetworkConsumerPath(new ConsumerId[] {new ConsumerId(session, 9)});

        ProducerInfo prod = new ProducerInfo(producer);
        prod.setCommandId(3);
        prod.setResponseRequired(true);
        prod.setDestination(queue);
        prod.setDispatchAsync(true);
        prod.setWindowSize(65536);

        ActiveMQTextMessage msg = message(producer, queue, broker, 4);
        msg.setResponseRequired(true);

        MessageAck ack = new MessageAck();
        ack.setCommandId(5);
        ack.setDestination(queue);
        ack.setTransactionId(new LocalTransactionId(conn, 7));
        ack.setConsumerId(consumer);
        ack.setAckType(MessageAck.POISON_ACK_TYPE);
        ack.setFirstMessageId(msg.getMessageId());
        ack.setLastMessageId(msg.getMessageId());
        ack.setMessageCount(1);
        ack.setPoisonCause(new Throwable("redelivered too often"));

        MessageDispatch md = new MessageDispatch();
        md.setCommandId(6);
        md.setConsumerId(consumer);
        md.setDestination(queue);
        ActiveMQTextMessage dispatched = message(producer, queue, broker, 0);
        dispatched.setRedeliveryCounter(1);
        md.setMessage(dispatched);
        md.setRedeliveryCounter(1);

        RemoveInfo ri = new RemoveInfo(consumer);
        ri.setCommandId(7);
        ri.setResponseRequired(true);
        ri.setLastDeliveredSequenceId(42);

        BrokerInfo bi = new BrokerInfo();
        bi.setCommandId(8);
        bi.setBrokerId(broker);
        bi.setBrokerURL("tcp://golden:61616");
        bi.setBrokerName("golden-broker");
        bi.setMasterBroker(true);
        bi.setFaultTolerantConfiguration(true);
        bi.setDuplexConnection(true);
        bi.setNetworkConnection(true);
        bi.setConnectionId(17);
        bi.setBrokerUploadUrl("http://golden/upload");
        bi.setNetworkProperties("k=v");

        ConnectionControl cc = new ConnectionControl();
        cc.setCommandId(9);
        cc.setFaultTolerant(true);
        cc.setSuspend(true);
        cc.setConnectedBrokers("tcp://a:61616,tcp://b:61616");
        cc.setReconnectTo("tcp://b:61616");
        cc.setRebalanceConnection(true);
        cc.setToken(new byte[] {1, 2, 3});

        ConsumerControl ctl = new ConsumerControl();
        ctl.setCommandId(10);
        ctl.setDestination(queue);
        ctl.setClose(true);
        ctl.setConsumerId(consumer);
        ctl.setPrefetch(10);
        ctl.setFlush(true);
        ctl.setStart(true);
        ctl.setStop(true);

        SubscriptionInfo si = new SubscriptionInfo();
        si.setClientId("golden-client");
        si.setDestination(topic);
        si.setSelector("color = 'red'");
        si.setSubscriptionName("golden-sub");
        si.setSubscribedDestination(new ActiveMQTopic("golden.>"));
        si.setNoLocal(true);

        return new Object[] {ci, cons, prod, msg, ack, md, ri, bi, cc, ctl, si};
    }

    static ActiveMQTextMessage message(ProducerId producer, ActiveMQQueue queue, BrokerId broker, int commandId)
            throws Exception {
        ActiveMQTextMessage m = new ActiveMQTextMessage();
        m.setCommandId(commandId);
        m.setProducerId(producer);
        m.setDestination(queue);
        MessageId id = new MessageId(producer, 11);
        id.setBrokerSequenceId(99);
        id.setTextView("ID:golden-host-40000-1700000000000-1:1:1:3:11");
        m.setMessageId(id);
        m.setGroupID("golden-group");
        m.setGroupSequence(2);
        m.setCorrelationId("corr-1");
        m.setPersistent(true);
        m.setExpiration(1700000060000L);
        m.setPriority((byte) 4);
        m.setReplyTo(new ActiveMQTempQueue(CONN + ":1"));
        m.setTimestamp(1700000000000L);
        m.setType("golden");
        m.setText("h\u00e9llo \uD83D\uDE00 world");
        m.setStringProperty("color", "red");
        m.setIntProperty("weight", 3);
        m.setBooleanProperty("flag", true);
        m.setLongProperty("big", 1234567890123L);
        m.setUserID("alice");
        m.setDroppable(true);
        m.setCluster(new BrokerId[] {broker});
        m.setBrokerInTime(1700000000001L);
        m.setBrokerOutTime(1700000000002L);
        m.setJMSXGroupFirstForConsumer(true);
        return m;
    }
}
