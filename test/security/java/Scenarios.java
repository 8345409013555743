import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Destination;
import javax.jms.JMSException;
import javax.jms.JMSSecurityException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.QueueBrowser;
import javax.jms.Session;
import javax.jms.TemporaryQueue;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The security scenarios of the suite, run by the ActiveMQ 5.17 JMS client
 * against a secured broker:
 *
 *   java -Dpier.users=app:pw,app2:pw,admin:pw Scenarios URL NAME...
 *
 * For each NAME it prints "RUN NAME", then "PASS NAME detail" or
 * "FAIL NAME: reason" with a stack trace. Exits 0 when all passed. Every
 * scenario closes the connections it opened. The TLS scenarios expect the
 * javax.net.ssl.* system properties their names say.
 */
public final class Scenarios {
    interface Scenario {
        String run() throws Exception;
    }

    interface Action {
        void run() throws Exception;
    }

    static final long WAIT_MS = 10000;
    static final long QUIET_MS = 750;

    static String url;
    static final Map<String, String> passwords = new HashMap<>();
    static final List<Connection> open = new ArrayList<>();
    static final Map<String, Scenario> all = new LinkedHashMap<>();

    static {
        all.put("login-ok", Scenarios::loginOK);
        all.put("login-wrong-password", Scenarios::loginWrongPassword);
        all.put("login-unknown-user", Scenarios::loginUnknownUser);
        all.put("login-anonymous", Scenarios::loginAnonymous);
        all.put("refused-send", Scenarios::refusedSend);
        all.put("refused-async-send", Scenarios::refusedAsyncSend);
        all.put("refused-consumer", Scenarios::refusedConsumer);
        all.put("refused-browser", Scenarios::refusedBrowser);
        all.put("composite", Scenarios::composite);
        all.put("admin-to-create", Scenarios::adminToCreate);
        all.put("temp-reply", Scenarios::tempReply);
        all.put("advisories", Scenarios::advisories);
        all.put("jmsxuserid", Scenarios::jmsxUserID);
        all.put("tls-password", Scenarios::tlsPassword);
        all.put("tls-certificate", Scenarios::tlsCertificate);
        all.put("tls-untrusted", Scenarios::tlsUntrusted);
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: java Scenarios URL NAME...");
            System.exit(2);
        }
        url = args[0];
        for (String pair : System.getProperty("pier.users", "").split(",")) {
            int i = pair.indexOf(':');
            if (i > 0) {
                passwords.put(pair.substring(0, i), pair.substring(i + 1));
            }
        }
        startWatchdog(Long.getLong("watchdog.seconds", 110));
        boolean ok = true;
        for (int i = 1; i < args.length; i++) {
            String name = args[i];
            System.out.println("RUN " + name);
            long start = System.nanoTime();
            try {
                Scenario s = all.get(name);
                if (s == null) {
                    throw new IllegalArgumentException("no scenario " + name);
                }
                String detail = s.run();
                long ms = (System.nanoTime() - start) / 1000000;
                System.out.println("PASS " + name + " (" + ms + " ms) " + detail);
            } catch (Throwable e) {
                ok = false;
                System.out.println("FAIL " + name + ": " + e);
                e.printStackTrace(System.out);
            } finally {
                closeAll();
            }
            System.out.flush();
        }
        System.exit(ok ? 0 : 1);
    }

    // ---- the scenarios ----

    static String loginOK() throws Exception {
        for (String user : new String[] {"app", "app2", "admin"}) {
            Connection c = connect(user);
            c.createSession(false, Session.AUTO_ACKNOWLEDGE).close();
        }
        return "app, app2 and admin logged in";
    }

    static String loginWrongPassword() throws Exception {
        String msg = expectSecurity("login as app with a wrong password",
                () -> connectAs("app", "not-" + passwords.get("app")),
                "User name [app] or password is invalid.");
        // Positive control: the right password on the same broker.
        connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE).close();
        return msg;
    }

    static String loginUnknownUser() throws Exception {
        return expectSecurity("login as an unknown user", () -> connectAs("nobody", "whatever"),
                "User name [nobody] or password is invalid.");
    }

    static String loginAnonymous() throws Exception {
        return expectSecurity("login without credentials", () -> connectAs(null, null), "anonymous");
    }

    /** A refused persistent send; the same session then sends and receives. */
    static String refusedSend() throws Exception {
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        String msg = expectSecurity("app sends to payments", () -> {
            MessageProducer p = s.createProducer(s.createQueue("payments"));
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            p.send(s.createTextMessage("from app"));
        }, "User app is not authorized to write to: queue://payments");
        roundTrip(s, "orders.after-send", "still working");
        // Admin may use payments, and what it finds first is its own
        // message: app's refused one is not there.
        Session a = connect("admin").createSession(false, Session.AUTO_ACKNOWLEDGE);
        send(a, a.createQueue("payments"), "from admin");
        String got = receiveText(a, a.createQueue("payments"));
        check("from admin".equals(got), "admin's first message on payments is " + quote(got));
        return msg;
    }

    /** A refused non-persistent send reaches the exception listener. */
    static String refusedAsyncSend() throws Exception {
        Connection c = connect("app");
        BlockingQueue<JMSException> errors = new ArrayBlockingQueue<>(16);
        c.setExceptionListener(errors::offer);
        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        // A producer for payments is refused when it is made, as ActiveMQ
        // does; an anonymous producer's asynchronous send is refused at
        // the broker and reported to the exception listener.
        expectSecurity("app creates a producer for payments", () -> s.createProducer(s.createQueue("payments")),
                "User app is not authorized to write to: queue://payments");
        MessageProducer p = s.createProducer(null);
        p.setDeliveryMode(DeliveryMode.NON_PERSISTENT);
        p.send(s.createQueue("payments"), s.createTextMessage("async from app"));
        JMSException e = errors.poll(WAIT_MS, TimeUnit.MILLISECONDS);
        check(e != null, "no exception reached the listener within " + WAIT_MS + " ms");
        check(e instanceof JMSSecurityException, "the listener got " + e + ", not a JMSSecurityException");
        contains(e.getMessage(), "User app is not authorized to write to: queue://payments");
        roundTrip(s, "orders.after-async", "still working");
        check(!((ActiveMQConnection) c).isClosed() && !((ActiveMQConnection) c).isTransportFailed(),
                "the connection was closed");
        return e.getMessage();
    }

    static String refusedConsumer() throws Exception {
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        String msg = expectSecurity("app consumes payments", () -> s.createConsumer(s.createQueue("payments")),
                "User app is not authorized to read from: queue://payments");
        roundTrip(s, "orders.after-consumer", "still working");
        // Positive control: admin may consume payments.
        Session a = connect("admin").createSession(false, Session.AUTO_ACKNOWLEDGE);
        a.createConsumer(a.createQueue("payments")).close();
        return msg;
    }

    static String refusedBrowser() throws Exception {
        Session a = connect("admin").createSession(false, Session.AUTO_ACKNOWLEDGE);
        send(a, a.createQueue("payments"), "browse me");
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        String msg = expectSecurity("app browses payments", () -> {
            QueueBrowser b = s.createBrowser(s.createQueue("payments"));
            b.getEnumeration().hasMoreElements();
        }, "User app is not authorized to read from: queue://payments");
        roundTrip(s, "orders.after-browser", "still working");
        // Positive control: admin's browser sees the message.
        QueueBrowser b = a.createBrowser(a.createQueue("payments"));
        java.util.Enumeration<?> en = b.getEnumeration();
        long end = System.currentTimeMillis() + WAIT_MS;
        while (!en.hasMoreElements() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        check(en.hasMoreElements(), "admin's browser of payments saw nothing");
        String text = ((TextMessage) en.nextElement()).getText();
        check("browse me".equals(text), "admin browsed " + quote(text));
        b.close();
        return msg;
    }

    /** A composite with one forbidden member is refused whole. */
    static String composite() throws Exception {
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageConsumer c1 = s.createConsumer(s.createQueue("orders.c1"));
        String msg = expectSecurity("app sends to orders.c1,payments", () -> {
            MessageProducer p = s.createProducer(s.createQueue("orders.c1,payments"));
            p.send(s.createTextMessage("composite with payments"));
        }, "User app is not authorized to write to: queue://payments");
        Message leaked = c1.receive(QUIET_MS);
        check(leaked == null, "the allowed member got " + leaked);
        // Positive control: a composite of allowed members reaches both.
        MessageConsumer c2 = s.createConsumer(s.createQueue("orders.c2"));
        MessageProducer p = s.createProducer(s.createQueue("orders.c1,orders.c2"));
        p.send(s.createTextMessage("allowed composite"));
        for (MessageConsumer c : new MessageConsumer[] {c1, c2}) {
            Message m = c.receive(WAIT_MS);
            check(m != null, "a member of the allowed composite got nothing");
            String text = ((TextMessage) m).getText();
            check("allowed composite".equals(text), "a member got " + quote(text));
        }
        return msg;
    }

    /** Write without admin cannot create a queue; once it exists it can send. */
    static String adminToCreate() throws Exception {
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        Queue q = s.createQueue("audit.trail");
        String msg = expectSecurity("app creates audit.trail by sending", () -> send(s, q, "too early"),
                "User app is not authorized to create: queue://audit.trail");
        Session a = connect("admin").createSession(false, Session.AUTO_ACKNOWLEDGE);
        send(a, a.createQueue("audit.trail"), "created by admin");
        send(s, q, "from app");
        MessageConsumer c = s.createConsumer(q);
        for (String want : new String[] {"created by admin", "from app"}) {
            Message m = c.receive(WAIT_MS);
            check(m != null, "audit.trail: no " + quote(want));
            String got = ((TextMessage) m).getText();
            check(want.equals(got), "audit.trail: got " + quote(got) + ", want " + quote(want));
        }
        return msg;
    }

    /**
     * app's temporary queue: app2 (no temp grant) may not reply to it,
     * admin (temp write) may; the connection of app2 keeps working.
     */
    static String tempReply() throws Exception {
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        TemporaryQueue replies = s.createTemporaryQueue();
        MessageConsumer inbox = s.createConsumer(replies);
        MessageProducer requests = s.createProducer(s.createQueue("rpc.requests"));
        Session s2 = connect("app2").createSession(false, Session.AUTO_ACKNOWLEDGE);
        Session sa = connect("admin").createSession(false, Session.AUTO_ACKNOWLEDGE);

        TextMessage req = s.createTextMessage("request 1");
        req.setJMSReplyTo(replies);
        requests.send(req);
        MessageConsumer k2 = s2.createConsumer(s2.createQueue("rpc.requests"));
        Message got = k2.receive(WAIT_MS);
        check(got != null, "app2 received no request");
        k2.close();
        Destination replyTo = got.getJMSReplyTo();
        check(replyTo != null, "the request has no JMSReplyTo");
        String msg = expectSecurity("app2 replies to app's temporary queue", () -> {
            MessageProducer p = s2.createProducer(null);
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            p.send(replyTo, s2.createTextMessage("from app2"));
        }, "User app2 is not authorized to write to: temp-queue://");
        roundTrip(s2, "rpc.app2", "app2 still working");

        req = s.createTextMessage("request 2");
        req.setJMSReplyTo(replies);
        requests.send(req);
        MessageConsumer ka = sa.createConsumer(sa.createQueue("rpc.requests"));
        got = ka.receive(WAIT_MS);
        check(got != null, "admin received no request");
        check("request 2".equals(((TextMessage) got).getText()), "admin got " + ((TextMessage) got).getText());
        MessageProducer pa = sa.createProducer(null);
        pa.setDeliveryMode(DeliveryMode.PERSISTENT);
        pa.send(got.getJMSReplyTo(), sa.createTextMessage("from admin"));

        Message reply = inbox.receive(WAIT_MS);
        check(reply != null, "app got no reply");
        String text = ((TextMessage) reply).getText();
        check("from admin".equals(text), "app's first reply is " + quote(text));
        check(inbox.receive(QUIET_MS) == null, "app got a second reply");
        return msg;
    }

    /**
     * Temporary-destination advisories are readable by everyone, other
     * advisories follow the entries, and nobody writes advisories.
     */
    static String advisories() throws Exception {
        Session s2 = connect("app2").createSession(false, Session.AUTO_ACKNOWLEDGE);
        s2.createConsumer(s2.createTopic("ActiveMQ.Advisory.TempQueue")).close();
        String read = expectSecurity("app2 reads a consumer advisory",
                () -> s2.createConsumer(s2.createTopic("ActiveMQ.Advisory.Consumer.Queue.rpc.x")),
                "User app2 is not authorized to read from: topic://ActiveMQ.Advisory.Consumer.Queue.rpc.x");
        Session a = connect("admin").createSession(false, Session.AUTO_ACKNOWLEDGE);
        a.createConsumer(a.createTopic("ActiveMQ.Advisory.Consumer.Queue.rpc.x")).close();
        String write = expectSecurity("admin writes an advisory topic", () -> {
            MessageProducer p = a.createProducer(a.createTopic("ActiveMQ.Advisory.TempQueue"));
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            p.send(a.createTextMessage("forged advisory"));
        }, "User admin is not authorized to write to: topic://ActiveMQ.Advisory.TempQueue");
        // Positive control: admin writes an ordinary topic.
        MessageConsumer news = a.createConsumer(a.createTopic("news"));
        MessageProducer p = a.createProducer(a.createTopic("news"));
        p.setDeliveryMode(DeliveryMode.PERSISTENT);
        p.send(a.createTextMessage("headline"));
        Message m = news.receive(WAIT_MS);
        check(m != null && "headline".equals(((TextMessage) m).getText()), "admin's topic message: " + m);
        return read + " / " + write;
    }

    /** JMSXUserID is the authenticated user, even when the sender forges it. */
    static String jmsxUserID() throws Exception {
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        Queue q = s.createQueue("orders.uid");
        MessageProducer p = s.createProducer(q);
        TextMessage forged = s.createTextMessage("forged");
        forged.setStringProperty("JMSXUserID", "admin");
        p.send(forged);
        p.send(s.createTextMessage("plain"));
        MessageConsumer c = s.createConsumer(q);
        for (String want : new String[] {"forged", "plain"}) {
            Message m = c.receive(WAIT_MS);
            check(m != null, "no message " + quote(want));
            String user = m.getStringProperty("JMSXUserID");
            check("app".equals(user), quote(want) + " has JMSXUserID " + quote(user));
        }
        return "JMSXUserID=app";
    }

    /** ssl:// with a truststore: password login; anonymous still refused. */
    static String tlsPassword() throws Exception {
        Session s = connect("app").createSession(false, Session.AUTO_ACKNOWLEDGE);
        String user = roundTrip(s, "orders.tls", "over TLS");
        check("app".equals(user), "JMSXUserID " + quote(user));
        expectSecurity("anonymous over TLS without a certificate", () -> connectAs(null, null), "anonymous");
        return "JMSXUserID=" + user;
    }

    /** ssl:// with a client certificate (CN=app) and no password. */
    static String tlsCertificate() throws Exception {
        Session s = connectAs(null, null).createSession(false, Session.AUTO_ACKNOWLEDGE);
        String user = roundTrip(s, "orders.cert", "by certificate");
        check("app".equals(user), "JMSXUserID " + quote(user));
        String msg = expectSecurity("the certificate's user sends to payments",
                () -> send(s, s.createQueue("payments"), "by certificate"),
                "User app is not authorized to write to: queue://payments");
        // A user name given with the certificate is checked with its password.
        expectSecurity("certificate plus a wrong password", () -> connectAs("app", "wrong"),
                "User name [app] or password is invalid.");
        return "JMSXUserID=" + user + "; " + msg;
    }

    /**
     * ssl:// without a truststore holding the broker's CA: no connection.
     * First a plain TLS handshake with the broker, in this thread, with the
     * same default trust the JMS client uses: it must fail on the broker's
     * certificate. Then the JMS connection must fail too, and not as a login
     * refusal. Which of the client's two threads (reader, writer) meets the
     * handshake failure first is a race: the one that does reports
     * SSLHandshakeException, the other only that the TLS connection "or
     * outbound has closed", so either is a TLS failure here.
     */
    static String tlsUntrusted() throws Exception {
        java.net.URI u = new java.net.URI(url.replaceFirst("\\?.*$", ""));
        try (javax.net.ssl.SSLSocket sock = (javax.net.ssl.SSLSocket)
                javax.net.ssl.SSLSocketFactory.getDefault().createSocket(u.getHost(), u.getPort())) {
            sock.startHandshake();
            throw new AssertionError("a TLS handshake with the broker succeeded without trusting its CA");
        } catch (javax.net.ssl.SSLHandshakeException expected) {
            // the broker's certificate is not trusted
        }
        try {
            connectAs("app", passwords.get("app"));
        } catch (JMSSecurityException e) {
            throw new AssertionError("got a login refusal instead of a TLS failure: " + e);
        } catch (JMSException e) {
            String chain = chain(e);
            check(chain.contains("SSLHandshakeException") || chain.contains("PKIX")
                    || chain.contains("Connection or outbound has closed"),
                    "not a TLS handshake failure: " + chain);
            return "refused: " + firstLine(chain);
        }
        throw new AssertionError("connected over ssl:// without trusting the broker's CA");
    }

    // ---- helpers ----

    static Connection connect(String user) throws JMSException {
        String pw = passwords.get(user);
        check(pw != null, "no password for " + user + " in -Dpier.users");
        return connectAs(user, pw);
    }

    /** Creates and starts a connection (null user: no credentials). */
    static Connection connectAs(String user, String password) throws JMSException {
        ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
        Connection c = user == null ? f.createConnection() : f.createConnection(user, password);
        open.add(c);
        c.start();
        return c;
    }

    static void closeAll() {
        for (Connection c : open) {
            try {
                c.close();
            } catch (Exception e) {
                // a refused connection may already be gone
            }
        }
        open.clear();
    }

    /** Runs a, which must throw JMSSecurityException whose message contains want. */
    static String expectSecurity(String what, Action a, String want) throws Exception {
        try {
            a.run();
        } catch (JMSSecurityException e) {
            String m = String.valueOf(e.getMessage());
            check(m.contains(want), what + ": message " + quote(m) + " lacks " + quote(want));
            return m;
        } catch (JMSException e) {
            throw new AssertionError(what + ": " + e.getClass().getName() + ", not JMSSecurityException: " + chain(e), e);
        }
        throw new AssertionError(what + ": allowed, want JMSSecurityException");
    }

    /**
     * Sends a persistent text message to queue name in s and receives it
     * there; returns its JMSXUserID.
     */
    static String roundTrip(Session s, String name, String text) throws JMSException {
        Queue q = s.createQueue(name);
        send(s, q, text);
        MessageConsumer c = s.createConsumer(q);
        try {
            Message m = c.receive(WAIT_MS);
            check(m != null, name + ": nothing received");
            String got = ((TextMessage) m).getText();
            check(text.equals(got), name + ": got " + quote(got));
            return m.getStringProperty("JMSXUserID");
        } finally {
            c.close();
        }
    }

    static void send(Session s, Destination d, String text) throws JMSException {
        MessageProducer p = s.createProducer(d);
        try {
            p.setDeliveryMode(DeliveryMode.PERSISTENT);
            p.send(s.createTextMessage(text));
        } finally {
            p.close();
        }
    }

    static String receiveText(Session s, Destination d) throws JMSException {
        MessageConsumer c = s.createConsumer(d);
        try {
            Message m = c.receive(WAIT_MS);
            return m == null ? null : ((TextMessage) m).getText();
        } finally {
            c.close();
        }
    }

    static void check(boolean ok, String msg) {
        if (!ok) {
            throw new AssertionError(msg);
        }
    }

    static void contains(String s, String want) {
        check(s != null && s.contains(want), quote(s) + " lacks " + quote(want));
    }

    static String quote(String s) {
        return s == null ? "null" : "\"" + s + "\"";
    }

    /** The exception and its causes, one per line. */
    static String chain(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            b.append(t).append('\n');
        }
        return b.toString();
    }

    static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    /** Ends the JVM with status 3 if it runs longer than seconds. */
    static void startWatchdog(long seconds) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("FAIL watchdog: still running after " + seconds + " s");
            System.out.flush();
            Runtime.getRuntime().halt(3);
        });
        t.setDaemon(true);
        t.start();
    }
}
