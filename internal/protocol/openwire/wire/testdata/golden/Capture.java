import java.util.Arrays;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.jms.*;
import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQSession;

/** Drives a real ActiveMQ 5.17 client against capture_server.py to record golden OpenWire frames. */
public class Capture {
    static void props(Message m) throws JMSException {
        m.setBooleanProperty("pBool", true);
        m.setByteProperty("pByte", (byte) -7);
        m.setShortProperty("pShort", (short) -1234);
        m.setIntProperty("pInt", 123456789);
        m.setLongProperty("pLong", 1234567890123L);
        m.setFloatProperty("pFloat", 1.5f);
        m.setDoubleProperty("pDouble", -2.25);
        m.setStringProperty("pString", "h\u00e9llo \uD83D\uDE00 \u0000 end");
        m.setStringProperty("color", "red");
        m.setJMSCorrelationID("corr-1");
        m.setJMSType("golden");
    }

    public static void main(String[] args) throws Exception {
        String url = "tcp://127.0.0.1:" + args[0];
        ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
        f.setUserName("alice");
        f.setPassword("s3cret");
        Connection c = f.createConnection();
        c.setClientID("golden-client");
        Session auto = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Session client = c.createSession(false, Session.CLIENT_ACKNOWLEDGE);
        Session dups = c.createSession(false, Session.DUPS_OK_ACKNOWLEDGE);
        Session indiv = c.createSession(false, ActiveMQSession.INDIVIDUAL_ACKNOWLEDGE);
        Session tx = c.createSession(true, Session.SESSION_TRANSACTED);

        Queue q = auto.createQueue("golden.queue");
        Topic t = auto.createTopic("golden.topic");
        MessageProducer p = auto.createProducer(q);
        p.setDeliveryMode(DeliveryMode.PERSISTENT);

        TextMessage tm = auto.createTextMessage("h\u00e9llo \uD83D\uDE00 \u0000 world");
        props(tm);
        p.send(tm);

        BytesMessage bm = auto.createBytesMessage();
        bm.writeBytes(new byte[] {0, 1, 2, (byte) 0xff, 0x7f});
        props(bm);
        p.send(bm);

        MapMessage mm = auto.createMapMessage();
        mm.setBoolean("bool", true);
        mm.setByte("byte", (byte) 0x80);
        mm.setChar("char", '\u00e9');
        mm.setShort("short", (short) 32767);
        mm.setInt("int", -1);
        mm.setLong("long", Long.MIN_VALUE);
        mm.setFloat("float", 3.25f);
        mm.setDouble("double", Math.PI);
        mm.setString("string", "s\u0000\uD83D\uDE00");
        mm.setBytes("bytes", new byte[] {9, 8, 7});
        char[] big = new char[9000];
        Arrays.fill(big, 'x');
        mm.setString("bigstring", new String(big));
        mm.setObject("nullvalue", null);
        try {
            Map<String, Object> nested = new HashMap<>();
            nested.put("inner", 42);
            mm.setObject("map", nested);
            List<Object> list = new ArrayList<>();
            list.add("a");
            list.add(7L);
            mm.setObject("list", list);
        } catch (JMSException e) {
            System.err.println("nested map/list not allowed: " + e);
        }
        props(mm);
        p.send(mm);

        ObjectMessage om = auto.createObjectMessage("serialized string");
        props(om);
        p.send(om);

        StreamMessage sm = auto.createStreamMessage();
        sm.writeBoolean(false);
        sm.writeByte((byte) 1);
        sm.writeShort((short) -2);
        sm.writeChar('Z');
        sm.writeInt(3);
        sm.writeLong(4L);
        sm.writeFloat(5.5f);
        sm.writeDouble(6.75);
        sm.writeString("seven");
        sm.writeBytes(new byte[] {8, 9});
        sm.writeObject(null);
        props(sm);
        p.send(sm);

        Message plain = auto.createMessage();
        props(plain);
        p.send(plain);

        // The capture server dispatches the last TextMessage to this consumer.
        TextMessage again = auto.createTextMessage("for the consumer");
        again.setStringProperty("color", "red");
        p.send(again);
        MessageConsumer cons = auto.createConsumer(q, "color = 'red'");
        c.start();
        Message got = cons.receive(3000);
        System.err.println("received: " + got);

        TopicSubscriber durable = client.createDurableSubscriber(t, "golden-sub");
        TemporaryQueue tq = dups.createTemporaryQueue();
        MessageProducer ip = indiv.createProducer(tq);
        ip.setDeliveryMode(DeliveryMode.NON_PERSISTENT);
        ip.send(indiv.createTextMessage("to temp"));

        MessageProducer tp = tx.createProducer(t);
        tp.send(tx.createTextMessage("in tx"));
        tx.commit();

        cons.close();
        durable.close();
        client.unsubscribe("golden-sub");
        tq.delete();
        p.close();
        c.close();

        // Second connection with compression on, to capture deflated bodies.
        ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory(url);
        cf.setUseCompression(true);
        Connection c2 = cf.createConnection();
        Session s2 = c2.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageProducer p2 = s2.createProducer(s2.createQueue("golden.compressed"));
        char[] rep = new char[2000];
        Arrays.fill(rep, 'z');
        p2.send(s2.createTextMessage("compressed " + new String(rep)));
        BytesMessage cb = s2.createBytesMessage();
        cb.writeBytes(new byte[3000]);
        p2.send(cb);
        c2.close();
    }
}
