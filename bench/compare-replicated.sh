#!/usr/bin/env bash
# Persistent throughput of Pier's replicated store next to a single Pier
# broker and to ActiveMQ 5.17, on this machine over loopback, all measured
# with the same client: `pier bench` over OpenWire (tcp://), persistent
# messages (each send waits for the broker), 1 KiB bodies, one queue per
# scenario. Each scenario (producers x consumers, default 1x1, 4x4 and
# 16x16) first runs unmeasured for WARMUP, then for DURATION; the report
# gives the receive rate (msg/s), the end-to-end p50/p99 latency and the
# brokers' CPU time per message per scenario and broker, and the ratios
# replicated/ActiveMQ and replicated/single Pier.
#
# The CPU time is the user + system time of the broker processes (all
# threads, from /proc/PID/stat) read just before and just after each
# measured run, divided by the messages received in it: cpu_us/msg is that
# of the one process for ActiveMQ (its broker JVM) and single Pier, and the
# sum over the three replicas for Pier-x3; cpu_master is that of the
# replica that was master when the run started, alone (for the single
# brokers, their one process again). The clients' CPU is not included.
# /proc counts in clock ticks (usually 10 ms): a short run gives a coarse
# figure. The figures go to $WORK/NAME-SCENARIO.rROUND.cpu ("µs/msg
# master-µs/msg messages").
#
# The brokers run one kind at a time, each with a fresh data directory in
# the temp dir, so they do not compete for the cores or the disk:
#
#   1. ActiveMQ 5.17 (Debian's `activemq` package), one node, KahaDB with
#      journal disk syncs, from a private copy of the Debian instance config
#      (see start_activemq in bench/lib.sh); the system service and
#      /var/lib/activemq are left alone.
#   2. `pier serve`, one node, the embedded journal (store.kind: journal).
#   3. Three `pier serve` replicas (store.kind: replicated) on 127.0.0.1,
#      with generated configs. The script waits until one console's /readyz
#      answers 200 (that replica is master and alone opens OpenWire) and
#      benchmarks that replica's OpenWire port directly (tcp://, not
#      failover:), so the figures are those of the store and not of
#      reconnection. The three replicas share this machine's disk and cores,
#      which a real deployment would not. When the master loses leadership
#      during a run (fsync stalls can delay heartbeats past the election
#      timeout), that run fails, the report says so, and the next scenario
#      goes to the new master.
#
# The disk bounds persistent throughput for every broker here, so it is
# measured in the same run, in the temp directory: with `pier bench --disk`
# (1 KiB records, one write + fdatasync each from one writer: syncs/s,
# p50/p99 per sync and the probe's CPU µs per sync; see disk_probe in
# bench/lib.sh) at the start, before any broker runs, and at the end, and
# with dd (oflag=dsync) at the start, as before. The report ends with them.
#
# Usage: bench/compare-replicated.sh      (as root: may apt-get install activemq)
# Environment: DURATION (per measured run, default 15s), WARMUP (unmeasured
#   run before each, default 3s; 0 skips it), SCENARIOS (default
#   "1x1 4x4 16x16", producers x consumers), DRAIN_TIMEOUT (how long
#   consumers may get nothing after the sends end, default 30s),
#   CLIENT_TIMEOUT (seconds any one client may run, default 300),
#   START_TIMEOUT (seconds for a broker to listen or a master to be
#   elected, default 120), STOP_TIMEOUT (seconds from SIGTERM to SIGKILL,
#   default 10), AMQ_OPENWIRE_PORT (61646), PIER_OPENWIRE_PORT (61656),
#   GROUP_OPENWIRE_BASE (61660: replicas use +1..+3), GROUP_RAFT_BASE
#   (62660), GROUP_CONSOLE_BASE (8170), GROUP_ELECTION_TIMEOUT (the
#   replicas' store.replicated.election_timeout, e.g. 2s; default: the
#   store's own), SKIP_AMQ=1, SKIP_SINGLE=1, SKIP_REPLICATED=1, PIER_BIN
#   (a prebuilt pier instead of `go build`), KEEP_WORK=1 (keep the temp dir
#   with configs, logs and JSON results), DISK_PROBE_COUNT (records per
#   disk probe, default 3000), ROUNDS (default 1: how many times the
#   whole sequence ActiveMQ, Pier, Pier-x3 runs, each round with fresh
#   data directories; the report gives each figure's median over the
#   rounds and lists every round's msg/s — on a shared virtual machine the
#   same broker can move by 40% between runs). Shared functions:
#   bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
SCENARIOS=${SCENARIOS:-1x1 4x4 16x16}
ROUNDS=${ROUNDS:-1}
ROUND=1
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-30s}
AMQ_OPENWIRE_PORT=${AMQ_OPENWIRE_PORT:-61646}
AMQ_STOMP_PORT="" # start_activemq: OpenWire only
PIER_OPENWIRE_PORT=${PIER_OPENWIRE_PORT:-61656}
GROUP_OPENWIRE_BASE=${GROUP_OPENWIRE_BASE:-61660}
GROUP_RAFT_BASE=${GROUP_RAFT_BASE:-62660}
GROUP_CONSOLE_BASE=${GROUP_CONSOLE_BASE:-8170}
GROUP_ELECTION_TIMEOUT=${GROUP_ELECTION_TIMEOUT:-}
REPLICAS=(a b c)
MASTER=""     # index into REPLICAS of the replica benchmarked
BENCH_PORT="" # the OpenWire port run_scenarios benchmarks
LAST_RUN=""   # what bench ran last, for notes
MISSING=""    # why find_master found no master
NOTES=()
declare -A LABELS=([activemq]=ActiveMQ [pier]=Pier [replicated]=Pier-x3) # result name: column

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-replicated

# follow_master runs before each scenario on the group and after the last:
# when the replica benchmarked is no longer master (the group lost its
# leader under the last run), it notes so and, unless it is the end, waits
# for the new master (when none comes, the next runs fail).
follow_master() {
	local code
	code=$(readyz "$MASTER")
	[[ $code != 200 ]] || return 0
	NOTES+=("replica ${REPLICAS[MASTER]} was no longer master (/readyz $code) after $LAST_RUN; logs in $WORK/pier-group")
	[[ ${1:-} != end ]] || return 0
	find_master || NOTES+=("$MISSING")
}

# run_scenarios NAME [BEFORE]: warm-up and measured run of every scenario
# against BENCH_PORT, calling BEFORE before each run and once more at the
# end (with the argument "end"); results go to
# $WORK/NAME-<scenario>.r<round>.json.
run_scenarios() {
	local name=$1 before=${2:-} s p c
	for s in $SCENARIOS; do
		p=${s%x*}
		c=${s#*x}
		if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
			[[ -z "$before" ]] || "$before"
			bench "$name" "$s" warmup "$p" "$c" "$WARMUP"
		fi
		[[ -z "$before" ]] || "$before"
		bench "$name" "$s" "" "$p" "$c" "$DURATION"
	done
	[[ -z "$before" ]] || "$before" end
}

# bench NAME SCENARIO KIND PRODUCERS CONSUMERS DURATION: one `pier bench`
# run against BENCH_PORT (KIND "warmup" or "" for the measured run). A run
# that printed nothing leaves {}; a measured run that failed leaves a note.
# A measured run also leaves the brokers' CPU per message in
# $WORK/NAME-SCENARIO.rROUND.cpu: that of all of SERVER_PIDS, and of the master's
# alone (SERVER_PIDS[MASTER]; the only one when MASTER is empty).
bench() {
	local name=$1 s=$2 kind=$3 p=$4 c=$5 d=$6 out err master=${SERVER_PIDS[${MASTER:-0}]} all0 mst0 m
	out="$WORK/$name-$s.r$ROUND${kind:+-$kind}.json"
	err="$WORK/$name-$s.r$ROUND${kind:+-$kind}.err"
	LAST_RUN="the $s ${kind:-measured} run of round $ROUND"
	log "$name: $s ${kind:-measured} ($d, round $ROUND of $ROUNDS)"
	all0=$(cpu_sum "${SERVER_PIDS[@]}")
	mst0=$(cpu_ms "$master")
	if ! run_client "$out" "$err" "$PIER" bench --json --url "tcp://127.0.0.1:$BENCH_PORT" \
		--destination "queue://compare.replicated.$s" --persistent=true --size 1024 \
		--producers "$p" --consumers "$c" --duration "$d" --drain-timeout "$DRAIN_TIMEOUT"; then
		log "$name: $s ${kind:-measured} FAILED:"
		[[ -n "$kind" ]] || NOTES+=("${LABELS[$name]} $s (round $ROUND) FAILED: $(head -n 1 "$err")")
	fi
	[[ ! -s "$err" ]] || sed 's/^/    /' "$err" >&2
	[[ -s "$out" ]] || echo '{}' >"$out"
	[[ -z "$kind" ]] || return 0
	read -r -a m <<<"$(metrics "$out")"
	printf '%s %s %s\n' "$(cpu_per_msg "$all0" "$(cpu_sum "${SERVER_PIDS[@]}")" "${m[4]}")" \
		"$(cpu_per_msg "$mst0" "$(cpu_ms "$master")" "${m[4]}")" "${m[4]}" >"$WORK/$name-$s.r$ROUND.cpu"
	read -r -a m <"$WORK/$name-$s.r$ROUND.cpu"
	log "  broker CPU: ${m[0]} µs/msg${MASTER:+ (all replicas; master ${REPLICAS[MASTER]} alone: ${m[1]} µs/msg)} over ${m[2]} messages"
}

# round_fields NAME SCENARIO R: the fields of metrics for NAME's measured
# run of SCENARIO in round R, then its brokers' CPU µs/msg and the master's
# (- for what it lacks).
round_fields() {
	local f=(- -)
	[[ ! -s "$WORK/$1-$2.r$3.cpu" ]] || read -r -a f <"$WORK/$1-$2.r$3.cpu"
	echo "$(metrics "$WORK/$1-$2.r$3.json") ${f[0]} ${f[1]}"
}

# median_fields NAME SCENARIO: round_fields, each field the median over the
# rounds that have it; - where none does.
median_fields() {
	local r
	for ((r = 1; r <= ROUNDS; r++)); do
		round_fields "$1" "$2" "$r"
	done | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin]
out = []
for i in range(8):
    c = [float(r[i]) for r in rows if r[i] != "-"]
    out.append("-" if not c else ("%.1f" if i >= 6 else "%.0f") % statistics.median(c))
print(" ".join(out))'
}

# round_rates NAME SCENARIO: every round's msg/s, comma-separated (- for a
# round without a result).
round_rates() {
	local r m out=()
	for ((r = 1; r <= ROUNDS; r++)); do
		read -r -a m <<<"$(metrics "$WORK/$1-$2.r$r.json")"
		out+=("${m[0]}")
	done
	local IFS=,
	echo "${out[*]}"
}

report() {
	local s i a p r name
	local -a amq pier repl m
	local metric_names=([0]=msg/s [1]=p50_us [2]=p99_us [6]=cpu_us/msg [7]=cpu_master) # fields of round_fields
	printf '\npersistent, 1 KiB, OpenWire (pier bench), %s per run after a %s warm-up%s\n' "$DURATION" "$WARMUP" \
		"$( ((ROUNDS == 1)) || echo ", medians of $ROUNDS rounds")"
	printf '%-9s %-10s %10s %10s %10s %10s %10s\n' scenario metric \
		"${LABELS[activemq]}" "${LABELS[pier]}" "${LABELS[replicated]}" x3/AMQ x3/Pier
	for s in $SCENARIOS; do
		read -r -a amq <<<"$(median_fields activemq "$s")"
		read -r -a pier <<<"$(median_fields pier "$s")"
		read -r -a repl <<<"$(median_fields replicated "$s")"
		for i in 0 1 2 6 7; do
			a=${amq[i]} p=${pier[i]} r=${repl[i]}
			printf '%-9s %-10s %10s %10s %10s %10s %10s\n' "$s" "${metric_names[i]}" "$a" "$p" "$r" \
				"$(ratio "$r" "$a")" "$(ratio "$r" "$p")"
		done
		((ROUNDS == 1)) || printf '%-9s %-10s %s\n' "$s" rounds "ActiveMQ $(round_rates activemq "$s"); Pier $(round_rates pier "$s"); Pier-x3 $(round_rates replicated "$s") msg/s"
		for name in activemq pier replicated; do
			for ((r = 1; r <= ROUNDS; r++)); do
				read -r -a m <<<"$(metrics "$WORK/$name-$s.r$r.json")"
				[[ ${m[3]} == - || ${m[3]} == "${m[4]}" ]] ||
					NOTES+=("${LABELS[$name]} $s (round $r): sent ${m[3]} but received ${m[4]}")
			done
		done
	done
	printf '\n(Pier-x3: three replicas, store.kind: replicated, election_timeout %s; msg/s is the receive rate; latencies in µs from send to receipt;\n cpu_us/msg: the broker processes'"'"' user + system CPU time in the measured run per message received, in µs, for Pier-x3 the\n sum over its three replicas; cpu_master: the master replica'"'"'s alone (for ActiveMQ and Pier their one process again);\n x3/AMQ and x3/Pier divide the Pier-x3 column by the other: above 1 is better for msg/s, worse for latencies and CPU)\n' \
		"${GROUP_ELECTION_TIMEOUT:-default}"
	for s in "${NOTES[@]}"; do
		printf 'note: %s\n' "$s"
	done
}

main() {
	local s rate disk_start disk_end amq
	for s in $SCENARIOS; do
		[[ $s =~ ^[1-9][0-9]*x[0-9]+$ ]] || die "bad scenario \"$s\" in SCENARIOS (want PRODUCERSxCONSUMERS, e.g. 4x4)"
	done
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	command -v python3 >/dev/null || die "python3 is not installed"
	[[ "${SKIP_REPLICATED:-0}" == 1 ]] || command -v curl >/dev/null || die "curl is not installed"
	build_pier
	disk_start=$(disk_both)
	log "disk at start: $disk_start"
	rate=$(fsync_rate) || rate="unknown"
	log "disk: $rate synchronous 1 KiB writes/s (dd oflag=dsync in $WORK)"

	[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "bad ROUNDS \"$ROUNDS\" (want a count, e.g. 3)"
	[[ "${SKIP_AMQ:-0}" == 1 ]] || install_activemq
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		# fresh data directories for every round
		rm -rf "$WORK/activemq/data" "$WORK/pier-single/data" "$WORK/pier-group"
		if [[ "${SKIP_AMQ:-0}" != 1 ]]; then
			start_activemq
			amq=$(amq_pid)
			log "ActiveMQ's broker JVM is pid $amq"
			BENCH_PORT=$AMQ_OPENWIRE_PORT
			MASTER=""
			run_scenarios activemq
			stop_server
			sync
		fi
		if [[ "${SKIP_SINGLE:-0}" != 1 ]]; then
			start_pier_broker single "$PIER_OPENWIRE_PORT"
			BENCH_PORT=$PIER_OPENWIRE_PORT
			MASTER=""
			run_scenarios pier
			stop_server
			sync
		fi
		if [[ "${SKIP_REPLICATED:-0}" != 1 ]]; then
			start_group
			run_scenarios replicated follow_master
			stop_server
			sync
		fi
	done
	disk_end=$(disk_both)
	log "disk at end: $disk_end"
	report
	printf '\ndisk at start: %s\ndisk at end:   %s\ndisk: %s synchronous 1 KiB writes/s (dd oflag=dsync, at start)\n' \
		"$disk_start" "$disk_end" "$rate"
}

main "$@"
