import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JMS 1.1 interop scenarios for an OpenWire broker, written against the
 * real ActiveMQ 5.17 first:
 *
 *   java Scenarios BROKER_URL SCENARIO...
 *   java Scenarios -list
 *
 * Each scenario prints "RUN name", then "PASS name" or "FAIL name: why" (with a stack trace)
 * and the process exits 1 if any failed. Each scenario is bounded by
 * -Dscenario.seconds (default 40), and a watchdog ends the process with
 * exit status 3 when all take longer than -Dwatchdog.seconds (default
 * 300), so no wait is unbounded.
 */
public final class Scenarios {
    interface Scenario {
        void run(Env env) throws Exception;
    }

    static final Map<String, Scenario> ALL = new LinkedHashMap<>();

    static {
        ALL.put("client-id", ConnectionScenarios::clientID);
        ALL.put("ack-auto", AckScenarios::auto);
        ALL.put("ack-client", AckScenarios::client);
        ALL.put("ack-dups-ok", AckScenarios::dupsOK);
        ALL.put("ack-individual", AckScenarios::individual);
        ALL.put("tx-commit", AckScenarios::txCommit);
        ALL.put("tx-rollback", AckScenarios::txRollback);
        ALL.put("queue-competing", DestinationScenarios::competing);
        ALL.put("consumer-priority", PriorityScenarios::consumers);
        ALL.put("topic-fanout", DestinationScenarios::fanout);
        ALL.put("durable", DestinationScenarios::durable);
        ALL.put("temp-request-reply", DestinationScenarios::requestReply);
        ALL.put("temp-topic", DestinationScenarios::tempTopic);
        ALL.put("browser", DestinationScenarios::browser);
        ALL.put("type-message-properties", MessageScenarios::properties);
        ALL.put("type-text", MessageScenarios::text);
        ALL.put("type-bytes", MessageScenarios::bytes);
        ALL.put("type-map", MessageScenarios::map);
        ALL.put("type-stream", MessageScenarios::stream);
        ALL.put("type-object", MessageScenarios::object);
        ALL.put("header-message-id", HeaderScenarios::messageID);
        ALL.put("header-priority", HeaderScenarios::priority);
        ALL.put("header-expiration", HeaderScenarios::expiration);
        ALL.put("header-correlation-type", HeaderScenarios::correlationAndType);
        ALL.put("selector", HeaderScenarios::selector);
        ALL.put("prefetch-zero", ConnectionScenarios::prefetchZero);
        ALL.put("close-cascade", ConnectionScenarios::closeCascade);
        ALL.put("dlq", ConnectionScenarios::deadLetter);
        ALL.put("producer-window", ConnectionScenarios::producerWindow);
        ALL.put("advisory-consumers", AdvisoryScenarios::consumers);
    }

    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("-list")) {
            ALL.keySet().forEach(System.out::println);
            return;
        }
        if (args.length < 2) {
            System.err.println("usage: java Scenarios BROKER_URL SCENARIO... | -list");
            System.exit(2);
        }
        runAll(ALL, args);
    }

    /**
     * Runs the scenarios named by args[1..] of all against the broker URL
     * args[0], under the watchdog, and exits 0 when every one passed.
     */
    static void runAll(Map<String, Scenario> all, String[] args) {
        startWatchdog(Long.getLong("watchdog.seconds", 300));
        int failed = 0;
        for (int i = 1; i < args.length; i++) {
            String name = args[i];
            Scenario s = all.get(name);
            if (s == null) {
                System.out.println("FAIL " + name + ": no such scenario");
                failed++;
                continue;
            }
            System.out.println("RUN " + name);
            if (!runOne(name, s, args[0])) {
                failed++;
            }
            System.out.flush();
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    /**
     * Runs one scenario in its own thread, bounded by -Dscenario.seconds
     * (default 40): a scenario stuck in a blocking call the JMS API gives
     * no timeout for (a send waiting for producer window, a commit) fails
     * with its stack, and the next one runs.
     */
    static boolean runOne(String name, Scenario s, String url) {
        long limit = Long.getLong("scenario.seconds", 40);
        Throwable[] failure = new Throwable[1];
        long start = System.nanoTime();
        Thread t = new Thread(() -> {
            try {
                s.run(new Env(url, name));
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "scenario-" + name);
        t.setDaemon(true);
        t.start();
        try {
            t.join(limit * 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            System.out.println("FAIL " + name + ": still running after " + limit + " s; its stack:");
            for (StackTraceElement el : t.getStackTrace()) {
                System.out.println("\tat " + el);
            }
            t.interrupt();
            return false;
        }
        if (failure[0] != null) {
            System.out.println("FAIL " + name + ": " + failure[0]);
            failure[0].printStackTrace(System.out);
            return false;
        }
        System.out.printf("PASS %s (%d ms)%n", name, (System.nanoTime() - start) / 1_000_000);
        return true;
    }

    static void startWatchdog(long seconds) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("FAIL watchdog: scenarios still running after " + seconds + " s; threads:");
            Thread.getAllStackTraces().forEach((th, st) -> {
                System.out.println("  " + th.getName());
                for (StackTraceElement el : st) {
                    System.out.println("    at " + el);
                }
            });
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        t.setDaemon(true);
        t.start();
    }
}
