import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Message groups, exclusive consumers and virtual topics through the
 * ActiveMQ 5.17 JMS client, with consumers leaving, and across a failover:
 *
 *   java JmsFeatureScenarios BROKER_URL SCENARIO...      (as Scenarios: RUN, PASS, FAIL)
 *   java JmsFeatureScenarios -list
 *
 * groups, exclusive and virtual-topic need one broker. The *-failover
 * scenarios need a master/slave pair behind a failover: URL and someone to
 * kill the master while they publish: each prints "READY" once its
 * consumers are subscribed, "PUBLISH n" before it publishes n persistent
 * messages and "SENT k" after each acknowledged send, and fails unless its
 * connections went through a failover during the publication. Scenarios
 * print "INFO ..." with what they saw and "NOTE ..." for what the reader
 * may compare with ActiveMQ.
 */
public final class JmsFeatureScenarios {
    static final Map<String, Scenarios.Scenario> ALL = new LinkedHashMap<>();

    static {
        ALL.put("groups", GroupScenarios::groups);
        ALL.put("exclusive", ExclusiveScenarios::exclusive);
        ALL.put("virtual-topic", VirtualTopicScenarios::virtualTopic);
        ALL.put("groups-failover", GroupScenarios::failover);
        ALL.put("exclusive-failover", ExclusiveScenarios::failover);
        ALL.put("virtual-topic-failover", VirtualTopicScenarios::failover);
    }

    private JmsFeatureScenarios() {
    }

    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("-list")) {
            ALL.keySet().forEach(System.out::println);
            return;
        }
        if (args.length < 2 || args[0].startsWith("-")) {
            System.err.println("usage: java JmsFeatureScenarios BROKER_URL SCENARIO... | -list");
            System.exit(2);
        }
        Scenarios.runAll(ALL, args);
    }
}
