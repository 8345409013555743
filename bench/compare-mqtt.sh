#!/usr/bin/env bash
# MQTT side by side: Pier, Mosquitto (Debian's `mosquitto`) and ActiveMQ
# 5.17's MQTT connector (Debian's `activemq`), one broker at a time on this
# machine over loopback, with one client for all: bench/mqttload (MQTT
# 3.1.1 through Pier's codec). See docs/mqtt-bench.md.
#
# Cases, each on one topic, 256-byte payloads (SIZE), a warm-up first:
#   qos0-1x1    one publisher, one subscriber, QoS 0, N_1 messages
#   qos1-1x1    the same at QoS 1 (PUBLISH and delivery acknowledged)
#   qos0-1x100  one publisher, 100 subscribers (FANOUT), N_100 messages:
#               N_100 x 100 deliveries
#   qos1-1x100  the same at QoS 1
# For each: msg/s delivered over all subscribers, end-to-end p50/p99
# latency, the broker process's CPU µs per delivered message (utime+stime
# of /proc/PID/stat over the measured messages), messages lost. The load
# is closed-loop: a publisher keeps at most AHEAD_1 (1x1) or AHEAD_100
# (1x100) messages past its slowest subscriber, so at most about 100 or
# 1,000 deliveries wait at once and the latencies are those of a bounded
# queue at full speed (about its length over the rate); at QoS 1 at most
# INFLIGHT PUBLISH are unacknowledged.
# Then, on a freshly started broker: CONNS idle connections (clean session,
# keep-alive 60 s), the broker's VmRSS before and SETTLE seconds after,
# KiB per connection, and how many still answer a PINGREQ.
#
# Mosquitto runs from a configuration of the script's own on its own port
# (not the system service): anonymous, no connection limit, unlimited
# in-flight and queued messages (max_inflight_messages 0,
# max_queued_messages 0: nothing dropped at QoS 1), no persistence,
# set_tcp_nodelay true (as Pier and ActiveMQ's tcpNoDelay below: without
# it Nagle's algorithm holds small deliveries for the peer's delayed ACK).
# ActiveMQ runs a copy of Debian's instance configuration with an mqtt://
# connector (transport.tcpNoDelay=true) beside OpenWire, KahaDB, the heap
# AMQ_HEAP; Debian's activemq package lacks the fusesource MQTT codec
# (every connection fails with NoClassDefFoundError:
# org/fusesource/mqtt/codec/PINGRESP), so the script installs
# libmqtt-client-java and copies its mqtt-client.jar into the instance's
# lib/ (ActiveMQ loads $ACTIVEMQ_BASE/lib/*.jar); AMQ_MQTT_CODEC=0 leaves it
# out to show the failure. Pier runs `pier serve` with transports.mqtt and
# the journal store; while its MQTT transport is not built yet ("transport
# not available yet" in its log), its columns are "-".
#
# Takes about 2 minutes with the defaults. Everything shares the machine's
# cores: the client's CPU competes with the broker's.
#
# Usage: bench/compare-mqtt.sh   (as root if mosquitto, activemq or
#   libmqtt-client-java is not installed)
# Environment: BROKERS ("mosquitto activemq pier"), CASES (all four),
#   N_1 (50000), N_100 (2000), WARMUP_1 (5000), WARMUP_100 (500),
#   FANOUT (100), SIZE (256), AHEAD_1 (100), AHEAD_100 (10), INFLIGHT (64),
#   CONNS (10000),
#   DIALERS (64), SETTLE (5 s), SRC (local addresses for the idle
#   connections, e.g. 127.0.0.1,127.0.0.2; empty: any), PIER_BIN,
#   MQTTLOAD_BIN, KEEP_WORK=1, AMQ_HEAP (512M), AMQ_MQTT_CODEC (1),
#   ports MOSQ_PORT (61930), AMQ_MQTT_PORT (61931), AMQ_OPENWIRE_PORT
#   (61932), PIER_MQTT_PORT (61933). Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BROKERS=${BROKERS:-mosquitto activemq pier}
CASES=${CASES:-qos0-1x1 qos1-1x1 qos0-1x100 qos1-1x100}
N_1=${N_1:-50000}
N_100=${N_100:-2000}
WARMUP_1=${WARMUP_1:-5000}
WARMUP_100=${WARMUP_100:-500}
FANOUT=${FANOUT:-100}
SIZE=${SIZE:-256}
AHEAD_1=${AHEAD_1:-100}
AHEAD_100=${AHEAD_100:-10}
INFLIGHT=${INFLIGHT:-64}
CONNS=${CONNS:-10000}
DIALERS=${DIALERS:-64}
SETTLE=${SETTLE:-5}
SRC=${SRC:-}
AMQ_MQTT_CODEC=${AMQ_MQTT_CODEC:-1}
MOSQ_PORT=${MOSQ_PORT:-61930}
AMQ_MQTT_PORT=${AMQ_MQTT_PORT:-61931}
AMQ_OPENWIRE_PORT=${AMQ_OPENWIRE_PORT:-61932}
PIER_MQTT_PORT=${PIER_MQTT_PORT:-61933}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-300}
LOAD=""
NOTES=()

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-mqtt
mkdir -p "$WORK/r"

# build_load builds bench/mqttload into $WORK (or uses MQTTLOAD_BIN).
build_load() {
	if [[ -n "${MQTTLOAD_BIN:-}" ]]; then
		LOAD=$MQTTLOAD_BIN
		return
	fi
	LOAD="$WORK/mqttload"
	(cd "$ROOT" && go build -o "$LOAD" ./bench/mqttload)
}

# start_mosquitto: a private Mosquitto on 127.0.0.1:MOSQ_PORT.
start_mosquitto() {
	local dir="$WORK/mosquitto"
	rm -rf "$dir"
	mkdir -p "$dir"
	cat >"$dir/mosquitto.conf" <<-EOF
		listener $MOSQ_PORT 127.0.0.1
		allow_anonymous true
		max_connections -1
		max_inflight_messages 0
		max_queued_messages 0
		persistence false
		set_tcp_nodelay true
		log_dest stderr
		log_type error
		log_type warning
	EOF
	port_free "$MOSQ_PORT" || die "port $MOSQ_PORT is busy"
	log "starting Mosquitto $(mosquitto_version) on 127.0.0.1:$MOSQ_PORT ($dir/mosquitto.conf)"
	mosquitto -c "$dir/mosquitto.conf" >"$dir/log" 2>&1 &
	SERVER_PIDS+=($!)
	wait_port "$MOSQ_PORT" Mosquitto "$dir/log" >/dev/null
}

mosquitto_version() { dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || echo '?'; }

# start_amq_mqtt: ActiveMQ from a copy of Debian's instance configuration
# with OpenWire on AMQ_OPENWIRE_PORT and MQTT on AMQ_MQTT_PORT, the
# fusesource codec in its lib/ (unless AMQ_MQTT_CODEC=0).
start_amq_mqtt() {
	local base="$WORK/activemq" connectors
	rm -rf "$base"
	mkdir -p "$base/conf" "$base/lib"
	[[ -r "$AMQ_INSTANCE_XML" ]] || die "missing $AMQ_INSTANCE_XML"
	connectors="<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:$AMQ_OPENWIRE_PORT\"/>"
	connectors+="<transportConnector name=\"mqtt\" uri=\"mqtt://127.0.0.1:$AMQ_MQTT_PORT?transport.tcpNoDelay=true\"/>"
	sed -e "s#<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:61616\"/>#$connectors#" \
		-e 's#\${activemq.base}/data#${activemq.data}#g' "$AMQ_INSTANCE_XML" >"$base/conf/activemq.xml"
	grep -q "mqtt://127.0.0.1:$AMQ_MQTT_PORT" "$base/conf/activemq.xml" ||
		die "could not add an MQTT connector to $AMQ_INSTANCE_XML (layout changed?)"
	if [[ "$AMQ_MQTT_CODEC" == 1 ]]; then
		cp /usr/share/java/mqtt-client.jar "$base/lib/"
	fi
	port_free "$AMQ_MQTT_PORT" || die "port $AMQ_MQTT_PORT is busy"
	port_free "$AMQ_OPENWIRE_PORT" || die "port $AMQ_OPENWIRE_PORT is busy"
	log "starting ActiveMQ (MQTT on 127.0.0.1:$AMQ_MQTT_PORT, OpenWire on $AMQ_OPENWIRE_PORT, codec in lib/: $AMQ_MQTT_CODEC)"
	AMQ_LOG4J=1 launch_activemq "$base" "$base/conf/activemq.xml"
	wait_port "$AMQ_MQTT_PORT" ActiveMQ "$base/console.log" >/dev/null
}

# start_pier_mqtt: pier serve with MQTT only on PIER_MQTT_PORT, the
# journal store; fails (status 2) when Pier says MQTT is not available.
start_pier_mqtt() {
	local base="$WORK/pier"
	rm -rf "$base"
	mkdir -p "$base/data"
	cat >"$base/pier.yaml" <<-EOF
		broker: {name: mqttbench, data_dir: $base/data}
		transports: {mqtt: "mqtt://127.0.0.1:$PIER_MQTT_PORT", openwire: "", stomp: "", ws: "", amqp: ""}
		console: {listen: ""}
		store: {kind: journal}
		limits: {max_connections: $((CONNS + FANOUT + 100))}
	EOF
	port_free "$PIER_MQTT_PORT" || die "port $PIER_MQTT_PORT is busy"
	log "starting pier serve (MQTT on 127.0.0.1:$PIER_MQTT_PORT, data in $base/data)"
	"$PIER" serve --config "$base/pier.yaml" >"$base/serve.log" 2>&1 &
	SERVER_PIDS+=($!)
	wait_log "$base/serve.log" 'msg=ready|not available yet' "pier serve" >/dev/null
	if grep -q 'not available yet.*proto=mqtt' "$base/serve.log"; then
		return 2
	fi
	wait_port "$PIER_MQTT_PORT" "pier serve" "$base/serve.log" >/dev/null
}

# start BROKER: a fresh BROKER; sets PORT and PID. Status 2: not available.
start() {
	local rc=0
	case $1 in
	mosquitto)
		start_mosquitto
		PORT=$MOSQ_PORT
		;;
	activemq)
		start_amq_mqtt
		PORT=$AMQ_MQTT_PORT
		;;
	pier)
		start_pier_mqtt || rc=$?
		PORT=$PIER_MQTT_PORT
		;;
	*) die "unknown broker $1 in BROKERS (mosquitto, activemq, pier)" ;;
	esac
	PID=${SERVER_PIDS[-1]}
	[[ $1 != activemq ]] || PID=$(amq_pid)
	return "$rc"
}

# field FILE KEY: the first KEY=value of FILE's key=value lines; - when
# missing.
field() {
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); found = 1; exit } }
		END { if (!found) print "-" }' "$1" 2>/dev/null || echo -
}

# run_case BROKER CASE: one mqttload run into $WORK/r/BROKER-CASE.out.
run_case() {
	local qos=${2:3:1} subs=1 n=$N_1 warm=$WARMUP_1 ahead=$AHEAD_1 out="$WORK/r/$1-$2" lost
	if [[ ${2#*-} == 1x100 ]]; then
		subs=$FANOUT n=$N_100 warm=$WARMUP_100 ahead=$AHEAD_100
	fi
	log "$1: $2 ($n messages to $subs subscriber(s), warm-up $warm)"
	if ! run_client "$out.out" "$out.err" "$LOAD" -addr "127.0.0.1:$PORT" -qos "$qos" -pubs 1 -subs "$subs" \
		-n "$n" -warmup "$warm" -size "$SIZE" -ahead "$ahead" -inflight "$INFLIGHT" -topic "bench/$2" \
		-pid "$PID" -clk-tck "$CLK_TCK"; then
		NOTES+=("$1 $2 FAILED: $(tail -n 1 "$out.err")")
	fi
	[[ ! -s "$out.err" ]] || sed 's/^/    /' "$out.err" >&2
	[[ ! -s "$out.out" ]] || sed 's/^/    /' "$out.out" >&2
	lost=$(field "$out.out" lost)
	[[ $lost == - || $lost == 0 ]] ||
		NOTES+=("$1 $2: $lost of $(field "$out.out" expected) deliveries did not arrive within the no-progress timeout")
}

# run_idle BROKER: CONNS idle connections into $WORK/r/BROKER-idle.out.
run_idle() {
	local out="$WORK/r/$1-idle"
	log "$1: $CONNS idle connections"
	if ! run_client "$out.out" "$out.err" "$LOAD" -mode idle -addr "127.0.0.1:$PORT" -conns "$CONNS" \
		-dialers "$DIALERS" -settle "${SETTLE}s" -hold 1s -src "$SRC" -pid "$PID" -clk-tck "$CLK_TCK"; then
		NOTES+=("$1 idle FAILED: $(tail -n 1 "$out.err")")
	fi
	[[ ! -s "$out.err" ]] || sed 's/^/    /' "$out.err" >&2
	[[ ! -s "$out.out" ]] || sed 's/^/    /' "$out.out" >&2
	local failed
	failed=$(field "$out.out" failed)
	[[ $failed == - || $failed == 0 ]] ||
		NOTES+=("$1 idle: $failed of $CONNS connections failed: $(field "$out.out" first_error)")
}

# amq_check: notes what ActiveMQ's log says of its MQTT connector.
amq_check() {
	local l="$WORK/activemq/console.log" e
	e=$(grep -m 1 -o 'NoClassDefFoundError: [^ ]*' "$l" 2>/dev/null) || return 0
	NOTES+=("activemq: its MQTT connector failed connections with $e ($(grep -c NoClassDefFoundError "$l") times; log $l)")
}

# bench BROKER: the cases on one fresh broker, then the idle connections
# on another.
bench() {
	local rc=0 c
	start "$1" || rc=$?
	if ((rc == 2)); then
		NOTES+=("$1: its MQTT transport is not available yet (\"transport not available yet\" in its log): not measured")
		stop_server
		return
	fi
	for c in $CASES; do
		run_case "$1" "$c"
	done
	[[ $1 != activemq ]] || amq_check
	stop_server
	start "$1"
	run_idle "$1"
	stop_server
}

# fmt_num VALUE FORMAT: VALUE in the awk FORMAT, or - when not a number.
fmt_num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v ~ /^-?[0-9.]+$/) printf f, v; else print "-" }'; }

# row LABEL KEY FORMAT [SUFFIX]: one table row of KEY from each broker's
# file $WORK/r/BROKER-SUFFIX.out, then Pier over Mosquitto and ActiveMQ.
row() {
	local label=$1 key=$2 f=$3 suffix=$4 m a p
	m=$(field "$WORK/r/mosquitto-$suffix.out" "$key")
	a=$(field "$WORK/r/activemq-$suffix.out" "$key")
	p=$(field "$WORK/r/pier-$suffix.out" "$key")
	printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$(fmt_num "$m" "$f")" "$(fmt_num "$a" "$f")" \
		"$(fmt_num "$p" "$f")" "$(ratio "$p" "$m")" "$(ratio "$p" "$a")"
}

report() {
	local c
	printf '\n## MQTT 3.1.1: Mosquitto %s, ActiveMQ 5.17 (MQTT connector), Pier; %s cores, load at start %s\n\n' \
		"$(mosquitto_version)" "$(nproc)" "$LOAD_AT_START"
	printf '%s-byte payloads; 1x1: %s messages (warm-up %s, %s ahead); 1x%s: %s messages to each of %s subscribers (warm-up %s, %s ahead).\n' \
		"$SIZE" "$N_1" "$WARMUP_1" "$AHEAD_1" "$FANOUT" "$N_100" "$FANOUT" "$WARMUP_100" "$AHEAD_100"
	printf 'Ratios: Pier'"'"'s figure over the other'"'"'s (msg/s: higher is better; latency and CPU: lower is better).\n\n'
	printf '| case | Mosquitto | ActiveMQ | Pier | Pier/Mosquitto | Pier/ActiveMQ |\n|---|---:|---:|---:|---:|---:|\n'
	for c in $CASES; do
		row "$c msg/s" msg_per_s '%.0f' "$c"
		row "$c p50 µs" p50_us '%.0f' "$c"
		row "$c p99 µs" p99_us '%.0f' "$c"
		row "$c broker CPU µs/msg" broker_cpu_us_per_msg '%.1f' "$c"
	done
	printf '\n### %s idle connections (clean session, keep-alive 60 s), each broker freshly started\n\n' "$CONNS"
	printf '| | Mosquitto | ActiveMQ | Pier | Pier/Mosquitto | Pier/ActiveMQ |\n|---|---:|---:|---:|---:|---:|\n'
	row "RSS before, KiB" rss_before_kb '%.0f' idle
	row "RSS after ${SETTLE} s, KiB" rss_after_kb '%.0f' idle
	row "KiB per connection" kib_per_conn '%.1f' idle
	row "connected" conns '%.0f' idle
	row "answering a PINGREQ after" alive '%.0f' idle
	row "connect time, s" connect_s '%.1f' idle
	printf '\nmachine load at the end: %s (other work on the machine makes the figures noisy).\n' \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
	for c in "${NOTES[@]}"; do
		printf 'note: %s\n' "$c"
	done
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= CONNS + 1000)) || die "ulimit -n is $(ulimit -n) at most; $CONNS connections need $((CONNS + 1000))"
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
for b in $BROKERS; do
	case $b in
	mosquitto) install_debian mosquitto ;;
	activemq)
		install_activemq
		[[ "$AMQ_MQTT_CODEC" != 1 ]] || install_debian libmqtt-client-java
		;;
	pier) build_pier ;;
	esac
done
build_load
log "machine: $(nproc) cores, load $LOAD_AT_START, ulimit -n $(ulimit -n)"
for b in $BROKERS; do
	bench "$b"
done
report
