#!/usr/bin/env bash
# Compares Pier with ActiveMQ 5.17 (Debian's `activemq` package) over STOMP
# using `pier bench`, on this machine, loopback only:
#
#   1. persistent, 1 KiB, 1 producer / 1 consumer
#   2. persistent, 1 KiB, 4 producers / 4 consumers
#   3. non-persistent, 1 KiB, 1/1
#   4. persistent, 1 KiB, steady total --rate (default 1000 msg/s) for p99
#
# ActiveMQ runs in the foreground of this script as its own java process,
# from a private copy of the Debian instance config (Debian's
# /etc/activemq/instances-available/main/activemq.xml only opens OpenWire
# on 127.0.0.1:61616; the copy adds a STOMP connector) with a temporary data
# directory, so the system service and /var/lib/activemq are left alone.
# Then `pier serve` runs with a temporary data directory. Both use their
# default durable stores (ActiveMQ: KahaDB with journal disk syncs; Pier: its
# journal). The disk's 1 KiB synchronous-write rate is printed, since it
# bounds persistent throughput for both.
#
# Usage: bench/compare-activemq.sh        (as root: may apt-get install activemq)
# Environment: COUNT (messages per throughput run, default 20000),
#   RATE (default 1000), RATE_DURATION (default 20s), RATE_CLIENTS (producers
#   and consumers of the rate run, default 4), AMQ_STOMP_PORT (61623),
#   AMQ_OPENWIRE_PORT (61626), PIER_STOMP_PORT (61633), SKIP_PIER=1,
#   SKIP_AMQ=1, KEEP_WORK=1 (keep the temp dir with logs and JSON results).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-20000}
RATE=${RATE:-1000}
RATE_DURATION=${RATE_DURATION:-20s}
RATE_CLIENTS=${RATE_CLIENTS:-4}
AMQ_STOMP_PORT=${AMQ_STOMP_PORT:-61623}
AMQ_OPENWIRE_PORT=${AMQ_OPENWIRE_PORT:-61626}
PIER_STOMP_PORT=${PIER_STOMP_PORT:-61633}
AMQ_HOME=/usr/share/activemq
AMQ_INSTANCE_XML=/etc/activemq/instances-available/main/activemq.xml
START_TIMEOUT=${START_TIMEOUT:-120} # seconds

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pier-compare.XXXXXX")
PIER="$WORK/pier"
SERVER_PID=""

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'compare-activemq: %s\n' "$*" >&2; exit 1; }

stop_server() {
	if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=""
}

cleanup() {
	stop_server
	if [[ "${KEEP_WORK:-0}" == 1 ]]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT NAME LOG: waits until the server listens; prints seconds taken.
wait_port() {
	local port=$1 name=$2 logfile=$3 start=$SECONDS
	for _ in $(seq 1 $((START_TIMEOUT * 4))); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			tail -n 30 "$logfile" >&2 || true
			die "$name exited during start-up (log: $logfile)"
		fi
		if ! port_free "$port"; then
			echo $((SECONDS - start))
			return 0
		fi
		sleep 0.25
	done
	tail -n 30 "$logfile" >&2 || true
	die "$name did not listen on 127.0.0.1:$port within ${START_TIMEOUT}s"
}

install_activemq() {
	if dpkg-query -W -f='${Status}' activemq 2>/dev/null | grep -q 'install ok installed'; then
		return
	fi
	log "installing Debian's activemq package"
	[[ $(id -u) == 0 ]] || die "activemq is not installed and installing it needs root"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y activemq
}

# start_activemq writes a private instance (config, data, tmp) and starts the
# broker with the same JVM options as Debian's /usr/bin/activemq.
start_activemq() {
	local base="$WORK/activemq"
	mkdir -p "$base/conf" "$base/data" "$base/tmp"
	[[ -r "$AMQ_INSTANCE_XML" ]] || die "missing $AMQ_INSTANCE_XML"
	cp /etc/activemq/instances-available/main/log4j2.properties "$base/conf/" 2>/dev/null || true
	sed -e "s#<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:61616\"/>#<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:$AMQ_OPENWIRE_PORT\"/>\n            <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:$AMQ_STOMP_PORT\"/>#" \
		-e 's#\${activemq.base}/data#${activemq.data}#g' \
		"$AMQ_INSTANCE_XML" >"$base/conf/activemq.xml"
	grep -q "stomp://127.0.0.1:$AMQ_STOMP_PORT" "$base/conf/activemq.xml" ||
		die "could not add a STOMP connector to $AMQ_INSTANCE_XML (layout changed?)"
	port_free "$AMQ_STOMP_PORT" || die "port $AMQ_STOMP_PORT is busy"
	port_free "$AMQ_OPENWIRE_PORT" || die "port $AMQ_OPENWIRE_PORT is busy"
	local java_opens=(
		--add-reads=java.xml=java.logging
		--add-opens java.base/java.security=ALL-UNNAMED
		--add-opens java.base/java.net=ALL-UNNAMED
		--add-opens java.base/java.lang=ALL-UNNAMED
		--add-opens java.base/java.util=ALL-UNNAMED
		--add-opens java.naming/javax.naming.spi=ALL-UNNAMED
		--add-opens java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED
		--add-opens java.base/java.util.concurrent=ALL-UNNAMED
		--add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED
	)
	log "starting ActiveMQ (STOMP on 127.0.0.1:$AMQ_STOMP_PORT, data in $base/data)"
	(cd "$base" && exec java -Xms512M -Xmx512M "${java_opens[@]}" \
		-Dactivemq.classpath="$base/conf" -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$base" \
		-Dactivemq.conf="$base/conf" -Dactivemq.data="$base/data" -Djava.io.tmpdir="$base/tmp" \
		-jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$base/conf/activemq.xml" \
		>"$base/console.log" 2>&1) &
	SERVER_PID=$!
	local took
	took=$(wait_port "$AMQ_STOMP_PORT" ActiveMQ "$base/console.log")
	log "ActiveMQ listening after ${took}s"
}

start_pier() {
	local base="$WORK/pier-broker"
	mkdir -p "$base/data"
	cat >"$base/pier.yaml" <<-EOF
		broker:
		  name: localhost
		  data_dir: $base/data
		transports:
		  openwire: ""
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
	log "starting pier serve (STOMP on 127.0.0.1:$PIER_STOMP_PORT, data in $base/data)"
	"$PIER" serve --config "$base/pier.yaml" >"$base/serve.log" 2>&1 &
	SERVER_PID=$!
	local took
	took=$(wait_port "$PIER_STOMP_PORT" "pier serve" "$base/serve.log")
	log "pier listening after ${took}s"
}

# run_suite NAME PORT: runs every scenario against one broker; results go to
# $WORK/NAME-<scenario>.json.
run_suite() {
	local name=$1 port=$2 url="stomp://127.0.0.1:$2"
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

bench() {
	local name=$1 scenario=$2
	shift 2
	log "$name: $scenario"
	if ! "$PIER" bench "$@" >"$WORK/$name-$scenario.json" 2>"$WORK/$name-$scenario.err"; then
		cat "$WORK/$name-$scenario.err" >&2
		echo '{}' >"$WORK/$name-$scenario.json"
	fi
}

# fsync_rate prints synchronous 1 KiB writes per second on $WORK's disk.
fsync_rate() {
	local n=500 out secs
	out=$(dd if=/dev/zero of="$WORK/fsync.probe" bs=1k count=$n oflag=dsync 2>&1) || return 1
	rm -f "$WORK/fsync.probe"
	secs=$(sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p' <<<"$out")
	[[ -n "$secs" ]] || return 1
	awk -v n="$n" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "inf" }'
}

# field FILE KEY: extracts a value from a `pier bench --json` result (one
# key per line; nested keys such as latency.p99_us are unique by their last
# part), without needing jq.
field() {
	local file=$1 key=${2##*.} v
	v=$(sed -n "s/^ *\"$key\": \([0-9.eE+-]*\),\{0,1\}$/\1/p" "$file" 2>/dev/null | head -n 1)
	if [[ -z "$v" ]]; then
		echo "-"
	else
		awk -v v="$v" 'BEGIN { printf "%.0f", v }'
	fi
}

report() {
	printf '\n%-16s %-22s %12s %12s %8s\n' scenario metric ActiveMQ Pier "Pier/AMQ"
	local s m a p
	for s in persist-1x1 persist-4x4 nonpersist-1x1 rate; do
		for m in receive_rate latency.p50_us latency.p99_us latency.p999_us; do
			a=$(field "$WORK/activemq-$s.json" "$m")
			p=$(field "$WORK/pier-$s.json" "$m")
			printf '%-16s %-22s %12s %12s %8s\n' "$s" "$m" "$a" "$p" "$(ratio "$p" "$a")"
		done
		a=$(field "$WORK/activemq-$s.json" received)
		p=$(field "$WORK/pier-$s.json" received)
		printf '%-16s %-22s %12s %12s\n' "$s" received "$a" "$p"
	done
	printf '\n(rates in msg/s, latencies in µs; the rate run targets %s msg/s with %s producers/consumers for %s)\n' \
		"$RATE" "$RATE_CLIENTS" "$RATE_DURATION"
}

ratio() {
	awk -v p="$1" -v a="$2" 'BEGIN { if (a+0 > 0 && p ~ /^[0-9.]+$/) printf "%.2f", p / a; else print "-" }'
}

main() {
	command -v go >/dev/null || die "go is not installed"
	log "building pier"
	(cd "$ROOT" && go build -o "$PIER" ./cmd/pier)
	local rate
	rate=$(fsync_rate) || rate="unknown"
	log "disk: $rate synchronous 1 KiB writes/s (dd oflag=dsync in $WORK)"

	if [[ "${SKIP_AMQ:-0}" != 1 ]]; then
		install_activemq
		start_activemq
		run_suite activemq "$AMQ_STOMP_PORT"
		stop_server
	fi
	if [[ "${SKIP_PIER:-0}" != 1 ]]; then
		start_pier
		run_suite pier "$PIER_STOMP_PORT"
		stop_server
	fi
	report
	printf 'disk: %s synchronous 1 KiB writes/s\n' "$rate"
}

main "$@"
