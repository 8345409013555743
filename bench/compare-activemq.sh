#!/usr/bin/env bash
# Compares Pier with ActiveMQ 5.17 (Debian's `activemq` package) on this
# machine, loopback only, first over STOMP using `pier bench`, then over
# OpenWire (JMS) using bench/openwire/JmsBench.java and the ActiveMQ 5.17 JMS
# client, with the same scenarios:
#
#   1. persist-1x1: persistent, 1 KiB, 1 producer / 1 consumer
#   2. persist-4x4: persistent, 1 KiB, 4 producers / 4 consumers
#   3. persist-16x16: persistent, 1 KiB, 16/16 (OpenWire only)
#   4. nonpersist-1x1: non-persistent, 1 KiB, 1/1
#   5. nonpersist-4x4: non-persistent, 1 KiB, 4/4 (OpenWire only)
#   6. rate: persistent, 1 KiB, steady total rate (default 1000 msg/s) for
#      p50/p99; over OpenWire with 1 producer and 1 consumer, whose
#      persistent sends are synchronous: when a broker cannot keep the rate
#      that way, the output says so (its latencies then include the growing
#      backlog, as they are measured from each message's scheduled send time)
#
# Besides the receive rate and the latencies, each run reports the broker's
# CPU time per message, broker_cpu_us/msg: the user + system time of the
# broker process (all threads, from /proc/PID/stat: for ActiveMQ the java
# process running the broker, for Pier `pier serve`) read just before and
# just after the client run, divided by the messages the consumers received
# in it; over OpenWire the warm-up messages JmsBench sends and drains in the
# same run are counted too, as the broker handled them in that window. The
# clients' own CPU is not included. /proc counts in clock ticks (usually
# 10 ms), so a short run gives a coarse figure: with COUNT=2000, about
# 5 µs/msg. The figures go to $WORK/NAME-SCENARIO.cpu ("µs/msg ms messages")
# next to the JSON results.
#
# JmsBench is compiled once with javac into the temp directory against
# Debian's libactivemq-java jars in /usr/share/java (installed with activemq).
#
# ActiveMQ runs in the foreground of this script as its own java process,
# from a private copy of the Debian instance config (Debian's
# /etc/activemq/instances-available/main/activemq.xml only opens OpenWire
# on 127.0.0.1:61616; the copy adds a STOMP connector) with a temporary data
# directory, so the system service and /var/lib/activemq are left alone.
# Then `pier serve` runs with a temporary data directory. Both use their
# default durable stores (ActiveMQ: KahaDB with journal disk syncs; Pier: its
# journal). The disk bounds persistent throughput for both, so it is
# measured in the same run, in the temp directory, twice: at the start
# (before any broker runs) and at the end, with `pier bench --disk` (1 KiB
# records, one write + fdatasync each from one writer: syncs/s, p50/p99 per
# sync and the probe's CPU µs per sync; see disk_probe in bench/lib.sh), and
# once at the start with dd (oflag=dsync), as before. The report ends with
# both.
#
# Usage: bench/compare-activemq.sh        (as root: may apt-get install activemq)
# Environment: COUNT (messages per STOMP throughput run, default 20000),
#   RATE (default 1000), RATE_DURATION (default 20s), RATE_CLIENTS (producers
#   and consumers of the STOMP rate run, default 4), OW_COUNT (messages per
#   OpenWire throughput run, default 10000), OW_RATE (default $RATE),
#   OW_RATE_DURATION (default 20s), OW_WARMUP (unmeasured messages sent and
#   drained before each OpenWire run, default 1000), OW_DRAIN_TIMEOUT (60s),
#   CLIENT_TIMEOUT (seconds any one benchmark client may run, default 300),
#   AMQ_STOMP_PORT (61623), AMQ_OPENWIRE_PORT (61626), PIER_STOMP_PORT
#   (61633), PIER_OPENWIRE_PORT (61636), SKIP_PIER=1, SKIP_AMQ=1,
#   SKIP_OPENWIRE=1, STOMP_SCENARIOS and OW_SCENARIOS (the scenarios to run
#   over each protocol, space-separated, default all of those above; empty
#   skips the protocol: OW_SCENARIOS="persist-4x4" STOMP_SCENARIOS="" runs
#   one OpenWire scenario on each broker), KEEP_WORK=1 (keep the temp dir with logs and JSON
#   results), PIER_BIN (a prebuilt pier instead of `go build`),
#   START_TIMEOUT (120s), STOP_TIMEOUT (10s), DISK_PROBE_COUNT (records per
#   disk probe, default 3000). Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-20000}
RATE=${RATE:-1000}
RATE_DURATION=${RATE_DURATION:-20s}
RATE_CLIENTS=${RATE_CLIENTS:-4}
AMQ_STOMP_PORT=${AMQ_STOMP_PORT:-61623}
AMQ_OPENWIRE_PORT=${AMQ_OPENWIRE_PORT:-61626}
PIER_STOMP_PORT=${PIER_STOMP_PORT:-61633}
PIER_OPENWIRE_PORT=${PIER_OPENWIRE_PORT:-61636}
OW_COUNT=${OW_COUNT:-10000}
OW_RATE=${OW_RATE:-$RATE}
OW_RATE_DURATION=${OW_RATE_DURATION:-20s}
OW_WARMUP=${OW_WARMUP:-1000}
OW_DRAIN_TIMEOUT=${OW_DRAIN_TIMEOUT:-60s}
ALL_STOMP_SCENARIOS="persist-1x1 persist-4x4 nonpersist-1x1 rate"
ALL_OW_SCENARIOS="persist-1x1 persist-4x4 persist-16x16 nonpersist-1x1 nonpersist-4x4 rate"
STOMP_SCENARIOS=${STOMP_SCENARIOS-$ALL_STOMP_SCENARIOS}
OW_SCENARIOS=${OW_SCENARIOS-$ALL_OW_SCENARIOS}
JARS=(activemq-client geronimo-jms_1.1_spec geronimo-j2ee-management-1.1-spec hawtbuf slf4j-api slf4j-nop)
JMS_CP=""

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare

start_pier() {
	local base="$WORK/pier-broker"
	mkdir -p "$base/data"
	cat >"$base/pier.yaml" <<-EOF
		broker:
		  name: localhost
		  data_dir: $base/data
		transports:
		  openwire: tcp://127.0.0.1:$PIER_OPENWIRE_PORT
		  stomp: stomp://127.0.0.1:$PIER_STOMP_PORT
		  mqtt: ""
		  ws: ""
		  amqp: ""
		console:
		  listen: ""
		store:
		  kind: journal
	EOF
	port_free "$PIER_STOMP_PORT" || die "port $PIER_STOMP_PORT is busy"
	port_free "$PIER_OPENWIRE_PORT" || die "port $PIER_OPENWIRE_PORT is busy"
	log "starting pier serve (STOMP on 127.0.0.1:$PIER_STOMP_PORT, OpenWire on $PIER_OPENWIRE_PORT, data in $base/data)"
	"$PIER" serve --config "$base/pier.yaml" >"$base/serve.log" 2>&1 &
	SERVER_PIDS+=($!)
	local took
	took=$(wait_port "$PIER_STOMP_PORT" "pier serve" "$base/serve.log")
	wait_port "$PIER_OPENWIRE_PORT" "pier serve" "$base/serve.log" >/dev/null
	log "pier listening after ${took}s"
}

# run_suite NAME PORT: runs the STOMP_SCENARIOS against one broker; results
# go to $WORK/NAME-<scenario>.json.
run_suite() {
	local name=$1 url="stomp://127.0.0.1:$2"
	local common=(--url "$url" --size 1024 --json)
	bench "$name" persist-1x1 "${common[@]}" --destination "queue://compare.p1" --persistent=true \
		--producers 1 --consumers 1 --count "$COUNT"
	bench "$name" persist-4x4 "${common[@]}" --destination "queue://compare.p4" --persistent=true \
		--producers 4 --consumers 4 --count "$COUNT"
	bench "$name" nonpersist-1x1 "${common[@]}" --destination "queue://compare.n1" --persistent=false \
		--producers 1 --consumers 1 --count "$COUNT"
	bench "$name" rate "${common[@]}" --destination "queue://compare.rate" --persistent=true \
		--producers "$RATE_CLIENTS" --consumers "$RATE_CLIENTS" --rate "$RATE" --duration "$RATE_DURATION"
}

# bench NAME SCENARIO ARGS...: one `pier bench` run into
# $WORK/NAME-SCENARIO.json, with the broker's CPU per message in
# $WORK/NAME-SCENARIO.cpu (see broker_cpu); nothing when SCENARIO is not in
# STOMP_SCENARIOS.
bench() {
	local name=$1 scenario=$2 out="$WORK/$1-$2.json" pid=${SERVER_PIDS[-1]} before
	shift 2
	wanted "$scenario" "$STOMP_SCENARIOS" || return 0
	log "$name: STOMP $scenario"
	before=$(cpu_ms "$pid")
	if ! run_client "$out" "$WORK/$name-$scenario.err" "$PIER" bench "$@"; then
		cat "$WORK/$name-$scenario.err" >&2
		echo '{}' >"$out"
	fi
	broker_cpu "$WORK/$name-$scenario.cpu" "$before" "$(cpu_ms "$pid")" "$(field "$out" received)"
}

# broker_cpu FILE BEFORE AFTER MESSAGES: writes "µs/msg ms messages" (the
# broker's CPU per message, its CPU in the run, the messages) to FILE and
# logs it; - for what is unknown.
broker_cpu() {
	local file=$1 before=$2 after=$3 n=$4 ms=-
	[[ ! $before =~ ^[0-9]+$ || ! $after =~ ^[0-9]+$ ]] || ms=$((after - before))
	printf '%s %s %s\n' "$(cpu_per_msg "$before" "$after" "$n")" "$ms" "$n" >"$file"
	log "  broker CPU: $ms ms for $n messages ($(cut -d' ' -f1 "$file") µs/msg)"
}

# cpu_field FILE: the µs/msg of a broker_cpu FILE; - when there is none.
cpu_field() {
	local v=-
	[[ ! -s "$1" ]] || read -r v _ <"$1"
	echo "$v"
}

# compile_jmsbench compiles bench/openwire/JmsBench.java once into $WORK.
compile_jmsbench() {
	command -v javac >/dev/null || die "javac is not installed (apt-get install default-jdk-headless, or SKIP_OPENWIRE=1)"
	local jar cp=""
	for jar in "${JARS[@]}"; do
		[[ -r "/usr/share/java/$jar.jar" ]] ||
			die "missing /usr/share/java/$jar.jar (apt-get install libactivemq-java libslf4j-java, or SKIP_OPENWIRE=1)"
		cp+="/usr/share/java/$jar.jar:"
	done
	log "compiling JmsBench"
	mkdir -p "$WORK/jmsbench"
	javac -nowarn -cp "$cp" -d "$WORK/jmsbench" "$ROOT/bench/openwire/JmsBench.java" ||
		die "javac failed on bench/openwire/JmsBench.java"
	JMS_CP="$cp$WORK/jmsbench"
}

# run_openwire NAME PORT: runs the OW_SCENARIOS over OpenWire with JmsBench;
# results go to $WORK/NAME-ow-<scenario>.json.
run_openwire() {
	local name=$1 url="tcp://127.0.0.1:$2"
	local common=(--url "$url" --size 1024 --warmup "$OW_WARMUP" --drain-timeout "$OW_DRAIN_TIMEOUT")
	jmsbench "$name" persist-1x1 "${common[@]}" --queue compare.ow.p1 --persistent true \
		--producers 1 --consumers 1 --count "$OW_COUNT"
	jmsbench "$name" persist-4x4 "${common[@]}" --queue compare.ow.p4 --persistent true \
		--producers 4 --consumers 4 --count "$OW_COUNT"
	jmsbench "$name" persist-16x16 "${common[@]}" --queue compare.ow.p16 --persistent true \
		--producers 16 --consumers 16 --count "$OW_COUNT"
	jmsbench "$name" nonpersist-1x1 "${common[@]}" --queue compare.ow.n1 --persistent false \
		--producers 1 --consumers 1 --count "$OW_COUNT"
	jmsbench "$name" nonpersist-4x4 "${common[@]}" --queue compare.ow.n4 --persistent false \
		--producers 4 --consumers 4 --count "$OW_COUNT"
	jmsbench "$name" rate "${common[@]}" --queue compare.ow.rate --persistent true \
		--producers 1 --consumers 1 --rate "$OW_RATE" --duration "$OW_RATE_DURATION"
}

# jmsbench NAME SCENARIO ARGS...: one JmsBench run. A failed run (shortfall,
# JMS error) keeps its JSON line, which says so; a run that printed nothing
# becomes {}. The broker's CPU per message goes to $WORK/NAME-ow-SCENARIO.cpu,
# counting the warm-up messages (JmsBench sends max(1, OW_WARMUP/producers)
# per producer) with the received ones.
jmsbench() {
	local name=$1 scenario=$2 out err pid=${SERVER_PIDS[-1]} before n p
	shift 2
	wanted "$scenario" "$OW_SCENARIOS" || return 0
	out="$WORK/$name-ow-$scenario.json"
	err="$WORK/$name-ow-$scenario.err"
	log "$name: OpenWire $scenario"
	before=$(cpu_ms "$pid")
	if run_client "$out" "$err" java -Xms256m -Xmx256m -cp "$JMS_CP" JmsBench "$@"; then
		sed -n 's/^jmsbench: /    /p' "$err" >&2
	else
		log "$name: OpenWire $scenario FAILED:"
		cat "$err" >&2
	fi
	[[ -s "$out" ]] || echo '{}' >"$out"
	n=$(field "$out" received)
	p=$(field "$out" producers)
	if [[ $n != - && $p != - ]] && ((OW_WARMUP > 0 && p > 0)); then
		n=$((n + (OW_WARMUP / p > 1 ? OW_WARMUP / p : 1) * p))
	fi
	broker_cpu "$WORK/$name-ow-$scenario.cpu" "$before" "$(cpu_ms "$pid")" "$n"
}

# wanted SCENARIO LIST: whether SCENARIO is one of the space-separated LIST.
wanted() {
	[[ " $2 " == *" $1 "* ]]
}

# field FILE KEY: extracts a number from a `pier bench --json` result (one
# key per line) or a JmsBench result (one line); nested keys such as
# latency.p99_us are unique by their last part. No jq needed.
field() {
	local file=$1 key=${2##*.} v
	v=$(grep -o "\"$key\": *[0-9.eE+-]*" "$file" 2>/dev/null | head -n 1 | sed 's/.*: *//')
	if [[ -z "$v" ]]; then
		echo "-"
	else
		awk -v v="$v" 'BEGIN { printf "%.0f", v }'
	fi
}

# table TITLE PREFIX SCENARIOS ROWS...: one side-by-side table of
# $WORK/activemq-PREFIX* and $WORK/pier-PREFIX* results for each of the
# (space-separated) SCENARIOS, with the broker's CPU per message; ROWS are
# extra count rows without a ratio.
table() {
	local title=$1 prefix=$2 scenarios=$3 s m a p
	shift 3
	printf '\n%s\n%-16s %-22s %12s %12s %8s\n' "$title" scenario metric ActiveMQ Pier "Pier/AMQ"
	for s in $scenarios; do
		for m in receive_rate latency.p50_us latency.p99_us latency.p999_us; do
			a=$(field "$WORK/activemq-$prefix$s.json" "$m")
			p=$(field "$WORK/pier-$prefix$s.json" "$m")
			printf '%-16s %-22s %12s %12s %8s\n' "$s" "$m" "$a" "$p" "$(ratio "$p" "$a")"
		done
		a=$(cpu_field "$WORK/activemq-$prefix$s.cpu")
		p=$(cpu_field "$WORK/pier-$prefix$s.cpu")
		printf '%-16s %-22s %12s %12s %8s\n' "$s" broker_cpu_us/msg "$a" "$p" "$(ratio "$p" "$a")"
		for m in "$@"; do
			a=$(field "$WORK/activemq-$prefix$s.json" "$m")
			p=$(field "$WORK/pier-$prefix$s.json" "$m")
			printf '%-16s %-22s %12s %12s\n' "$s" "$m" "$a" "$p"
		done
	done
}

# openwire_notes says which OpenWire runs failed and whether each broker kept
# the target rate with one synchronous producer.
openwire_notes() {
	local name label file s sendrate
	for name in activemq pier; do
		label=ActiveMQ
		[[ $name != pier ]] || label=Pier
		for s in $OW_SCENARIOS; do
			file="$WORK/$name-ow-$s.json"
			[[ -s "$file" && $(cat "$file") != '{}' ]] || continue
			if ! grep -q '"ok": true' "$file"; then
				printf 'note: OpenWire %s on %s FAILED: sent %s, received %s%s\n' "$s" "$label" \
					"$(field "$file" sent)" "$(field "$file" received)" \
					"$(grep -o '"error": "[^"]*"' "$file" | sed 's/^"error": / /' || true)"
			fi
		done
		file="$WORK/$name-ow-rate.json"
		sendrate=$(field "$file" send_rate)
		[[ $sendrate != - ]] || continue
		if awk -v r="$sendrate" -v t="$OW_RATE" 'BEGIN { exit !(r < 0.97 * t) }'; then
			printf 'note: %s could NOT sustain %s msg/s over OpenWire with one synchronous persistent producer: it sent %s msg/s, so its rate-run latencies include the backlog\n' \
				"$label" "$OW_RATE" "$sendrate"
		else
			printf 'note: %s sustained %s msg/s over OpenWire with one synchronous persistent producer (sent %s msg/s)\n' \
				"$label" "$OW_RATE" "$sendrate"
		fi
	done
}

report() {
	if [[ -n "${STOMP_SCENARIOS// /}" ]]; then
		table "STOMP (pier bench)" "" "$STOMP_SCENARIOS" received
		printf '\n(rates in msg/s, latencies in µs; the STOMP rate run targets %s msg/s with %s producers/consumers for %s;\n broker_cpu_us/msg: the broker process'"'"'s user + system CPU time in the run per message received, in µs, lower is better)\n' \
			"$RATE" "$RATE_CLIENTS" "$RATE_DURATION"
	fi
	[[ "${SKIP_OPENWIRE:-0}" != 1 && -n "${OW_SCENARIOS// /}" ]] || return 0
	table "OpenWire (JMS, ActiveMQ 5.17 client, bench/openwire/JmsBench.java)" "ow-" "$OW_SCENARIOS" sent received
	printf '\n(OpenWire: %s messages per throughput run after %s unmeasured warm-up messages; rates in msg/s, latencies in µs;\n the OpenWire rate run targets %s msg/s with 1 producer and 1 consumer for %s, latency from each scheduled send time;\n broker_cpu_us/msg counts the warm-up messages, which the broker handled in the same run, with the received ones)\n' \
		"$OW_COUNT" "$OW_WARMUP" "$OW_RATE" "$OW_RATE_DURATION"
	openwire_notes
}

main() {
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	build_pier
	local rate disk_start disk_end amq
	disk_start=$(disk_both)
	log "disk at start: $disk_start"
	rate=$(fsync_rate) || rate="unknown"
	log "disk: $rate synchronous 1 KiB writes/s (dd oflag=dsync in $WORK)"

	[[ "${SKIP_AMQ:-0}" == 1 ]] || install_activemq
	[[ "${SKIP_OPENWIRE:-0}" == 1 ]] || compile_jmsbench
	if [[ "${SKIP_AMQ:-0}" != 1 ]]; then
		start_activemq
		amq=$(amq_pid)
		log "ActiveMQ's broker JVM is pid $amq"
		run_suite activemq "$AMQ_STOMP_PORT"
		[[ "${SKIP_OPENWIRE:-0}" == 1 ]] || run_openwire activemq "$AMQ_OPENWIRE_PORT"
		stop_server
	fi
	if [[ "${SKIP_PIER:-0}" != 1 ]]; then
		start_pier
		run_suite pier "$PIER_STOMP_PORT"
		[[ "${SKIP_OPENWIRE:-0}" == 1 ]] || run_openwire pier "$PIER_OPENWIRE_PORT"
		stop_server
	fi
	disk_end=$(disk_both)
	log "disk at end: $disk_end"
	report
	printf '\ndisk at start: %s\ndisk at end:   %s\ndisk: %s synchronous 1 KiB writes/s (dd oflag=dsync, at start)\n' \
		"$disk_start" "$disk_end" "$rate"
}

main "$@"
