import static javax.jms.Session.AUTO_ACKNOWLEDGE;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.MapMessage;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageEOFException;
import javax.jms.MessageFormatException;
import javax.jms.MessageProducer;
import javax.jms.ObjectMessage;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.StreamMessage;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

/** The five message types and plain Message, with every property and body type. */
final class MessageScenarios {
    private MessageScenarios() {
    }

    /** Strings that must survive OpenWire's modified UTF-8: emoji (surrogate pairs), NUL, CJK, accents. */
    static final String TRICKY = "emoji \uD83D\uDE00\uD83C\uDF89 nul[\u0000] cjk \u4E2D\u6587 \u00E9\u00DF \uFFFF end";
    /** Only characters of the Basic Multilingual Plane, no NUL: these survive every OpenWire string encoding. */
    static final String BMP = "cjk \u4E2D\u6587 \u00E9\u00DF \u20AC \uFFFD \uFFFF end";

    /** Sends m to a fresh queue and returns what a consumer receives. */
    static Message roundTrip(Env env, Connection c, Session s, Message m, String queue) throws Exception {
        Queue q = s.createQueue(env.name(queue));
        MessageConsumer mc = s.createConsumer(q);
        MessageProducer p = s.createProducer(q);
        p.send(m);
        Message got = Env.recv(mc, queue);
        Env.none(mc, queue + " after one message");
        Env.equal(m.getJMSMessageID(), got.getJMSMessageID(), "JMSMessageID");
        return got;
    }

    /** A plain Message with a property of every type; getObjectProperty returns the right boxed types. */
    static void properties(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Message m = s.createMessage();
            m.setBooleanProperty("bool", true);
            m.setByteProperty("byte", (byte) -128);
            m.setShortProperty("short", (short) -32768);
            m.setIntProperty("int", Integer.MIN_VALUE);
            m.setLongProperty("long", Long.MAX_VALUE);
            m.setFloatProperty("float", 3.5f);
            m.setDoubleProperty("double", -1.25e300);
            m.setStringProperty("string", TRICKY);
            m.setStringProperty("bmp", BMP);
            m.setStringProperty("empty", "");
            m.setObjectProperty("objInt", 42);
            m.setObjectProperty("objBool", Boolean.FALSE);
            m.setStringProperty("numeric", "123");
            String big = String.join("", Collections.nCopies(3000, "x\u00E9\uD83D\uDE00")); // past the 8191-char "big string" switch
            m.setStringProperty("big", big);
            Message got = roundTrip(env, c, s, m, "q");

            Env.check(!(got instanceof TextMessage), "plain Message arrived as %s", got.getClass());
            Env.equal(Boolean.TRUE, got.getObjectProperty("bool"), "bool");
            Env.equal((byte) -128, got.getObjectProperty("byte"), "byte");
            Env.equal((short) -32768, got.getObjectProperty("short"), "short");
            Env.equal(Integer.MIN_VALUE, got.getObjectProperty("int"), "int");
            Env.equal(Long.MAX_VALUE, got.getObjectProperty("long"), "long");
            Env.equal(3.5f, got.getObjectProperty("float"), "float");
            Env.equal(-1.25e300, got.getObjectProperty("double"), "double");
            Env.tricky(TRICKY, got.getObjectProperty("string"), "string property");
            Env.check(!TRICKY.equals(Env.viaClientMarshalling(TRICKY)), "the 5.17 client now round-trips emoji/NUL properties: tighten this test");
            Env.equal(BMP, got.getObjectProperty("bmp"), "BMP string");
            Env.equal("", got.getStringProperty("empty"), "empty string");
            Env.equal(42, got.getObjectProperty("objInt"), "object int");
            Env.equal(Boolean.FALSE, got.getObjectProperty("objBool"), "object boolean");
            Env.tricky(big, got.getStringProperty("big"), "big string property");
            Env.check(got.getObjectProperty("absent") == null, "absent property is not null");
            Env.check(!got.propertyExists("absent") && got.propertyExists("int"), "propertyExists");

            // JMS 1.1 3.5.4 conversions, done by the client from the received types.
            Env.equal(-32768, got.getIntProperty("short"), "short read as int");
            Env.equal((long) Integer.MIN_VALUE, got.getLongProperty("int"), "int read as long");
            Env.equal(3.5, got.getDoubleProperty("float"), "float read as double");
            Env.equal("true", got.getStringProperty("bool"), "boolean read as String");
            Env.equal("-128", got.getStringProperty("byte"), "byte read as String");
            Env.equal(123, got.getIntProperty("numeric"), "String read as int");
            Env.exactly(MessageFormatException.class,
                    Env.expectThrow("int read as boolean", () -> got.getBooleanProperty("int")), "int read as boolean");
            Env.exactly(NumberFormatException.class,
                    Env.expectThrow("String read as int", () -> got.getIntProperty("string")), "text read as int");

            List<String> names = new ArrayList<>();
            for (java.util.Enumeration<?> e = got.getPropertyNames(); e.hasMoreElements(); ) {
                names.add((String) e.nextElement());
            }
            for (String n : new String[] {"bool", "byte", "short", "int", "long", "float", "double", "string", "big"}) {
                Env.check(names.contains(n), "getPropertyNames misses %s: %s", n, names);
            }
        } finally {
            c.close();
        }
    }

    /** TextMessage bodies: supplementary characters, NUL, a large body, empty and null. */
    static void text(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            String large = String.join("", Collections.nCopies(40000, "\uD83D\uDE80a\u0000")); // > 64 KiB encoded
            String[] bodies = {TRICKY, "", large, "plain ascii"};
            for (int i = 0; i < bodies.length; i++) {
                TextMessage got = (TextMessage) roundTrip(env, c, s, s.createTextMessage(bodies[i]), "q" + i);
                Env.check(bodies[i].equals(got.getText()), "text body %d differs (length %d, want %d)", i,
                        got.getText() == null ? -1 : got.getText().length(), bodies[i].length());
            }
            TextMessage got = (TextMessage) roundTrip(env, c, s, s.createTextMessage(), "null");
            Env.equal(null, got.getText(), "null text body");
        } finally {
            c.close();
        }
    }

    /** BytesMessage: all byte values, and every typed write read back. */
    static void bytes(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            byte[] all = new byte[256];
            for (int i = 0; i < 256; i++) {
                all[i] = (byte) i;
            }
            BytesMessage m = s.createBytesMessage();
            m.writeBytes(all);
            BytesMessage got = (BytesMessage) roundTrip(env, c, s, m, "all");
            Env.equal(256L, got.getBodyLength(), "body length");
            byte[] back = new byte[300];
            Env.equal(256, got.readBytes(back), "readBytes count");
            Env.check(Arrays.equals(all, Arrays.copyOf(back, 256)), "bytes 0..255 differ");
            Env.equal(-1, got.readBytes(back), "readBytes at the end");

            BytesMessage t = s.createBytesMessage();
            t.writeBoolean(true);
            t.writeByte((byte) -1);
            t.writeShort((short) -2);
            t.writeChar('\u20AC');
            t.writeInt(0x01020304);
            t.writeLong(-3L);
            t.writeFloat(1.5f);
            t.writeDouble(Math.PI);
            t.writeUTF(TRICKY);
            t.writeObject(Integer.valueOf(7));
            BytesMessage tg = (BytesMessage) roundTrip(env, c, s, t, "typed");
            Env.equal(true, tg.readBoolean(), "readBoolean");
            Env.equal((byte) -1, tg.readByte(), "readByte");
            Env.equal((short) -2, tg.readShort(), "readShort");
            Env.equal('\u20AC', tg.readChar(), "readChar");
            Env.equal(0x01020304, tg.readInt(), "readInt");
            Env.equal(-3L, tg.readLong(), "readLong");
            Env.equal(1.5f, tg.readFloat(), "readFloat");
            Env.equal(Math.PI, tg.readDouble(), "readDouble");
            Env.equal(TRICKY, tg.readUTF(), "readUTF");
            Env.equal(7, tg.readInt(), "writeObject(Integer) read as int");
            Env.exactly(MessageEOFException.class, Env.expectThrow("read past the end", tg::readByte), "read past the end");

            BytesMessage empty = (BytesMessage) roundTrip(env, c, s, s.createBytesMessage(), "empty");
            Env.equal(0L, empty.getBodyLength(), "empty body length");
        } finally {
            c.close();
        }
    }

    /** MapMessage with an entry of every type. */
    static void map(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            MapMessage m = s.createMapMessage();
            m.setBoolean("bool", true);
            m.setByte("byte", (byte) 127);
            m.setShort("short", (short) 32767);
            m.setChar("char", '\u00E9');
            m.setInt("int", Integer.MAX_VALUE);
            m.setLong("long", Long.MIN_VALUE);
            m.setFloat("float", -0.5f);
            m.setDouble("double", Double.MAX_VALUE);
            m.setString("string", TRICKY);
            m.setString("bmp", BMP);
            m.setString("null", null);
            m.setBytes("bytes", new byte[] {0, 1, (byte) 0xFF});
            m.setObject("object", 9L);
            String big = String.join("", Collections.nCopies(3000, "y\u0000\uD83D\uDE00"));
            m.setString("big", big);
            MapMessage got = (MapMessage) roundTrip(env, c, s, m, "q");

            Env.equal(Boolean.TRUE, got.getObject("bool"), "bool");
            Env.equal((byte) 127, got.getObject("byte"), "byte");
            Env.equal((short) 32767, got.getObject("short"), "short");
            Env.equal('\u00E9', got.getObject("char"), "char");
            Env.equal(Integer.MAX_VALUE, got.getObject("int"), "int");
            Env.equal(Long.MIN_VALUE, got.getObject("long"), "long");
            Env.equal(-0.5f, got.getObject("float"), "float");
            Env.equal(Double.MAX_VALUE, got.getObject("double"), "double");
            Env.tricky(TRICKY, got.getObject("string"), "map string");
            Env.equal(BMP, got.getObject("bmp"), "BMP string");
            Env.equal(null, got.getString("null"), "null string");
            Env.check(got.itemExists("null"), "null entry does not exist");
            Env.check(Arrays.equals(new byte[] {0, 1, (byte) 0xFF}, got.getBytes("bytes")), "bytes");
            Env.equal(9L, got.getObject("object"), "object long");
            Env.tricky(big, got.getString("big"), "big map string");
            Env.equal("32767", got.getString("short"), "short read as String");
            Env.check(!got.itemExists("absent"), "absent entry exists");
            int n = 0;
            for (java.util.Enumeration<?> e = got.getMapNames(); e.hasMoreElements(); e.nextElement()) {
                n++;
            }
            Env.equal(14, n, "number of map names");
        } finally {
            c.close();
        }
    }

    /** StreamMessage: every type in order, then MessageEOFException. */
    static void stream(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            StreamMessage m = s.createStreamMessage();
            m.writeBoolean(false);
            m.writeByte((byte) 1);
            m.writeShort((short) 2);
            m.writeChar('c');
            m.writeInt(3);
            m.writeLong(4L);
            m.writeFloat(5.5f);
            m.writeDouble(6.25);
            m.writeString(TRICKY);
            m.writeString(null);
            m.writeBytes(new byte[] {7, 8, 9});
            m.writeObject("object");
            StreamMessage got = (StreamMessage) roundTrip(env, c, s, m, "q");
            Env.equal(false, got.readBoolean(), "boolean");
            Env.equal((byte) 1, got.readByte(), "byte");
            Env.equal((short) 2, got.readShort(), "short");
            Env.equal('c', got.readChar(), "char");
            Env.equal(3, got.readInt(), "int");
            Env.equal(4L, got.readLong(), "long");
            Env.equal(5.5f, got.readFloat(), "float");
            Env.equal(6.25, got.readDouble(), "double");
            Env.equal(TRICKY, got.readString(), "string");
            Env.equal(null, got.readString(), "null string");
            byte[] b = new byte[10];
            Env.equal(3, got.readBytes(b), "bytes count");
            Env.check(b[0] == 7 && b[1] == 8 && b[2] == 9, "bytes %s", Arrays.toString(b));
            Env.equal(-1, got.readBytes(b), "end of the byte array field");
            Env.equal("object", got.readObject(), "object");
            Env.exactly(MessageEOFException.class, Env.expectThrow("read past the end", got::readObject),
                    "read past the end");
        } finally {
            c.close();
        }
    }

    /** ObjectMessage carrying a Serializable class of this program. */
    static void object(Env env) throws Exception {
        ActiveMQConnectionFactory f = env.factory();
        // ActiveMQ 5.12.2+ refuses to deserialize classes outside trusted packages;
        // this program's classes are in the unnamed package.
        f.setTrustAllPackages(true);
        Connection c = f.createConnection();
        try {
            c.start();
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Payload want = new Payload(TRICKY, new int[] {1, -2, 3}, List.of("a", "b"));
            ObjectMessage got = (ObjectMessage) roundTrip(env, c, s, s.createObjectMessage(want), "q");
            Env.equal(want, got.getObject(), "object body");
            ObjectMessage none = (ObjectMessage) roundTrip(env, c, s, s.createObjectMessage(), "null");
            Env.equal(null, none.getObject(), "null object body");
        } finally {
            c.close();
        }
    }
}
