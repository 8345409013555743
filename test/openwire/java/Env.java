import java.util.concurrent.ThreadLocalRandom;

import javax.jms.Connection;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;

import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.RedeliveryPolicy;

/**
 * What every scenario shares: the broker URL, unique destination names,
 * connection factories and bounded waits. Each scenario throws (an
 * AssertionError from check, or any exception) to fail.
 */
final class Env {
    /** Bound of every receive that must succeed. */
    static final long WAIT_MS = 5000;
    /** How long a receive that must come back empty waits. */
    static final long QUIET_MS = 700;

    final String url;
    final String scenario;
    private final String unique;

    Env(String url, String scenario) {
        this.url = url;
        this.scenario = scenario;
        this.unique = Long.toHexString(System.currentTimeMillis())
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 16));
    }

    /** A destination name unique to this run of this scenario. */
    String name(String suffix) {
        return "ow." + scenario + "." + unique + "." + suffix;
    }

    /** A factory for the URL with a redelivery policy that redelivers at once (the delay is client-side). */
    ActiveMQConnectionFactory factory() {
        ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
        RedeliveryPolicy p = new RedeliveryPolicy();
        p.setInitialRedeliveryDelay(0);
        p.setRedeliveryDelay(0);
        f.setRedeliveryPolicy(p);
        return f;
    }

    /** A started connection from factory(). */
    Connection connect() throws JMSException {
        Connection c = factory().createConnection();
        c.start();
        return c;
    }

    /**
     * What the 5.17 client itself makes of a String property or MapMessage
     * entry after marshalling and unmarshalling it, broker or not: it writes
     * modified UTF-8 (CESU-8 for supplementary characters, C0 80 for NUL) but
     * reads short strings back through hawtbuf's UTF8Buffer, which decodes
     * standard UTF-8, so surrogate pairs and NUL come back as U+FFFD. A
     * transparent broker delivers exactly this.
     */
    static String viaClientMarshalling(String s) throws java.io.IOException {
        java.util.Map<String, Object> m = new java.util.HashMap<>();
        m.put("k", s);
        java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
        org.apache.activemq.util.MarshallingSupport.marshalPrimitiveMap(m, new java.io.DataOutputStream(bo));
        java.util.Map<String, Object> back = org.apache.activemq.util.MarshallingSupport.unmarshalPrimitiveMap(
                new java.io.DataInputStream(new java.io.ByteArrayInputStream(bo.toByteArray())));
        return back.get("k").toString();
    }

    /**
     * A String property or MapMessage string with supplementary characters
     * or NUL must arrive either exactly as sent or exactly as ActiveMQ
     * delivers it (viaClientMarshalling): a broker may re-encode such strings
     * so that the client decodes them intact, but may not garble them in any
     * other way. Prints which of the two happened.
     */
    static void tricky(String sent, Object got, String what) throws java.io.IOException {
        String garbled = viaClientMarshalling(sent);
        if (sent.equals(got)) {
            System.out.println("NOTE " + what + ": arrived intact (ActiveMQ 5.17 delivers U+FFFD for surrogates and NUL)");
            return;
        }
        equal(garbled, got, what + " (as ActiveMQ delivers it, or intact)");
    }

    static void check(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new AssertionError(String.format(format, args));
        }
    }

    static void equal(Object want, Object got, String what) {
        boolean same = want == null ? got == null : want.equals(got);
        check(same, "%s: want %s (%s), got %s (%s)", what, abbrev(want), typeOf(want), abbrev(got), typeOf(got));
    }

    private static String abbrev(Object o) {
        String s = String.valueOf(o);
        return s.length() <= 120 ? s : s.substring(0, 100) + "... (" + s.length() + " chars)";
    }

    private static String typeOf(Object o) {
        return o == null ? "null" : o.getClass().getName();
    }

    /** receive that must return a message within WAIT_MS. */
    static Message recv(MessageConsumer c, String what) throws JMSException {
        Message m = c.receive(WAIT_MS);
        check(m != null, "%s: nothing received within %d ms", what, WAIT_MS);
        return m;
    }

    /** receive that must return nothing within QUIET_MS. */
    static void none(MessageConsumer c, String what) throws JMSException {
        Message m = c.receive(QUIET_MS);
        check(m == null, "%s: expected no message, got %s", what, m);
    }

    /** Runs body and returns the exception it threw, failing when it threw none. */
    static Exception expectThrow(String what, Body body) {
        try {
            body.run();
        } catch (Exception e) {
            return e;
        }
        throw new AssertionError(what + ": expected an exception, none was thrown");
    }

    /** The exception must be exactly of class want (not a subclass). */
    static void exactly(Class<?> want, Exception got, String what) {
        check(got.getClass() == want, "%s: want %s, got %s: %s", what, want.getName(),
                got.getClass().getName(), got.getMessage());
    }

    interface Body {
        void run() throws Exception;
    }

    static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (JMSException e) {
            // already failing or closed
        }
    }
}
