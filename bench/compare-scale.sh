#!/usr/bin/env bash
# What idle connections and empty queues cost Pier and ActiveMQ 5.17
# (Debian's `activemq` package), one broker at a time on this machine over
# loopback, with the same client for both: bench/scale (package client,
# OpenWire). Each part runs on a freshly started broker:
#
#   1. Idle connections: CONNS logged-in OpenWire connections with no
#      session and no advisory consumer (NoTopicAdvisories, the Java
#      client's watchTopicAdvisories=false), opened DIALERS at a time and
#      held; then all closed, ROUNDS times. The second round shows what
#      they cost once the memory of the first has been freed and is
#      reused (a Go heap span or a JVM heap region is resident once it has
#      been touched, and a reused one is cleared again).
#   2. Empty queues: QUEUES queues (scale.qNNNNN), each made by one
#      persistent message sent to it and then received by a consumer of its
#      own that closes again, WORKERS connections at a time: every queue
#      exists, has seen a message and is empty.
#
# The broker's resident memory (VmRSS of /proc/PID/status) is read SETTLE
# seconds after the broker listens, after the connections are open, after
# they closed, and after the queues are made; the table gives the growth
# per connection (over the broker at rest, each round) and per queue. ActiveMQ runs with Debian's JVM options and
# AMQ_HEAP (default 512M, -Xms = -Xmx: the heap is reserved at once and
# becomes resident as it is first touched, so its RSS also grows with the
# garbage made meanwhile, and does not shrink after a collection); after
# each reading its live heap is measured too (jcmd GC.run, a full
# collection, then GC.heap_info's "used"), which is what its objects
# themselves hold. Pier's figure is RSS only: its heap in use includes
# garbage the collector has not reached yet, its goroutine stacks are
# resident.
#
# ActiveMQ serves each connection with a thread; Pier with two goroutines.
# Both need a file per connection: the script raises `ulimit -n` to the hard
# limit and stops if that is below CONNS + 1,000 (the client holds as many).
# Takes about 3 minutes with the defaults.
#
# Usage: bench/compare-scale.sh   (as root if activemq is not installed)
# Environment: CONNS (10000), ROUNDS (2), QUEUES (10000), DIALERS (32), WORKERS (16),
#   SETTLE (10 s before each reading), SKIP_AMQ=1, SKIP_PIER=1, PIER_BIN,
#   KEEP_WORK=1, CLIENT_TIMEOUT (1800 s), START_TIMEOUT (300 s),
#   STOP_TIMEOUT (30 s), ports PIER_PORT (61910), AMQ_PORT (61920),
#   AMQ_HEAP (512M). Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONNS=${CONNS:-10000}
ROUNDS=${ROUNDS:-2}
QUEUES=${QUEUES:-10000}
DIALERS=${DIALERS:-32}
WORKERS=${WORKERS:-16}
SETTLE=${SETTLE:-10}
PIER_PORT=${PIER_PORT:-61910}
AMQ_PORT=${AMQ_PORT:-61920}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-1800}
START_TIMEOUT=${START_TIMEOUT:-300}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
AMQ_STOMP_PORT="" # start_activemq: OpenWire only
SCALE=""
NOTES=()

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-scale
mkdir -p "$WORK/r"

# start WHO: a fresh broker (its data wiped) listening on its port.
start() {
	case $1 in
	amq)
		rm -rf "$WORK/activemq"
		AMQ_OPENWIRE_PORT=$AMQ_PORT start_activemq
		;;
	pier)
		rm -rf "$WORK/pier-scale"
		PIER_EXTRA_YAML="limits:
  max_connections: $((CONNS + WORKERS + 100))" start_pier_broker scale "$PIER_PORT"
		;;
	esac
}

# heap_probe WHO PID: the command bench/scale runs after each reading (the
# JVM's live heap in KiB after a full collection; none for Pier).
heap_probe() {
	[[ $1 == amq ]] || return 0
	echo "jcmd $2 GC.run >/dev/null && jcmd $2 GC.heap_info | awk '/ heap / { for (i = 1; i < NF; i++) if (\$i == \"used\") { print \$(i + 1) + 0; exit } }'"
}

# part WHO NAME ARGS...: a fresh broker, one bench/scale run into
# $WORK/r/WHO-NAME, the broker stopped.
part() {
	local who=$1 name=$2 pid probe rc=0
	shift 2
	start "$who"
	pid=${SERVER_PIDS[-1]}
	[[ $who != amq ]] || pid=$(amq_pid)
	probe=$(heap_probe "$who" "$pid")
	log "$who: $name"
	run_client "$WORK/r/$who-$name" "$WORK/r/$who-$name.err" "$SCALE" --url "tcp://127.0.0.1:$(port "$who")" \
		--pid "$pid" --clk-tck "$CLK_TCK" --settle "${SETTLE}s" ${probe:+--probe "$probe"} "$@" || rc=$?
	[[ ! -s "$WORK/r/$who-$name.err" ]] || grep -v '^scale: .* of .* in ' "$WORK/r/$who-$name.err" | sed 's/^/    /' >&2 || true
	((rc == 0)) || NOTES+=("$who $name FAILED: $(tail -n 1 "$WORK/r/$who-$name.err")")
	sed 's/^/    /' "$WORK/r/$who-$name" >&2
	stop_server
}

port() { if [[ $1 == amq ]]; then echo "$AMQ_PORT"; else echo "$PIER_PORT"; fi; }

# val WHO-NAME PHASE KEY: KEY of the line of PHASE in that result, or -.
val() {
	local v
	v=$(awk -v p="phase=$2" -v k="$3" '$1 == p { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' \
		"$WORK/r/$1" 2>/dev/null)
	echo "${v:--}"
}

# kib V: V (bytes) in KiB with one decimal, or -.
kib() {
	awk -v v="$1" 'BEGIN { if (v !~ /^-?[0-9.]+$/) print "-"; else printf "%.1f", v / 1024 }'
}

# mib KB: KiB in MiB, or -.
mib() {
	awk -v v="$1" 'BEGIN { if (v !~ /^-?[0-9.]+$/) print "-"; else printf "%.0f", v / 1024 }'
}

row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

report() {
	local p=pier a=amq
	printf '\n## Scale: Pier and ActiveMQ 5.17, %s, %s cores, %s idle connections, %s empty queues\n\n' \
		"$(date -u +%Y-%m-%d)" "$(nproc)" "$CONNS" "$QUEUES"
	printf '| | Pier | ActiveMQ | Pier/AMQ |\n|---|---:|---:|---:|\n'
	row "RSS at rest, MiB" "$(mib "$(val $p-conns rest rss_kb)")" "$(mib "$(val $a-conns rest rss_kb)")"
	row "RSS with the connections open, MiB" "$(mib "$(val $p-conns conns rss_kb)")" "$(mib "$(val $a-conns conns rss_kb)")"
	row "**RSS per idle connection, KiB**" "$(kib "$(val $p-conns conns rss_per_item_b)")" "$(kib "$(val $a-conns conns rss_per_item_b)")"
	row "RSS after they closed, MiB" "$(mib "$(val $p-conns closed rss_kb)")" "$(mib "$(val $a-conns closed rss_kb)")"
	row "opening them, s" "$(val $p-conns conns open_s)" "$(val $a-conns conns open_s)"
	if ((ROUNDS > 1)); then
		row "RSS with them open again (round $ROUNDS), MiB" "$(mib "$(val $p-conns "conns$ROUNDS" rss_kb)")" "$(mib "$(val $a-conns "conns$ROUNDS" rss_kb)")"
		row "**RSS per idle connection, round $ROUNDS, KiB**" "$(kib "$(val $p-conns "conns$ROUNDS" rss_per_item_b)")" "$(kib "$(val $a-conns "conns$ROUNDS" rss_per_item_b)")"
		row "RSS after they closed (round $ROUNDS), MiB" "$(mib "$(val $p-conns "closed$ROUNDS" rss_kb)")" "$(mib "$(val $a-conns "closed$ROUNDS" rss_kb)")"
	fi
	row "RSS with the queues made, MiB" "$(mib "$(val $p-queues queues rss_kb)")" "$(mib "$(val $a-queues queues rss_kb)")"
	row "**RSS per empty queue, KiB**" "$(kib "$(val $p-queues queues rss_per_item_b)")" "$(kib "$(val $a-queues queues rss_per_item_b)")"
	row "making them, s" "$(val $p-queues queues make_s)" "$(val $a-queues queues make_s)"
	printf '\nActiveMQ ran with -Xms%s -Xmx%s (AMQ_HEAP). Its live heap after a full collection (jcmd GC.run):\n' "$AMQ_HEAP" "$AMQ_HEAP"
	printf '%s KiB per idle connection, %s KiB per empty queue (at rest %s MiB, with the connections %s MiB, with the queues %s MiB).\n' \
		"$(kib "$(val $a-conns conns probe_per_item_b)")" "$(kib "$(val $a-queues queues probe_per_item_b)")" \
		"$(mib "$(val $a-conns rest probe_kb)")" "$(mib "$(val $a-conns conns probe_kb)")" "$(mib "$(val $a-queues queues probe_kb)")"
	printf '\n(RSS: VmRSS of the broker process, read %s s after each step. Per item: the growth over the broker at rest (connections) or the reading before (queues), divided by the count.)\n' "$SETTLE"
	for s in "${NOTES[@]}"; do
		printf 'note: %s\n' "$s"
	done
}

main() {
	local who
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	command -v go >/dev/null || die "go is not installed (bench/scale is built with it)"
	ulimit -n "$(ulimit -Hn)"
	(($(ulimit -n) >= CONNS + 1000)) || die "ulimit -n is $(ulimit -n) at most; $CONNS connections need $((CONNS + 1000))"
	if [[ "${SKIP_AMQ:-0}" != 1 ]]; then
		install_activemq
		command -v jcmd >/dev/null || die "jcmd is not installed (a JDK's; Debian: openjdk-17-jdk-headless)"
	fi
	build_pier
	log "building bench/scale"
	SCALE="$WORK/scale"
	(cd "$ROOT" && go build -o "$SCALE" ./bench/scale)
	log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ulimit -n $(ulimit -n)"
	for who in amq pier; do
		[[ $who != amq || "${SKIP_AMQ:-0}" != 1 ]] || continue
		[[ $who != pier || "${SKIP_PIER:-0}" != 1 ]] || continue
		part "$who" conns --conns "$CONNS" --rounds "$ROUNDS" --queues 0 --dialers "$DIALERS"
		part "$who" queues --conns 0 --queues "$QUEUES" --workers "$WORKERS"
	done
	report
}

main "$@"
