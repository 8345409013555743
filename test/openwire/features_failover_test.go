//go:build crossprocess

package openwire

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/activemq"
	"github.com/piermq/pier/test/internal/cluster"
	"github.com/piermq/pier/test/internal/javarun"
)

// Message groups, exclusive consumers and virtual topics through the
// ActiveMQ 5.17 JMS client (java/JmsFeatureScenarios.java and the
// *Scenarios.java it runs), with consumers leaving, and across kill -9 of
// the master of a shared-directory pair.

// TestFeatures runs, in one JVM against one broker (pier, or the real
// ActiveMQ with OPENWIRE_TARGET=activemq):
//   - groups: 3 consumers, 6 groups x 50 messages: each group at one
//     consumer, in JMSXGroupSeq order, JMSXGroupFirstForConsumer on seq 1
//     only; the consumer with the most groups stops part way and is closed
//     while seq 81..100 are being sent: its groups go on at one other
//     consumer each, from the next seq, in order, the first there marked;
//     every message once; a JMSXGroupSeq -1 message reaches the group's
//     consumer and the group's next message arrives once, marked first (a
//     new group);
//   - exclusive: a plain consumer, then exclusive e1 and e2: only e1
//     receives; e1 closes with 20 messages prefetched: e2 gets those and the
//     rest, in order; the plain consumer gets nothing until e2 closes too;
//   - virtual-topic: two consumers of Consumer.A.VirtualTopic.X (each
//     message to exactly one, both getting some), one of
//     Consumer.B.VirtualTopic.X and a subscriber of the topic: each message
//     reaches A, B and the subscriber once; B's consumer closes, 20 more
//     are published, and B's next consumer gets those 20, in order.
func TestFeatures(t *testing.T) {
	classpath(t)
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names := []string{"groups", "exclusive", "virtual-topic"}
	start := time.Now()
	p := featureJVM(60*time.Second).Start(t, ctx, nil, "JmsFeatureScenarios", append([]string{failoverURL(b.Addr())}, names...)...)
	waitErr := p.Wait(3 * time.Minute)
	t.Logf("%d scenarios in %s", len(names), time.Since(start).Round(time.Millisecond))
	for _, name := range names {
		t.Run(name, func(t *testing.T) { reportFeature(t, p.Output(), name) })
	}
	if waitErr != nil && !strings.Contains(p.Output(), "\nFAIL ") {
		t.Errorf("JmsFeatureScenarios exited with %v but reported no failure:\n%s", waitErr, activemq.Tail(p.Output(), 8192))
	}
}

// TestFeaturesFailover runs each *-failover scenario on a shared-directory
// pair of `pier serve` (one journal directory, the lock holder is master)
// through the pair's failover: URL, and kills the master with SIGKILL once
// a third of the scenario's persistent publication is acknowledged:
//   - groups-failover: 3 consumers on one connection, 6 groups x 100:
//     every message exactly once, each consumer gets each group in order,
//     each group keeps its consumer across the failover (the new master
//     holds it for the consumer's return), JMSXGroupFirstForConsumer on
//     seq 1 only;
//   - exclusive-failover: the exclusive hand-over of TestFeatures/exclusive
//     on the pair, then exclusive e2 and e3 across the failover while 300
//     messages are published: before it e2 receives, after it exactly one
//     of e2 and e3 (the client restores them in no fixed order); every
//     message arrives, a second arrival only marked redelivered, first
//     arrivals in order; a plain consumer subscribing after the failover
//     gets none of 10 more;
//   - virtual-topic-failover: two consumers of group A and one of group B
//     on one connection, 300 messages published to the topic: each reaches
//     A exactly once and B exactly once.
//
// The scenario itself fails unless both its connections went through the
// failover with sends acknowledged after it.
func TestFeaturesFailover(t *testing.T) {
	if target(t) != "pier" {
		t.Skip("a shared-directory pair is Pier's own")
	}
	classpath(t)
	for _, name := range []string{"groups-failover", "exclusive-failover", "virtual-topic-failover"} {
		t.Run(name, func(t *testing.T) { runFeatureFailover(t, name) })
	}
}

// featureJVM is the suite's JVM with each scenario bounded by limit.
func featureJVM(limit time.Duration) javarun.JVM {
	bound := fmt.Sprintf("-Dscenario.seconds=%d", int(limit.Seconds()))
	return javarun.JVM{Src: jvm.Src, Flags: append(slices.Clone(jvm.Flags), bound)}
}

// reportFeature passes or fails the test with the scenario's part of out,
// logging its INFO and NOTE lines.
func reportFeature(t *testing.T, out, name string) {
	t.Helper()
	part := javarun.Section(out, name)
	switch {
	case strings.Contains(part, "\nPASS "+name+" "):
		for _, line := range strings.Split(part, "\n") {
			if strings.HasPrefix(line, "INFO ") || strings.HasPrefix(line, "NOTE ") {
				t.Log(line)
			}
		}
		t.Log(lastLine(part))
	case part == "":
		t.Fatalf("scenario %s did not run; output:\n%s", name, activemq.Tail(out, 8192))
	default:
		t.Fatalf("%s", activemq.Tail(withoutSent(part), 16384))
	}
}

// withoutSent drops the SENT lines of a failover scenario's output.
func withoutSent(out string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		if !strings.HasPrefix(line, "SENT ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// featureFailoverLimit bounds one failover scenario in its JVM.
const featureFailoverLimit = 90 * time.Second

// runFeatureFailover runs one failover scenario on a new shared-directory
// pair and kills its master (SIGKILL) once a third of the scenario's sends
// were acknowledged; the killed broker is started again as the slave.
func runFeatureFailover(t *testing.T, name string) {
	c := cluster.Start(t, cluster.Options{Name: "features", Nodes: 2, Journal: true,
		SharedDir: filepath.Join(t.TempDir(), "journal")})
	m, err := c.Master(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), featureFailoverLimit+time.Minute)
	defer cancel()

	var mu sync.Mutex
	total, sent := 0, 0
	third := make(chan struct{})
	var once sync.Once
	start := time.Now()
	p := featureJVM(featureFailoverLimit).Start(t, ctx, func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := strings.CutPrefix(line, "PUBLISH "); ok {
			total, _ = strconv.Atoi(s)
		} else if s, ok := strings.CutPrefix(line, "SENT "); ok {
			sent, _ = strconv.Atoi(s)
		}
		if total > 0 && sent >= total/3 {
			once.Do(func() { close(third) })
		}
	}, "JmsFeatureScenarios", c.FailoverURL(), name)
	exited := make(chan error, 1)
	go func() { exited <- p.Wait(featureFailoverLimit + 30*time.Second) }()

	select {
	case <-third:
	case err := <-exited:
		t.Fatalf("%s ended (%v) before a third of its sends were acknowledged:\n%s", name, err, activemq.Tail(p.Output(), 8192))
	case <-time.After(featureFailoverLimit):
		t.Fatalf("%s: a third of the sends not acknowledged after %s:\n%s", name, featureFailoverLimit, activemq.Tail(p.Output(), 8192))
	}
	killed := time.Now()
	m.Kill()
	mu.Lock()
	atKill := sent
	mu.Unlock()
	next, err := c.Master(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("master %s killed after %d of %d sends were acknowledged; %s master %s later",
		m.ID, atKill, total, next.ID, time.Since(killed).Round(time.Millisecond))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	waitErr := <-exited
	t.Logf("%s in %s (JVM and pair included)", name, time.Since(start).Round(time.Millisecond))
	reportFeature(t, p.Output(), name)
	if waitErr != nil {
		t.Errorf("JmsFeatureScenarios exited with %v", waitErr)
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
}
