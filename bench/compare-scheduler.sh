#!/usr/bin/env bash
# Pier's scheduler next to ActiveMQ 5.17's (Debian's `activemq` package,
# schedulerSupport="true": jobs in its KahaDB scheduler store), one broker
# at a time on this machine over loopback, with the same client for both:
# bench/scheduler (package client, OpenWire), persistent 1 KiB
# BytesMessages with the long property AMQ_SCHEDULED_DELAY.
#
#   0. Warm-up: WARMUP_JOBS jobs due 1–6 s after they are sent, received
#      and not reported (the JVM compiles ActiveMQ's scheduler meanwhile).
#   1. Firing lateness: JOBS_LATENCY jobs, each due at a time drawn
#      uniformly from LATENCY_FROM..LATENCY_FROM+LATENCY_WINDOW seconds
#      after scheduling starts, sent by PRODUCERS connections at once (the
#      scheduling rate is reported; it must end before the first job is
#      due), carrying its due time (unix ms) and number. One consumer
#      (auto ack, prefetch PREFETCH), subscribed before, records arrival −
#      due for each: p50, p99, max, how many arrived early (more than 5 ms
#      before due: must be 0), duplicates and missing (must be 0). The due
#      time is the client's (delay = due − now just before the send); the
#      broker counts the delay from when it reads the send, so lateness
#      includes the send's trip. ActiveMQ rounds a job's start time up to
#      the next 500 ms before adding the delay (JobSchedulerImpl), Pier
#      fires at the due millisecond.
#   2. A million pending: JOBS_MILLION jobs due MILLION_FROM..MILLION_FROM+
#      MILLION_WINDOW seconds after scheduling starts (default 1–2 h), by
#      PRODUCERS connections: time, jobs/s, broker CPU per job, the broker's
#      RSS idle before, right after and GC_WAIT seconds later, and the store
#      on disk (Pier: its journal; ActiveMQ: the scheduler store, and KahaDB).
#   3. Restart with them pending: one more job is scheduled, due EXTRA_DUE
#      seconds later, the broker is killed with SIGKILL and started again on
#      the same data at once: start → OpenWire port open (Pier also →
#      /readyz answering 200), start → the extra job received (a consumer
#      connects once the port is open), its lateness, the broker's CPU and
#      RSS after recovery. For Pier this restart on the same journal is
#      what a shared-directory slave goes through when it takes over.
#
# The broker's own CPU time (utime + stime of /proc/PID/stat, all threads)
# and memory (VmRSS of /proc/PID/status) come from /proc. ActiveMQ runs with
# Debian's JVM options and AMQ_HEAP (default 512M, -Xms = -Xmx: the JVM
# reserves it at once, its RSS grows as the heap is touched and does not
# shrink after a GC). Data is deleted between phases 1 and 2 and after
# phase 3 (a million 1 KiB jobs take over 1 GB per broker; the script
# checks the free space of $TMPDIR first).
#
# Takes about 25 minutes on a 2-core VM with the defaults (most of it
# ActiveMQ scheduling the million); JOBS_LATENCY=10000 JOBS_MILLION=50000
# LATENCY_FROM=5 LATENCY_WINDOW=10 takes about 3.
#
# Usage: bench/compare-scheduler.sh   (as root if activemq is not installed)
# Environment: JOBS_LATENCY (100000), LATENCY_FROM (30), LATENCY_WINDOW
#   (60), LATENCY_GRACE (seconds to wait for stragglers after the last due
#   time, 300), JOBS_MILLION (1000000), MILLION_FROM (3600), MILLION_WINDOW
#   (3600), EXTRA_DUE (5), GC_WAIT (30), WARMUP_JOBS (10000), PRODUCERS
#   (8), PREFETCH (10000), SIZE (1024), SKIP_LATENCY=1, SKIP_MILLION=1
#   (phases 2 and 3), SKIP_AMQ=1, SKIP_PIER=1, PIER_CPUPROFILE_DIR (Pier
#   writes a CPU profile per broker process there), PIER_BIN, KEEP_WORK=1,
#   CLIENT_TIMEOUT (3600s), START_TIMEOUT (600s), STOP_TIMEOUT (30s), ports
#   PIER_PORT (61706; +1 its console), AMQ_PORT (61716), AMQ_HEAP (512M).
#   Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS_LATENCY=${JOBS_LATENCY:-100000}
LATENCY_FROM=${LATENCY_FROM:-30}
LATENCY_WINDOW=${LATENCY_WINDOW:-60}
LATENCY_GRACE=${LATENCY_GRACE:-300}
JOBS_MILLION=${JOBS_MILLION:-1000000}
MILLION_FROM=${MILLION_FROM:-3600}
MILLION_WINDOW=${MILLION_WINDOW:-3600}
EXTRA_DUE=${EXTRA_DUE:-5}
GC_WAIT=${GC_WAIT:-30}
WARMUP_JOBS=${WARMUP_JOBS:-10000}
PRODUCERS=${PRODUCERS:-8}
PREFETCH=${PREFETCH:-10000}
SIZE=${SIZE:-1024}
PIER_PORT=${PIER_PORT:-61706}
AMQ_PORT=${AMQ_PORT:-61716}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-3600}
START_TIMEOUT=${START_TIMEOUT:-600}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
AMQ_STOMP_PORT="" # start_activemq: OpenWire only
SCHED=""
NOTES=()

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-scheduler
mkdir -p "$WORK/r"

now_ms() { date +%s%3N; }

# bench NAME ARGS...: one bench/scheduler run; its result line goes to
# $WORK/r/NAME (and, indented, to stderr).
bench() {
	local name=$1 rc=0
	shift
	run_client "$WORK/r/$name" "$WORK/r/$name.err" "$SCHED" "$@" --clk-tck "$CLK_TCK" || rc=$?
	[[ ! -s "$WORK/r/$name.err" ]] || sed 's/^/    /' "$WORK/r/$name.err" >&2
	((rc == 0)) || NOTES+=("$name FAILED: $(tail -n 1 "$WORK/r/$name.err")")
	[[ ! -s "$WORK/r/$name" ]] || sed 's/^/    /' "$WORK/r/$name" >&2
	return "$rc"
}

# bench_bg NAME ARGS...: bench/scheduler in the background (a consumer);
# await it with bench_wait NAME.
declare -A BG_PIDS=()
bench_bg() {
	local name=$1
	shift
	timeout --kill-after=10 "$CLIENT_TIMEOUT" "$SCHED" "$@" --clk-tck "$CLK_TCK" \
		>"$WORK/r/$name" 2>"$WORK/r/$name.err" &
	BG_PIDS[$name]=$!
}

bench_wait() {
	local name=$1 rc=0
	wait "${BG_PIDS[$name]}" || rc=$?
	unset "BG_PIDS[$name]"
	[[ ! -s "$WORK/r/$name.err" ]] || sed 's/^/    /' "$WORK/r/$name.err" >&2
	((rc == 0)) || NOTES+=("$name FAILED (exit $rc): $(tail -n 1 "$WORK/r/$name.err")")
	[[ ! -s "$WORK/r/$name" ]] || sed 's/^/    /' "$WORK/r/$name" >&2
}

kill_bg() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
}
trap 'kill_bg; cleanup' EXIT

# val NAME KEY: the value of KEY in result NAME, or -.
val() {
	local v
	v=$(sed -n "s/^\(.* \)\{0,1\}$2=\([^ ]*\).*/\2/p" "$WORK/r/$1" 2>/dev/null | head -n 1)
	echo "${v:--}"
}

# put NAME KEY=VALUE...: appends pairs to result NAME (measured by the
# script itself).
put() {
	local name=$1
	shift
	printf ' %s' "$@" >>"$WORK/r/$name"
}

# size_bytes DIR: bytes used on disk under DIR, or -.
size_bytes() {
	du -sb "$1" 2>/dev/null | cut -f1 || echo -
}

# start_pier [fresh]: `pier serve` with OpenWire on PIER_PORT, its console
# (/readyz) on PIER_PORT+1 and the journal in $WORK/pier-broker/data; with fresh,
# waits until it is ready, else returns at once (the caller measures).
start_pier() {
	local base="$WORK/pier-broker" profile=""
	mkdir -p "$base/data"
	cat >"$base/pier.yaml" <<-EOF
		broker:
		  name: sched
		  data_dir: $base/data
		transports:
		  openwire: tcp://127.0.0.1:$PIER_PORT
		  stomp: ""
		  mqtt: ""
		  ws: ""
		  amqp: ""
		console:
		  listen: 127.0.0.1:$((PIER_PORT + 1))
		store:
		  kind: journal
	EOF
	port_free "$PIER_PORT" || die "port $PIER_PORT is busy"
	port_free "$((PIER_PORT + 1))" || die "port $((PIER_PORT + 1)) is busy"
	if [[ -n "${PIER_CPUPROFILE_DIR:-}" ]]; then
		mkdir -p "$PIER_CPUPROFILE_DIR"
		profile="$PIER_CPUPROFILE_DIR/pier-$(date +%H%M%S).prof"
		log "Pier's CPU profile: $profile"
	fi
	log "starting pier serve (OpenWire on 127.0.0.1:$PIER_PORT, journal in $base/data/journal)"
	PIER_CPUPROFILE=$profile "$PIER" serve --config "$base/pier.yaml" >>"$base/serve.log" 2>&1 &
	SERVER_PIDS+=($!)
	[[ ${1:-} == fresh ]] || return 0
	"$SCHED" wait --addr "127.0.0.1:$PIER_PORT" --http "http://127.0.0.1:$((PIER_PORT + 1))/readyz" \
		--pid "${SERVER_PIDS[-1]}" --timeout "${START_TIMEOUT}s" >/dev/null ||
		die "pier did not get ready (log: $base/serve.log)"
}

# start_amq [fresh]: ActiveMQ with the scheduler and OpenWire on AMQ_PORT,
# data in $WORK/activemq; with fresh, waits for its port.
start_amq() {
	if [[ ${1:-} == fresh ]]; then
		AMQ_OPENWIRE_PORT=$AMQ_PORT AMQ_SCHEDULER=1 AMQ_LOG4J=1 start_activemq
	else
		AMQ_OPENWIRE_PORT=$AMQ_PORT AMQ_SCHEDULER=1 AMQ_LOG4J=1 AMQ_NO_WAIT=1 start_activemq
	fi
}

# url WHO, addr WHO: where WHO's OpenWire listens.
addr() { if [[ $1 == pier ]]; then echo "127.0.0.1:$PIER_PORT"; else echo "127.0.0.1:$AMQ_PORT"; fi; }
url() { echo "tcp://$(addr "$1")"; }

start_broker() { if [[ $1 == pier ]]; then start_pier "${2:-}"; else start_amq "${2:-}"; fi; }

# wipe PHASE: stops the broker, keeps its log in $WORK/r (PHASE.log) and
# deletes its data.
wipe() {
	stop_server
	cat "$WORK/pier-broker/serve.log" "$WORK/activemq/console.log" >"$WORK/r/$1.log" 2>/dev/null || true
	rm -rf "$WORK/pier-broker" "$WORK/activemq"
}

# store_sizes WHO NAME: the store's size on disk into result NAME (store_b:
# Pier's journal, ActiveMQ's scheduler store plus KahaDB; sched_b and
# kahadb_b: ActiveMQ's parts).
store_sizes() {
	local who=$1 name=$2 s k
	if [[ $who == pier ]]; then
		put "$name" "store_b=$(size_bytes "$WORK/pier-broker/data/journal")"
		return
	fi
	s=$(size_bytes "$WORK/activemq/data/localhost/scheduler")
	k=$(size_bytes "$WORK/activemq/data/kahadb")
	put "$name" "store_b=$((s + k))" "sched_b=$s" "kahadb_b=$k"
}

# warmup WHO PID: WARMUP_JOBS jobs due 1–6 s later, received, not reported.
warmup() {
	local who=$1 pid=$2
	((WARMUP_JOBS > 0)) || return 0
	log "$who: warm-up, $WARMUP_JOBS jobs"
	rm -f "$WORK/ready"
	bench_bg "$who-warm-recv" receive --url "$(url "$who")" --queue sched.warm --expect "$WARMUP_JOBS" \
		--prefetch "$PREFETCH" --ready "$WORK/ready" --linger 1s --deadline-ms $(($(now_ms) + 300000))
	wait_ready_file
	bench "$who-warm-send" schedule --url "$(url "$who")" --queue sched.warm --count "$WARMUP_JOBS" \
		--producers "$PRODUCERS" --size "$SIZE" --from 1s --window 5s --pid "$pid" || true
	bench_wait "$who-warm-recv"
}

# wait_ready_file waits up to 60 s for a consumer's --ready file.
wait_ready_file() {
	for _ in $(seq 1 600); do
		[[ ! -e "$WORK/ready" ]] || return 0
		sleep 0.1
	done
	die "the consumer did not subscribe within 60 s"
}

# latency WHO: phase 1 on a fresh broker.
latency() {
	local who=$1 pid deadline
	log "$who: phase 1, $JOBS_LATENCY jobs due ${LATENCY_FROM}–$((LATENCY_FROM + LATENCY_WINDOW)) s after scheduling starts"
	start_broker "$who" fresh
	pid=${SERVER_PIDS[-1]}
	warmup "$who" "$pid"
	rm -f "$WORK/ready"
	deadline=$(($(now_ms) + (LATENCY_FROM + LATENCY_WINDOW + LATENCY_GRACE) * 1000 + 60000))
	bench_bg "$who-lat-recv" receive --url "$(url "$who")" --queue sched.latency --expect "$JOBS_LATENCY" \
		--prefetch "$PREFETCH" --ready "$WORK/ready" --deadline-ms "$deadline" --pid "$pid"
	wait_ready_file
	bench "$who-lat-send" schedule --url "$(url "$who")" --queue sched.latency --count "$JOBS_LATENCY" \
		--producers "$PRODUCERS" --size "$SIZE" --from "${LATENCY_FROM}s" --window "${LATENCY_WINDOW}s" \
		--pid "$pid" --progress $((JOBS_LATENCY / 4 + 1)) || true
	log "$who: waiting for the jobs to fire"
	bench_wait "$who-lat-recv"
	store_sizes "$who" "$who-lat-recv"
	wipe "$who-latency"
}

# million WHO: phases 2 and 3 on a fresh broker.
million() {
	local who=$1 pid t0 rss0
	log "$who: phase 2, $JOBS_MILLION jobs due ${MILLION_FROM}–$((MILLION_FROM + MILLION_WINDOW)) s after scheduling starts"
	start_broker "$who" fresh
	pid=${SERVER_PIDS[-1]}
	sleep 2
	rss0=$(rss_kb "$pid")
	bench "$who-mil-send" schedule --url "$(url "$who")" --queue sched.million --count "$JOBS_MILLION" \
		--producers "$PRODUCERS" --size "$SIZE" --from "${MILLION_FROM}s" --window "${MILLION_WINDOW}s" \
		--pid "$pid" --progress $((JOBS_MILLION / 10 + 1)) || true
	put "$who-mil-send" "rss_idle_kb=$rss0"
	log "$who: waiting ${GC_WAIT}s for the memory to settle"
	sleep "$GC_WAIT"
	put "$who-mil-send" "rss_later_kb=$(rss_kb "$pid")"
	store_sizes "$who" "$who-mil-send"

	log "$who: phase 3, one more job due in ${EXTRA_DUE}s, then kill -9 and a restart"
	bench "$who-extra-send" schedule --url "$(url "$who")" --queue sched.extra --count 1 --producers 1 \
		--size "$SIZE" --from "${EXTRA_DUE}s" --window 0s || true
	put "$who-extra-send" "kill_ms=$(now_ms)"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	unset 'SERVER_PIDS[-1]'
	SERVER_PIDS=("${SERVER_PIDS[@]}")
	t0=$(now_ms)
	put "$who-extra-send" "start_ms=$t0"
	start_broker "$who"
	pid=${SERVER_PIDS[-1]}
	local http=()
	[[ $who != pier ]] || http=(--http "http://127.0.0.1:$((PIER_PORT + 1))/readyz")
	bench "$who-restart" wait --addr "$(addr "$who")" "${http[@]}" --since-ms "$t0" --pid "$pid" \
		--timeout "${START_TIMEOUT}s" || die "$who did not come back after the restart"
	bench "$who-extra-recv" receive --url "$(url "$who")" --queue sched.extra --expect 1 --since-ms "$t0" \
		--deadline-ms $(($(now_ms) + START_TIMEOUT * 1000)) --pid "$pid" || true
	put "$who-restart" "rss_after_kb=$(rss_kb "$pid")" "cpu_after_ms=$(cpu_ms "$pid")"
	store_sizes "$who" "$who-restart"
	wipe "$who-million"
}

# mib KB: KiB in MiB; mib BYTES B: bytes in MiB; - for what is not a number.
mib() {
	local d=1024
	[[ ${2:-} != B ]] || d=1048576
	awk -v v="$1" -v d="$d" 'BEGIN { if (v !~ /^[0-9.]+$/) print "-"; else printf "%.0f", v / d }'
}

# num V: V rounded to a whole number (one decimal below 10), or -.
num() {
	awk -v v="$1" 'BEGIN { if (v !~ /^-?[0-9.]+$/) print "-"; else if (v < 10 && v > -10) printf "%.1f", v; else printf "%.0f", v }'
}

# row LABEL P A [FLAGS]: one table row with Pier/AMQ; FLAGS may hold raw
# (print the values as given, not rounded) and noratio.
row() {
	local p=$2 a=$3 r
	[[ ${4:-} == *raw* ]] || p=$(num "$p") a=$(num "$a")
	r=$(ratio "$2" "$3")
	[[ ${4:-} != *noratio* ]] || r=""
	printf '| %s | %s | %s | %s |\n' "$1" "$p" "$a" "$r"
}

report_latency() {
	local p=pier-lat a=amq-lat
	printf '\n### 1. Firing %s jobs due %s–%s s after scheduling starts (%s producers, 1 consumer)\n\n' \
		"$JOBS_LATENCY" "$LATENCY_FROM" "$((LATENCY_FROM + LATENCY_WINDOW))" "$PRODUCERS"
	printf '| | Pier | ActiveMQ | Pier/AMQ |\n|---|---:|---:|---:|\n'
	row "scheduling, jobs/s" "$(val $p-send per_sec)" "$(val $a-send per_sec)"
	row "scheduling, s" "$(val $p-send seconds)" "$(val $a-send seconds)"
	row "scheduling, broker CPU µs/job" "$(val $p-send cpu_us_per_job)" "$(val $a-send cpu_us_per_job)"
	row "scheduling ended before the first due time by, s" "$(val $p-send margin_s)" "$(val $a-send margin_s)" noratio
	row "lateness p50, ms" "$(val $p-recv p50_ms)" "$(val $a-recv p50_ms)"
	row "lateness p99, ms" "$(val $p-recv p99_ms)" "$(val $a-recv p99_ms)"
	row "lateness max, ms" "$(val $p-recv max_ms)" "$(val $a-recv max_ms)"
	row "lateness min, ms" "$(val $p-recv min_ms)" "$(val $a-recv min_ms)" noratio
	row "early (> 5 ms before due)" "$(val $p-recv early)" "$(val $a-recv early)" raw,noratio
	row "duplicates" "$(val $p-recv duplicates)" "$(val $a-recv duplicates)" raw,noratio
	row "missing" "$(val $p-recv missing)" "$(val $a-recv missing)" raw,noratio
	row "firing, broker CPU µs/job (first → last arrival)" "$(val $p-recv cpu_us_per_job)" "$(val $a-recv cpu_us_per_job)"
	row "broker RSS peak while firing, MiB" "$(mib "$(val $p-recv rss_peak_kb)")" "$(mib "$(val $a-recv rss_peak_kb)")"
	row "store on disk after, MiB" "$(mib "$(val $p-recv store_b)" B)" "$(mib "$(val $a-recv store_b)" B)"
}

report_million() {
	local p=pier-mil-send a=amq-mil-send
	printf '\n### 2. %s jobs pending (due %s–%s s after scheduling starts, %s producers)\n\n' \
		"$JOBS_MILLION" "$MILLION_FROM" "$((MILLION_FROM + MILLION_WINDOW))" "$PRODUCERS"
	printf '| | Pier | ActiveMQ | Pier/AMQ |\n|---|---:|---:|---:|\n'
	row "scheduling, s" "$(val $p seconds)" "$(val $a seconds)"
	row "scheduling, jobs/s" "$(val $p per_sec)" "$(val $a per_sec)"
	row "scheduling, broker CPU µs/job" "$(val $p cpu_us_per_job)" "$(val $a cpu_us_per_job)"
	row "broker RSS before (idle), MiB" "$(mib "$(val $p rss_idle_kb)")" "$(mib "$(val $a rss_idle_kb)")"
	row "broker RSS right after, MiB" "$(mib "$(val $p rss_kb)")" "$(mib "$(val $a rss_kb)")"
	row "broker RSS ${GC_WAIT} s later, MiB" "$(mib "$(val $p rss_later_kb)")" "$(mib "$(val $a rss_later_kb)")"
	row "store on disk, MiB" "$(mib "$(val $p store_b)" B)" "$(mib "$(val $a store_b)" B)"
	printf '\n(ActiveMQ: scheduler store %s MiB + KahaDB %s MiB. Pier: the journal.)\n' \
		"$(mib "$(val $a sched_b)" B)" "$(mib "$(val $a kahadb_b)" B)"
}

report_restart() {
	local p a w kp ka
	printf '\n### 3. kill -9 and restart with %s jobs pending (one more due %s s after it was sent, just before the kill)\n\n' \
		"$JOBS_MILLION" "$EXTRA_DUE"
	printf '| | Pier | ActiveMQ | Pier/AMQ |\n|---|---:|---:|---:|\n'
	row "kill → start, s" "$(gap pier)" "$(gap amq)" raw,noratio
	row "start → OpenWire port open, s" "$(val pier-restart listen_s)" "$(val amq-restart listen_s)" raw
	row "start → ready (Pier: /readyz 200), s" "$(val pier-restart ready_s)" "-" raw,noratio
	row "start → extra job received, s" "$(val pier-extra-recv first_since_s)" "$(val amq-extra-recv first_since_s)" raw
	row "extra job lateness, ms" "$(val pier-extra-recv max_ms)" "$(val amq-extra-recv max_ms)"
	row "extra job received / duplicates" "$(val pier-extra-recv received)/$(val pier-extra-recv duplicates)" \
		"$(val amq-extra-recv received)/$(val amq-extra-recv duplicates)" raw,noratio
	row "broker CPU, start → port open, ms" "$(val pier-restart cpu_ms)" "$(val amq-restart cpu_ms)"
	row "broker RSS at port open, MiB" "$(mib "$(val pier-restart rss_kb)")" "$(mib "$(val amq-restart rss_kb)")"
	row "broker RSS after the extra job, MiB" "$(mib "$(val pier-restart rss_after_kb)")" "$(mib "$(val amq-restart rss_after_kb)")"
	row "store on disk after recovery, MiB" "$(mib "$(val pier-restart store_b)" B)" "$(mib "$(val amq-restart store_b)" B)"
}

# gap WHO: seconds from the kill to the restart's start.
gap() {
	awk -v k="$(val "$1-extra-send" kill_ms)" -v s="$(val "$1-extra-send" start_ms)" \
		'BEGIN { if (k ~ /^[0-9]+$/ && s ~ /^[0-9]+$/) printf "%.3f", (s - k) / 1000; else print "-" }'
}

# check WHO: notes for what a run must not show.
check() {
	local who=$1 k v
	if [[ "${SKIP_LATENCY:-0}" != 1 ]]; then
		for k in early duplicates missing foreign; do
			v=$(val "$who-lat-recv" "$k")
			[[ $v == 0 ]] || NOTES+=("$who phase 1: $k=$v")
		done
		v=$(val "$who-lat-send" overdue)
		[[ $v == 0 ]] || NOTES+=("$who phase 1: $v jobs were sent after their due time (scheduling too slow for LATENCY_FROM)")
	fi
	if [[ "${SKIP_MILLION:-0}" != 1 ]]; then
		v=$(val "$who-extra-recv" received)
		[[ $v == 1 ]] || NOTES+=("$who phase 3: the extra job arrived $v times")
	fi
}

main() {
	local who avail need
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	command -v go >/dev/null || die "go is not installed (bench/scheduler is built with it)"
	need=$(((JOBS_MILLION * (SIZE + 1024) + JOBS_LATENCY * (SIZE + 1024)) / 1024 / 1024 + 1024))
	avail=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
	((avail > need)) || die "$WORK has $avail MiB free; the runs need about $need MiB"
	[[ "${SKIP_AMQ:-0}" == 1 ]] || install_activemq
	build_pier
	log "building bench/scheduler"
	SCHED="$WORK/scheduler"
	(cd "$ROOT" && go build -o "$SCHED" ./bench/scheduler)
	log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $avail MiB free in $WORK"
	for who in amq pier; do
		[[ $who != amq || "${SKIP_AMQ:-0}" != 1 ]] || continue
		[[ $who != pier || "${SKIP_PIER:-0}" != 1 ]] || continue
		[[ "${SKIP_LATENCY:-0}" == 1 ]] || latency "$who"
		[[ "${SKIP_MILLION:-0}" == 1 ]] || million "$who"
		check "$who"
	done
	printf '\n## Scheduler: Pier and ActiveMQ 5.17 (schedulerSupport), %s, %s cores, persistent %s-byte jobs\n' \
		"$(date -u +%Y-%m-%d)" "$(nproc)" "$SIZE"
	[[ "${SKIP_LATENCY:-0}" == 1 ]] || report_latency
	[[ "${SKIP_MILLION:-0}" == 1 ]] || report_million
	[[ "${SKIP_MILLION:-0}" == 1 ]] || report_restart
	printf '\n(CPU: utime + stime of the broker process in /proc/PID/stat, all threads, %s ticks/s; RSS: VmRSS. Lateness: arrival at the consumer − the due time the client set.)\n' "$CLK_TCK"
	for s in "${NOTES[@]}"; do
		printf 'note: %s\n' "$s"
	done
}

main "$@"
