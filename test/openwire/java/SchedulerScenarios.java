import static javax.jms.Session.AUTO_ACKNOWLEDGE;

import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Destination;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageFormatException;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TemporaryQueue;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ScheduledMessage;
import org.apache.activemq.command.ActiveMQTextMessage;

/**
 * ActiveMQ's message scheduler through the 5.17 JMS client: the
 * AMQ_SCHEDULED_* properties, scheduledJobId on every delivery, the
 * ActiveMQ.Scheduler.Management topic and bad values refused on the send.
 *
 *   java SchedulerScenarios BROKER_URL SCENARIO...      (as Scenarios: RUN, PASS, FAIL)
 *   java SchedulerScenarios -list
 *   java SchedulerScenarios -schedule URL QUEUE N MIN_MS MAX_MS
 *   java SchedulerScenarios -receive URL QUEUE N SECONDS
 *
 * -schedule sends N persistent text messages "job-i" (property "job" = i)
 * with AMQ_SCHEDULED_DELAY spread evenly from MIN_MS to MAX_MS, printing
 * "SENT i before_ms after_ms delay_ms JMSMessageID" for each (the wall
 * clock around the synchronous send), then "DONE" once its connection is
 * closed. -receive prints "READY" once its consumer exists, then
 * "RECV i at_ms JMSMessageID scheduledJobId redelivered" per delivery,
 * until it has seen N distinct jobs and then QUIET_AFTER_MS more (for late
 * duplicates), or SECONDS passed; then "END". A scenario prints "INFO ..."
 * lines with what it measured.
 *
 * Times are System.currentTimeMillis(), the clock the broker (on this
 * machine) also fires by; SLACK_MS allows for its millisecond granularity.
 */
public final class SchedulerScenarios {
    static final Map<String, Scenarios.Scenario> ALL = new LinkedHashMap<>();

    static {
        ALL.put("delay", SchedulerScenarios::delay);
        ALL.put("repeat", SchedulerScenarios::repeat);
        ALL.put("cron", SchedulerScenarios::cron);
        ALL.put("management", SchedulerScenarios::management);
        ALL.put("bad-values", SchedulerScenarios::badValues);
    }

    /** How early a delivery may seem to be (clock granularity). */
    static final long SLACK_MS = 10;
    /** How late a delivery may be on this loaded machine ("within a few seconds"). */
    static final long LATE_MS = 3000;
    /** How long -receive watches for duplicates after the last job arrived. */
    static final long QUIET_AFTER_MS = 1500;

    private SchedulerScenarios() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("-list")) {
            ALL.keySet().forEach(System.out::println);
            return;
        }
        if (args.length == 6 && args[0].equals("-schedule")) {
            schedule(args[1], args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]), Long.parseLong(args[5]));
            return;
        }
        if (args.length == 5 && args[0].equals("-receive")) {
            receive(args[1], args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]));
            return;
        }
        if (args.length < 2 || args[0].startsWith("-")) {
            System.err.println("usage: java SchedulerScenarios BROKER_URL SCENARIO... | -list"
                    + " | -schedule URL QUEUE N MIN_MS MAX_MS | -receive URL QUEUE N SECONDS");
            System.exit(2);
        }
        Scenarios.runAll(ALL, args);
    }

    /** A persistent (so synchronous) send of text with the given scheduling properties. */
    static TextMessage send(Session s, MessageProducer p, String text, Object... props) throws Exception {
        TextMessage m = s.createTextMessage(text);
        for (int i = 0; i < props.length; i += 2) {
            m.setObjectProperty((String) props[i], props[i + 1]);
        }
        p.send(m, DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, 0);
        return m;
    }

    /** receive that must return a message by the deadline (wall clock, ms). */
    static Message recvBy(MessageConsumer c, long deadline, String what) throws Exception {
        long left = deadline - System.currentTimeMillis();
        Message m = c.receive(Math.max(1, left));
        Env.check(m != null, "%s: nothing received within %d ms", what, Math.max(1, left));
        return m;
    }

    /** receive that must return nothing until the deadline. */
    static void noneUntil(MessageConsumer c, long deadline, String what) throws Exception {
        for (long left; (left = deadline - System.currentTimeMillis()) > 0;) {
            Message m = c.receive(left);
            Env.check(m == null, "%s: expected nothing, got %s", what, m);
        }
    }

    /** The delivery's scheduledJobId, which must be a non-empty String. */
    static String jobID(Message m, String what) throws Exception {
        Object id = m.getObjectProperty(ScheduledMessage.AMQ_SCHEDULED_ID);
        Env.check(id instanceof String && !((String) id).isEmpty(), "%s: scheduledJobId %s (%s)", what, id,
                id == null ? "absent" : id.getClass().getName());
        return (String) id;
    }

    /** No property of the broker's own job state may leak into a delivery. */
    static void noJobState(Message m, String what) throws Exception {
        for (Enumeration<?> e = m.getPropertyNames(); e.hasMoreElements();) {
            String name = (String) e.nextElement();
            Env.check(!name.startsWith("pier.job."), "%s carries the broker's job property %s", what, name);
        }
    }

    /**
     * AMQ_SCHEDULED_DELAY 1500: not before 1.5 s, soon after, the same
     * JMSMessageID, a scheduledJobId, and (as ActiveMQ delivers it) without
     * the scheduling properties.
     */
    static void delay(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageConsumer mc = s.createConsumer(q);
            MessageProducer p = s.createProducer(q);
            long before = System.currentTimeMillis();
            TextMessage sent = send(s, p, "delayed", ScheduledMessage.AMQ_SCHEDULED_DELAY, 1500L);
            long after = System.currentTimeMillis();
            Message m = recvBy(mc, after + 1500 + LATE_MS, "the delayed message");
            long at = System.currentTimeMillis();
            Env.check(at >= before + 1500 - SLACK_MS, "delivered %d ms after the send began, before its 1500 ms delay",
                    at - before);
            Env.equal("delayed", ((TextMessage) m).getText(), "body");
            Env.equal(sent.getJMSMessageID(), m.getJMSMessageID(), "JMSMessageID of a delayed message");
            Env.equal(q, m.getJMSDestination(), "JMSDestination");
            jobID(m, "the delayed message");
            noJobState(m, "the delayed message");
            System.out.printf("INFO delay 1500 ms: delivered %d ms after the send was acknowledged%n", at - after);
            Env.none(mc, "a second delivery of the delayed message");
            // ActiveMQ's SchedulerBroker.scheduledJob removes them from what it delivers.
            for (String name : new String[] {ScheduledMessage.AMQ_SCHEDULED_DELAY, ScheduledMessage.AMQ_SCHEDULED_PERIOD,
                    ScheduledMessage.AMQ_SCHEDULED_REPEAT, ScheduledMessage.AMQ_SCHEDULED_CRON}) {
                Env.check(!m.propertyExists(name), "the delivered message still carries %s=%s (ActiveMQ removes it)",
                        name, m.getObjectProperty(name));
            }
        } finally {
            c.close();
        }
    }

    /** DELAY 500, PERIOD 500, REPEAT 3: exactly 4 deliveries, each its own JMSMessageID, >= 450 ms apart. */
    static void repeat(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageConsumer mc = s.createConsumer(q);
            MessageProducer p = s.createProducer(q);
            long before = System.currentTimeMillis();
            TextMessage sent = send(s, p, "repeated", ScheduledMessage.AMQ_SCHEDULED_DELAY, 500L,
                    ScheduledMessage.AMQ_SCHEDULED_PERIOD, 500L, ScheduledMessage.AMQ_SCHEDULED_REPEAT, 3);
            long after = System.currentTimeMillis();
            List<Long> at = new ArrayList<>();
            Set<String> ids = new LinkedHashSet<>();
            Set<String> jobs = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                Message m = recvBy(mc, after + 500 + 500 * i + LATE_MS, "delivery " + (i + 1) + " of 4");
                at.add(System.currentTimeMillis());
                Env.equal("repeated", ((TextMessage) m).getText(), "body of delivery " + (i + 1));
                Env.check(ids.add(m.getJMSMessageID()), "delivery %d repeats JMSMessageID %s", i + 1,
                        m.getJMSMessageID());
                jobs.add(jobID(m, "delivery " + (i + 1)));
                noJobState(m, "delivery " + (i + 1));
            }
            Env.check(at.get(0) >= before + 500 - SLACK_MS, "first delivery %d ms after the send began, before its delay",
                    at.get(0) - before);
            StringBuilder gaps = new StringBuilder();
            for (int i = 1; i < 4; i++) {
                long gap = at.get(i) - at.get(i - 1);
                gaps.append(i == 1 ? "" : " ").append(gap);
                Env.check(gap >= 450, "deliveries %d and %d only %d ms apart (period 500)", i, i + 1, gap);
            }
            Env.equal(1, jobs.size(), "distinct scheduledJobIds of one job's deliveries " + jobs);
            System.out.printf("INFO repeat: first %d ms after the send was acknowledged, gaps %s ms%n",
                    at.get(0) - after, gaps);
            noneUntil(mc, System.currentTimeMillis() + 3 * 500, "a fifth delivery of REPEAT 3");
            // As ActiveMQ's SchedulerBroker does (and docs/broker.md says):
            // every delivery of a repeating job is a message of its own.
            Env.check(!ids.contains(sent.getJMSMessageID()),
                    "a delivery of the repeating job has the sent message's JMSMessageID %s (deliveries: %s)",
                    sent.getJMSMessageID(), ids);
        } finally {
            c.close();
        }
    }

    /**
     * AMQ_SCHEDULED_CRON "* * * * *" delivers at the next whole minute; with
     * REPEAT 1 and PERIOD 1000 each cron time starts two deliveries a second
     * apart (the first a period after the cron time, as ActiveMQ's
     * JobSchedulerImpl does). Both jobs stay, for the next minute, until
     * removed. The one wait for a real minute in the suite.
     */
    static void cron(Env env) throws Exception {
        long toMinute = 60_000 - System.currentTimeMillis() % 60_000;
        if (toMinute < 3000) {
            Thread.sleep(toMinute + 100); // too close to the minute to know which one the broker picks
        }
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue qa = s.createQueue(env.name("a"));
            Queue qb = s.createQueue(env.name("b"));
            MessageConsumer ca = s.createConsumer(qa);
            MessageConsumer cb = s.createConsumer(qb);
            MessageProducer p = s.createProducer(null);
            long before = System.currentTimeMillis();
            long minute = (before / 60_000 + 1) * 60_000;
            TextMessage a = s.createTextMessage("cron-a");
            a.setStringProperty(ScheduledMessage.AMQ_SCHEDULED_CRON, "* * * * *");
            p.send(qa, a, DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, 0);
            TextMessage b = s.createTextMessage("cron-b");
            b.setStringProperty(ScheduledMessage.AMQ_SCHEDULED_CRON, "* * * * *");
            b.setIntProperty(ScheduledMessage.AMQ_SCHEDULED_REPEAT, 1);
            b.setLongProperty(ScheduledMessage.AMQ_SCHEDULED_PERIOD, 1000);
            p.send(qb, b, DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, 0);
            long after = System.currentTimeMillis();
            Env.check(after < minute - 500, "the sends took until %d ms before the minute; cannot tell minutes apart",
                    minute - after);
            System.out.printf("INFO cron: sent %d ms before the minute%n", minute - after);

            Message ma = recvBy(ca, minute + LATE_MS, "the cron job at the minute");
            long atA = System.currentTimeMillis();
            Env.check(atA >= minute - SLACK_MS, "cron job delivered %d ms before the minute", minute - atA);
            Env.equal("cron-a", ((TextMessage) ma).getText(), "body of the cron job");
            Env.check(!ma.getJMSMessageID().equals(a.getJMSMessageID()),
                    "a cron job's delivery has the sent JMSMessageID %s (ActiveMQ gives each firing its own)",
                    ma.getJMSMessageID());
            jobID(ma, "the cron job's delivery");
            noJobState(ma, "the cron job's delivery");

            Message b1 = recvBy(cb, minute + 1000 + LATE_MS, "the first delivery of the cron job with a repeat");
            long atB1 = System.currentTimeMillis();
            Message b2 = recvBy(cb, atB1 + 1000 + LATE_MS, "the second delivery of the cron job with a repeat");
            long atB2 = System.currentTimeMillis();
            Env.check(atB1 >= minute + 1000 - SLACK_MS, "first sub-schedule delivery %d ms after the minute, before its period",
                    atB1 - minute);
            // The second is due a period after the first fired: at minute + 2000 at the earliest.
            Env.check(atB2 >= minute + 2000 - SLACK_MS, "second sub-schedule delivery %d ms after the minute, before its period",
                    atB2 - minute);
            Env.check(atB2 - atB1 >= 900 && atB2 - atB1 <= 1000 + LATE_MS,
                    "the two deliveries are %d ms apart, want about a period (1000 ms)", atB2 - atB1);
            Env.check(!b1.getJMSMessageID().equals(b2.getJMSMessageID()), "both deliveries have JMSMessageID %s",
                    b1.getJMSMessageID());
            Env.equal("cron-b", ((TextMessage) b1).getText(), "body of the first sub-schedule delivery");
            Env.equal("cron-b", ((TextMessage) b2).getText(), "body of the second sub-schedule delivery");
            jobID(b1, "the first sub-schedule delivery");
            jobID(b2, "the second sub-schedule delivery");
            System.out.printf("INFO cron: a at minute+%d ms; b at minute+%d ms and +%d ms%n", atA - minute,
                    atB1 - minute, atB2 - minute);
            noneUntil(cb, atB2 + 1500, "a third delivery of REPEAT 1");
            Env.none(ca, "a second delivery of the cron job within its minute");

            // Both cron jobs wait for the next minute; remove them.
            TemporaryQueue replies = s.createTemporaryQueue();
            MessageConsumer rc = s.createConsumer(replies);
            MessageProducer mgmt = s.createProducer(s.createTopic(ScheduledMessage.AMQ_SCHEDULER_MANAGEMENT_DESTINATION));
            Map<String, String> jobs = browse(s, mgmt, rc, replies, 2);
            Env.equal(new HashSet<>(List.of("cron-a", "cron-b")), new HashSet<>(jobs.values()),
                    "bodies of the jobs browsed after the firing");
            request(s, mgmt, ScheduledMessage.AMQ_SCHEDULER_ACTION_REMOVEALL);
            browse(s, mgmt, rc, replies, 0);
        } finally {
            c.close();
        }
    }

    /** Sends a management request with properties (name, value pairs). */
    static void request(Session s, MessageProducer mgmt, String action, Object... props) throws Exception {
        Message r = s.createMessage();
        r.setStringProperty(ScheduledMessage.AMQ_SCHEDULER_ACTION, action);
        for (int i = 0; i < props.length; i += 2) {
            r.setObjectProperty((String) props[i], props[i + 1]);
        }
        mgmt.send(r, DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, 0); // synchronous
    }

    /**
     * BROWSE to replies: exactly n copies, each with its own scheduledJobId.
     * Returns their bodies by job id.
     */
    static Map<String, String> browse(Session s, MessageProducer mgmt, MessageConsumer rc, Destination replies, int n)
            throws Exception {
        Message r = s.createMessage();
        r.setStringProperty(ScheduledMessage.AMQ_SCHEDULER_ACTION, ScheduledMessage.AMQ_SCHEDULER_ACTION_BROWSE);
        r.setJMSReplyTo(replies);
        mgmt.send(r, DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, 0);
        Map<String, String> jobs = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Message m = Env.recv(rc, "browsed job " + (i + 1) + " of " + n);
            String id = jobID(m, "browsed job " + (i + 1));
            noJobState(m, "browsed job " + (i + 1));
            Env.check(jobs.put(id, ((TextMessage) m).getText()) == null, "job %s browsed twice", id);
        }
        Env.none(rc, "more than " + n + " browsed jobs");
        return jobs;
    }

    /**
     * ActiveMQ.Scheduler.Management: five jobs BROWSEd (copies to a
     * temporary queue), one REMOVEd by scheduledJobId, two by a time range,
     * BROWSE shows the other two, REMOVEALL, BROWSE shows none, and none of
     * the five is ever delivered.
     */
    static void management(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageConsumer mc = s.createConsumer(q);
            MessageProducer p = s.createProducer(q);
            TemporaryQueue replies = s.createTemporaryQueue();
            MessageConsumer rc = s.createConsumer(replies);
            MessageProducer mgmt = s.createProducer(s.createTopic(ScheduledMessage.AMQ_SCHEDULER_MANAGEMENT_DESTINATION));
            long[] delays = {6000, 7000, 8000, 9000, 10000};
            long[] earliest = new long[5]; // when each job can be due at the earliest and at the latest
            long[] latest = new long[5];
            for (int i = 0; i < 5; i++) {
                earliest[i] = System.currentTimeMillis() + delays[i];
                send(s, p, "m" + i, ScheduledMessage.AMQ_SCHEDULED_DELAY, delays[i]);
                latest[i] = System.currentTimeMillis() + delays[i];
            }
            Map<String, String> jobs = browse(s, mgmt, rc, replies, 5);
            Env.equal(new HashSet<>(List.of("m0", "m1", "m2", "m3", "m4")), new HashSet<>(jobs.values()),
                    "bodies of the browsed jobs");
            Map<String, String> byBody = new HashMap<>();
            jobs.forEach((id, body) -> byBody.put(body, id));

            request(s, mgmt, ScheduledMessage.AMQ_SCHEDULER_ACTION_REMOVE, ScheduledMessage.AMQ_SCHEDULED_ID,
                    byBody.get("m0"));
            // A range holding m1's and m2's due times, not m0's or m3's.
            long from = latest[0] + 1;
            long to = earliest[3] - 1;
            Env.check(from <= earliest[1] && to >= latest[2],
                    "the sends were too slow to place a range around m1 and m2 alone (due windows %d..%d, %d..%d)",
                    earliest[1], latest[1], earliest[2], latest[2]);
            request(s, mgmt, ScheduledMessage.AMQ_SCHEDULER_ACTION_REMOVE,
                    ScheduledMessage.AMQ_SCHEDULER_ACTION_START_TIME, from,
                    ScheduledMessage.AMQ_SCHEDULER_ACTION_END_TIME, to);
            Map<String, String> left = browse(s, mgmt, rc, replies, 2);
            Env.equal(new HashSet<>(List.of("m3", "m4")), new HashSet<>(left.values()),
                    "bodies of the jobs left after removing m0 by id and m1, m2 by time");
            Env.equal(new HashSet<>(List.of(byBody.get("m3"), byBody.get("m4"))), left.keySet(),
                    "scheduledJobIds of the jobs left");
            request(s, mgmt, ScheduledMessage.AMQ_SCHEDULER_ACTION_REMOVEALL);
            long done = System.currentTimeMillis();
            Env.check(done < earliest[0], "the management requests took until %d ms after m0 fell due; nothing tested",
                    done - earliest[0]);
            browse(s, mgmt, rc, replies, 0);
            System.out.printf("INFO management: requests done %d ms before the first job was due%n", earliest[0] - done);
            noneUntil(mc, latest[4] + 1000, "a removed job");
        } finally {
            c.close();
        }
    }

    /**
     * Values the scheduler cannot obey are refused on a persistent send with
     * MessageFormatException, nothing is scheduled, and the connection
     * keeps working.
     *
     * The 5.17 client checks some values itself when they are set (a
     * negative delay, period or repeat, a cron expression its CronParser
     * refuses: MessageFormatException; a delay that is not a number:
     * NumberFormatException), so the broker never sees them from it. To put
     * them on the wire as another client could, they are set with the
     * command-level ActiveMQMessage.setProperty, which skips that check; a
     * repeat without a period passes the client's check anyway. The
     * properties are set before the send, so the exception can only come
     * from the broker's answer.
     */
    static void badValues(Env env) throws Exception {
        Connection c = env.connect();
        try {
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(env.name("q"));
            MessageConsumer mc = s.createConsumer(q);
            MessageProducer p = s.createProducer(q);

            TextMessage client = s.createTextMessage("bad");
            Env.exactly(MessageFormatException.class, Env.expectThrow("setLongProperty(AMQ_SCHEDULED_DELAY, -5)",
                    () -> client.setLongProperty(ScheduledMessage.AMQ_SCHEDULED_DELAY, -5)), "the client's own check");
            Env.exactly(MessageFormatException.class, Env.expectThrow("setStringProperty(AMQ_SCHEDULED_CRON, 61 * * * *)",
                    () -> client.setStringProperty(ScheduledMessage.AMQ_SCHEDULED_CRON, "61 * * * *")),
                    "the client's own check");
            System.out.println("NOTE the 5.17 client itself refuses a negative delay and a bad cron expression when set");

            Object[][] bad = {
                    {ScheduledMessage.AMQ_SCHEDULED_DELAY, -5L},
                    {ScheduledMessage.AMQ_SCHEDULED_CRON, "61 * * * *"},
                    {ScheduledMessage.AMQ_SCHEDULED_DELAY, "soon"},
                    {ScheduledMessage.AMQ_SCHEDULED_PERIOD, -1000L},
                    {ScheduledMessage.AMQ_SCHEDULED_DELAY, 100L, ScheduledMessage.AMQ_SCHEDULED_REPEAT, 2},
            };
            for (Object[] props : bad) {
                String what = java.util.Arrays.toString(props);
                ActiveMQTextMessage m = (ActiveMQTextMessage) s.createTextMessage("bad " + what);
                for (int i = 0; i < props.length; i += 2) {
                    m.setProperty((String) props[i], props[i + 1]);
                }
                Exception e = Env.expectThrow("persistent send with " + what,
                        () -> p.send(m, DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, 0));
                Env.exactly(MessageFormatException.class, e, "persistent send with " + what);
                String name = (String) props[props.length - 2];
                Env.check(String.valueOf(e.getMessage()).contains(name), "the refusal of %s does not name %s: %s", what,
                        name, e.getMessage());
                System.out.println("INFO refused " + what + ": " + e.getMessage());
                send(s, p, "good after " + what);
                Message got = Env.recv(mc, "a plain message after the refused send " + what);
                Env.equal("good after " + what, ((TextMessage) got).getText(), "body after the refused send");
            }
            Env.none(mc, "a refused message");
        } finally {
            c.close();
        }
    }

    /** -schedule: see the class comment. */
    static void schedule(String url, String queue, int n, long minMs, long maxMs) throws Exception {
        Connection c = new ActiveMQConnectionFactory(url).createConnection();
        try {
            c.start();
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            MessageProducer p = s.createProducer(s.createQueue(queue));
            for (int i = 0; i < n; i++) {
                long delay = n == 1 ? minMs : minMs + (maxMs - minMs) * i / (n - 1);
                long before = System.currentTimeMillis();
                TextMessage m = send(s, p, "job-" + i, "job", i, ScheduledMessage.AMQ_SCHEDULED_DELAY, delay);
                System.out.printf("SENT %d %d %d %d %s%n", i, before, System.currentTimeMillis(), delay,
                        m.getJMSMessageID());
            }
        } finally {
            c.close();
        }
        System.out.println("DONE");
        System.out.flush();
    }

    /** -receive: see the class comment. */
    static void receive(String url, String queue, int n, long seconds) throws Exception {
        long deadline = System.currentTimeMillis() + seconds * 1000;
        Scenarios.startWatchdog(seconds + 30);
        ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
        System.out.println("INFO checkForDuplicates=" + f.isCheckForDuplicates());
        Connection c = f.createConnection();
        try {
            c.start();
            Session s = c.createSession(false, AUTO_ACKNOWLEDGE);
            MessageConsumer mc = s.createConsumer(s.createQueue(queue));
            System.out.println("READY");
            System.out.flush();
            Set<Integer> seen = new HashSet<>();
            long quietUntil = Long.MAX_VALUE;
            for (long now; (now = System.currentTimeMillis()) < Math.min(deadline, quietUntil);) {
                Message m = mc.receive(Math.min(deadline, quietUntil) - now);
                if (m == null) {
                    continue;
                }
                long at = System.currentTimeMillis();
                int job = m.getIntProperty("job");
                Env.equal("job-" + job, ((TextMessage) m).getText(), "body of job " + job);
                System.out.printf("RECV %d %d %s %s %b%n", job, at, m.getJMSMessageID(),
                        m.getStringProperty(ScheduledMessage.AMQ_SCHEDULED_ID), m.getJMSRedelivered());
                System.out.flush();
                seen.add(job);
                if (seen.size() >= n && quietUntil == Long.MAX_VALUE) {
                    quietUntil = at + QUIET_AFTER_MS;
                }
            }
        } finally {
            Env.closeQuietly(c);
        }
        System.out.println("END");
        System.out.flush();
    }
}
