# Shell functions shared by the bench/compare-*.sh scripts; source it after
# `set -euo pipefail`. It defines functions and a few defaults only.
#
# The caller sets ROOT (the repository) before calling setup_work, which
# makes the temp directory WORK, chooses PIER and installs the clean-up
# traps. Servers started through start_activemq (or by hand, their pids
# appended to SERVER_PIDS) are stopped by stop_server and on exit.
#
# Environment read here: START_TIMEOUT (seconds a server may take to listen,
# default 120), STOP_TIMEOUT (seconds between SIGTERM and SIGKILL, default
# 10), CLIENT_TIMEOUT (seconds any one benchmark client may run, default
# 300), PIER_BIN (a prebuilt pier binary instead of `go build`), KEEP_WORK=1
# (keep the temp directory), and for start_activemq AMQ_OPENWIRE_PORT,
# AMQ_STOMP_PORT (empty: no STOMP connector), AMQ_BROKER_NAME (empty: Debian's
# "localhost" in $WORK/activemq; else that brokerName in
# $WORK/activemq-NAME), AMQ_NETWORK_NAME and AMQ_NETWORK_URI (a network
# connector; empty: none) and AMQ_HEAP (JVM heap, default 512M).

START_TIMEOUT=${START_TIMEOUT:-120}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-300}
AMQ_HEAP=${AMQ_HEAP:-512M}
AMQ_HOME=/usr/share/activemq
AMQ_INSTANCE_XML=/etc/activemq/instances-available/main/activemq.xml
SERVER_PIDS=()
CLIENT_PID=""
WORK=""
PIER=""

log() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# setup_work PREFIX: creates WORK under $TMPDIR, sets PIER to where
# build_pier puts the binary and installs the traps that call cleanup.
setup_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	PIER="$WORK/pier"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

# build_pier builds ./cmd/pier into $PIER, or points PIER at $PIER_BIN.
build_pier() {
	if [[ -n "${PIER_BIN:-}" ]]; then
		[[ -x "$PIER_BIN" ]] || die "PIER_BIN=$PIER_BIN is not an executable"
		PIER=$PIER_BIN
		log "using $PIER"
		return
	fi
	command -v go >/dev/null || die "go is not installed (or set PIER_BIN)"
	log "building pier"
	(cd "$ROOT" && go build -o "$PIER" ./cmd/pier)
}

# stop_server sends SIGTERM to every server in SERVER_PIDS at once, waits
# up to STOP_TIMEOUT seconds for them all, then SIGKILLs the rest.
stop_server() {
	local pid alive
	((${#SERVER_PIDS[@]})) || return 0
	for pid in "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
		alive=0
		for pid in "${SERVER_PIDS[@]}"; do
			! kill -0 "$pid" 2>/dev/null || alive=1
		done
		((alive)) || break
		sleep 0.1
	done
	for pid in "${SERVER_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PIDS=()
}

cleanup() {
	if [[ -n "$CLIENT_PID" ]]; then
		kill -TERM "$CLIENT_PID" 2>/dev/null || true
		wait "$CLIENT_PID" 2>/dev/null || true
	fi
	stop_server
	[[ -n "$WORK" ]] || return 0
	if [[ "${KEEP_WORK:-0}" == 1 ]]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT NAME LOG [PID]: waits until something listens on PORT while
# PID (default: the last server started) runs; prints seconds taken.
wait_port() {
	local port=$1 name=$2 logfile=$3 pid=${4:-${SERVER_PIDS[-1]}} start=$SECONDS
	for _ in $(seq 1 $((START_TIMEOUT * 4))); do
		if ! kill -0 "$pid" 2>/dev/null; then
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

# run_client OUT ERR CMD...: runs one benchmark client in the background,
# bounded by CLIENT_TIMEOUT, so a signal to the script stops it at once
# (cleanup kills it) instead of after the client finishes.
run_client() {
	local out=$1 err=$2 rc=0
	shift 2
	timeout --kill-after=10 "$CLIENT_TIMEOUT" "$@" >"$out" 2>"$err" &
	CLIENT_PID=$!
	wait "$CLIENT_PID" || rc=$?
	CLIENT_PID=""
	[[ $rc != 124 ]] || printf 'client timed out after %ss\n' "$CLIENT_TIMEOUT" >>"$err"
	return "$rc"
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

# ratio P A: P/A with two decimals, or - when either is not a number.
ratio() {
	awk -v p="$1" -v a="$2" 'BEGIN { if (a+0 > 0 && p ~ /^[0-9.]+$/) printf "%.2f", p / a; else print "-" }'
}

# start_pier_broker NAME PORT [CONNECTOR URI]: starts `pier serve` named NAME
# (its brokerName) with OpenWire only on 127.0.0.1:PORT, the journal store in
# $WORK/pier-NAME/data and, when given, one network connector CONNECTOR to
# URI (e.g. static:(tcp://127.0.0.1:61617)).
start_pier_broker() {
	local name=$1 port=$2 base="$WORK/pier-$1" what="OpenWire on 127.0.0.1:$2"
	mkdir -p "$base/data"
	cat >"$base/pier.yaml" <<-EOF
		broker:
		  name: $name
		  data_dir: $base/data
		transports:
		  openwire: tcp://127.0.0.1:$port
		  stomp: ""
		  mqtt: ""
		  ws: ""
		  amqp: ""
		console:
		  listen: ""
		store:
		  kind: journal
	EOF
	if (($# > 2)); then
		printf 'network_connectors:\n  - name: %s\n    uri: "%s"\n' "$3" "$4" >>"$base/pier.yaml"
		what+=", network connector $3 to $4"
	fi
	port_free "$port" || die "port $port is busy"
	log "starting pier serve $name ($what, data in $base/data)"
	"$PIER" serve --config "$base/pier.yaml" >"$base/serve.log" 2>&1 &
	SERVER_PIDS+=($!)
	local took
	took=$(wait_port "$port" "pier serve $name" "$base/serve.log")
	log "pier $name listening after ${took}s"
}

# metrics FILE: "msg/s p50_us p99_us sent received send_msg/s" of one `pier
# bench --json` result (msg/s: the receive rate), with - for what it lacks
# (needs python3).
metrics() {
	python3 - "$1" <<-'EOF'
		import json, sys
		try:
		    r = json.load(open(sys.argv[1]))
		    l = r["latency"]
		    print("%.0f %.0f %.0f %d %d %.0f" % (r["receive_rate"], l["p50_us"], l["p99_us"], r["sent"], r["received"], r["send_rate"]))
		except (OSError, ValueError, KeyError, TypeError):
		    print("- - - - - -")
	EOF
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

# start_activemq writes a private instance (config, data, tmp) in
# $WORK/activemq and starts the broker with the same JVM options as Debian's
# /usr/bin/activemq. Debian's instance config opens only OpenWire on
# 127.0.0.1:61616; the copy moves it to AMQ_OPENWIRE_PORT and, unless
# AMQ_STOMP_PORT is empty, adds a STOMP connector there. With
# AMQ_BROKER_NAME it renames the broker and lives in $WORK/activemq-NAME
# (two can run at once); with AMQ_NETWORK_URI it adds a network connector
# named AMQ_NETWORK_NAME (default "network"), one-way (duplex="false"). Its
# default store (KahaDB with journal disk syncs) is kept.
start_activemq() {
	local base="$WORK/activemq${AMQ_BROKER_NAME:+-$AMQ_BROKER_NAME}" connectors what network=""
	mkdir -p "$base/conf" "$base/data" "$base/tmp"
	[[ -r "$AMQ_INSTANCE_XML" ]] || die "missing $AMQ_INSTANCE_XML"
	cp /etc/activemq/instances-available/main/log4j2.properties "$base/conf/" 2>/dev/null || true
	connectors="<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:$AMQ_OPENWIRE_PORT\"/>"
	what="OpenWire on 127.0.0.1:$AMQ_OPENWIRE_PORT"
	if [[ -n "${AMQ_STOMP_PORT:-}" ]]; then
		connectors+="\n            <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:$AMQ_STOMP_PORT\"/>"
		what="STOMP on 127.0.0.1:$AMQ_STOMP_PORT, OpenWire on $AMQ_OPENWIRE_PORT"
	fi
	if [[ -n "${AMQ_NETWORK_URI:-}" ]]; then
		network="<networkConnectors><networkConnector name=\"${AMQ_NETWORK_NAME:-network}\" uri=\"$AMQ_NETWORK_URI\" duplex=\"false\"/></networkConnectors>\n        "
		what+=", network connector to $AMQ_NETWORK_URI"
	fi
	sed -e "s#<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:61616\"/>#$connectors#" \
		-e "s#<transportConnectors>#$network<transportConnectors>#" \
		-e "s#brokerName=\"localhost\"#brokerName=\"${AMQ_BROKER_NAME:-localhost}\"#" \
		-e 's#\${activemq.base}/data#${activemq.data}#g' \
		"$AMQ_INSTANCE_XML" >"$base/conf/activemq.xml"
	grep -q "tcp://127.0.0.1:$AMQ_OPENWIRE_PORT\"" "$base/conf/activemq.xml" ||
		die "could not move the OpenWire connector of $AMQ_INSTANCE_XML (layout changed?)"
	grep -q "brokerName=\"${AMQ_BROKER_NAME:-localhost}\"" "$base/conf/activemq.xml" ||
		die "could not set the brokerName in $AMQ_INSTANCE_XML (layout changed?)"
	if [[ -n "$network" ]]; then
		grep -q "<networkConnector name=" "$base/conf/activemq.xml" ||
			die "could not add a network connector to $AMQ_INSTANCE_XML (layout changed?)"
	fi
	if [[ -n "${AMQ_STOMP_PORT:-}" ]]; then
		grep -q "stomp://127.0.0.1:$AMQ_STOMP_PORT" "$base/conf/activemq.xml" ||
			die "could not add a STOMP connector to $AMQ_INSTANCE_XML (layout changed?)"
		port_free "$AMQ_STOMP_PORT" || die "port $AMQ_STOMP_PORT is busy"
	fi
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
	log "starting ActiveMQ ${AMQ_BROKER_NAME:+$AMQ_BROKER_NAME }($what, data in $base/data)"
	(cd "$base" && exec java -Xms"$AMQ_HEAP" -Xmx"$AMQ_HEAP" "${java_opens[@]}" \
		-Dactivemq.classpath="$base/conf" -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$base" \
		-Dactivemq.conf="$base/conf" -Dactivemq.data="$base/data" -Djava.io.tmpdir="$base/tmp" \
		-jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$base/conf/activemq.xml" \
		>"$base/console.log" 2>&1) &
	SERVER_PIDS+=($!)
	local took
	if [[ -n "${AMQ_STOMP_PORT:-}" ]]; then
		took=$(wait_port "$AMQ_STOMP_PORT" ActiveMQ "$base/console.log")
		wait_port "$AMQ_OPENWIRE_PORT" ActiveMQ "$base/console.log" >/dev/null
	else
		took=$(wait_port "$AMQ_OPENWIRE_PORT" ActiveMQ "$base/console.log")
	fi
	log "ActiveMQ listening after ${took}s"
}
