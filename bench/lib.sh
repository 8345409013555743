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
# (keep the temp directory), DISK_PROBE_COUNT (records of disk_probe, default
# 3000), and for start_activemq AMQ_OPENWIRE_PORT,
# AMQ_STOMP_PORT (empty: no STOMP connector), AMQ_BROKER_NAME (empty: Debian's
# "localhost" in $WORK/activemq; else that brokerName in
# $WORK/activemq-NAME), AMQ_NETWORK_NAME and AMQ_NETWORK_URI (a network
# connector; empty: none), AMQ_HEAP (JVM heap, default 512M), AMQ_JDBC_URL
# (a jdbc:postgresql:// URL: the JDBC store instead of KahaDB; empty: KahaDB),
# AMQ_SSL_PORT, AMQ_KEYSTORE, AMQ_KEYSTORE_PASSWORD, AMQ_USERS,
# AMQ_AUTHORIZATION, AMQ_KAHADB_DIR, AMQ_LOCK_SLEEP_MS, AMQ_NO_WAIT,
# AMQ_LOG4J and AMQ_SCHEDULER (all off when unset; see start_activemq),
# for start_pier_broker PIER_SQL_DSN (a postgres:// DSN: store.kind sql;
# empty: the journal) and PIER_EXTRA_YAML (top-level YAML sections added to
# its configuration, e.g. limits), and for start_postgres PG_BIN (PostgreSQL's programs,
# default /usr/lib/postgresql/15/bin). start_mariadb and start_zookeeper run
# private servers from Debian's mariadb-server and zookeeper packages.

START_TIMEOUT=${START_TIMEOUT:-120}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-300}
AMQ_HEAP=${AMQ_HEAP:-512M}
AMQ_HOME=/usr/share/activemq
AMQ_INSTANCE_XML=/etc/activemq/instances-available/main/activemq.xml
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
PG_DATA=""
MARIA_PID=""
ZK_PID=""
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
	stop_postgres
	stop_mariadb
	stop_zookeeper
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

# disk_probe [overwrite] prints "SYNCS_PER_S CPU_US_PER_SYNC P50_US P99_US"
# from one `$PIER bench --disk $WORK --json` (DISK_PROBE_COUNT records of
# 1 KiB, each written and fdatasync'ed by one writer; default 3000): the
# disk's single-stream sync rate and the probe's own CPU time per sync;
# each - when the probe fails. Appending, or with "overwrite" into a
# zero-filled file, as Pier's journal and Raft log write.
disk_probe() {
	local out extra=()
	[[ "${1:-}" != overwrite ]] || extra=(--overwrite)
	if ! out=$("$PIER" bench --disk "$WORK" --json --count "${DISK_PROBE_COUNT:-3000}" "${extra[@]}" 2>"$WORK/disk-probe.err"); then
		log "disk probe FAILED:"
		sed 's/^/    /' "$WORK/disk-probe.err" >&2
		echo "- - - -"
		return 0
	fi
	awk -F': *' '{ gsub(/[ ",]/, "", $1); gsub(/[ ,]/, "", $2); v[$1] = $2 }
		function f(k, fmt) { return (k in v) ? sprintf(fmt, v[k]) : "-" }
		END { print f("syncs_per_sec", "%.0f"), f("cpu_us_per_sync", "%.1f"), f("p50_us", "%.0f"), f("p99_us", "%.0f") }' <<<"$out"
}

# disk_text "SYNCS_PER_S CPU_US_PER_SYNC P50_US P99_US" [MODE] (disk_probe's
# line and its mode, default append) prints it for people.
disk_text() {
	local f
	read -r -a f <<<"$1"
	printf '%s syncs/s, %s µs CPU per sync, p50 %s µs, p99 %s µs (pier bench --disk, 1 KiB, one writer, %s)' \
		"${f[0]:--}" "${f[1]:--}" "${f[2]:--}" "${f[3]:--}" "${2:-append}"
}

# disk_both prints the disk probe appending, then overwriting, as one line
# for people.
disk_both() {
	printf '%s; %s' "$(disk_text "$(disk_probe)")" "$(disk_text "$(disk_probe overwrite)" overwrite)"
}

# cpu_sum PID...: the sum of cpu_ms over the PIDs; - when one is gone.
cpu_sum() { sum_over cpu_ms "$@"; }

# sum_over FUNC PID...: the sum of `FUNC PID` (cpu_ms, rss_kb) over the
# PIDs; - when one is gone.
sum_over() {
	local fn=$1 pid v sum=0
	shift
	for pid in "$@"; do
		v=$("$fn" "$pid")
		[[ $v != - ]] || { echo -; return 0; }
		sum=$((sum + v))
	done
	echo "$sum"
}

# cpu_per_msg BEFORE AFTER MESSAGES: µs of CPU per message (one decimal)
# between two cpu_ms (or cpu_sum) readings; - when a reading is missing or
# no message got through.
cpu_per_msg() {
	awk -v b="$1" -v a="$2" -v n="$3" 'BEGIN {
		if (b ~ /^[0-9]+$/ && a ~ /^[0-9]+$/ && n ~ /^[0-9]+$/ && n > 0) printf "%.1f", (a - b) * 1000 / n; else print "-" }'
}

# ratio P A: P/A with two decimals, or - when either is not a number.
ratio() {
	awk -v p="$1" -v a="$2" 'BEGIN { if (a+0 > 0 && p ~ /^[0-9.]+$/) printf "%.2f", p / a; else print "-" }'
}

# start_pier_broker NAME PORT [CONNECTOR URI]: starts `pier serve` named NAME
# (its brokerName) with OpenWire only on 127.0.0.1:PORT, the journal store in
# $WORK/pier-NAME/data (with PIER_SQL_DSN: the SQL store on that PostgreSQL
# database) and, when given, one network connector CONNECTOR to URI (e.g.
# static:(tcp://127.0.0.1:61617)).
start_pier_broker() {
	local name=$1 port=$2 base="$WORK/pier-$1" what="OpenWire on 127.0.0.1:$2" store=journal
	[[ -z "${PIER_SQL_DSN:-}" ]] || store=sql
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
		  kind: $store
	EOF
	if [[ $store == sql ]]; then
		printf '  sql:\n    driver: postgres\n    dsn: "%s"\n' "$PIER_SQL_DSN" >>"$base/pier.yaml"
		what+=", SQL store on $PIER_SQL_DSN"
	fi
	[[ -z "${PIER_EXTRA_YAML:-}" ]] || printf '%s\n' "$PIER_EXTRA_YAML" >>"$base/pier.yaml"
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

# pier_bench_run WHAT OUT ERR ARGS...: one `pier bench --json ARGS...` through
# run_client into OUT (stderr into ERR, then echoed indented). A run that
# printed nothing leaves {}; a failed run, a shortfall (sent but not
# received) and a backlog (sending 20% faster than receiving) each append a
# note starting with WHAT to the caller's NOTES array.
pier_bench_run() {
	local what=$1 out=$2 err=$3 m
	shift 3
	if ! run_client "$out" "$err" "$PIER" bench --json "$@"; then
		log "$what FAILED:"
		NOTES+=("$what FAILED: $(tail -n 1 "$err")")
	fi
	[[ ! -s "$err" ]] || sed 's/^/    /' "$err" >&2
	[[ -s "$out" ]] || echo '{}' >"$out"
	read -r -a m <<<"$(metrics "$out")"
	[[ ${m[3]} == - || ${m[3]} == "${m[4]}" ]] || NOTES+=("$what: sent ${m[3]} but received ${m[4]}")
	[[ ${m[5]} == - ]] || ! awk -v s="${m[5]}" -v r="${m[0]}" 'BEGIN { exit !(s > 1.2 * r) }' ||
		NOTES+=("$what: producers sent ${m[5]} msg/s, consumers received ${m[0]} msg/s: a backlog built up, which the latencies include")
}

# install_debian PACKAGE: apt-get installs the Debian PACKAGE unless it is
# installed already (needs root then).
install_debian() {
	if dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; then
		return
	fi
	log "installing Debian's $1 package"
	[[ $(id -u) == 0 ]] || die "$1 is not installed and installing it needs root"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y "$1"
}

install_activemq() { install_debian activemq; }

# start_activemq writes a private instance (config, data, tmp) in
# $WORK/activemq and starts the broker with the same JVM options as Debian's
# /usr/bin/activemq. Debian's instance config opens only OpenWire on
# 127.0.0.1:61616; the copy moves it to AMQ_OPENWIRE_PORT and, unless
# AMQ_STOMP_PORT is empty, adds a STOMP connector there. With
# AMQ_BROKER_NAME it renames the broker and lives in $WORK/activemq-NAME
# (two can run at once); with AMQ_NETWORK_URI it adds a network connector
# named AMQ_NETWORK_NAME (default "network"), one-way (duplex="false"). Its
# default store (KahaDB with journal disk syncs) is kept unless AMQ_JDBC_URL
# is set: then a jdbcPersistenceAdapter on a commons-dbcp pool of 64
# connections to that PostgreSQL URL (user postgres), with Debian's
# /usr/share/java/postgresql.jar copied into the instance's lib/ (ActiveMQ
# loads $ACTIVEMQ_BASE/lib/*.jar; activemq.classpath does not reach the pool).
# Optional, each off when empty: AMQ_SSL_PORT adds an ssl:// connector with
# the JKS keystore AMQ_KEYSTORE (password AMQ_KEYSTORE_PASSWORD, default
# "password"); AMQ_USERS and AMQ_AUTHORIZATION add security (see
# amq_extra_xml); AMQ_KAHADB_DIR puts KahaDB there (a directory two brokers
# share: the one holding its lock is master, the other waits as slave,
# trying the lock every AMQ_LOCK_SLEEP_MS, ActiveMQ's default 10 s when
# empty); AMQ_NO_WAIT=1 returns without waiting for the ports (a slave
# opens them only when it becomes master); AMQ_LOG4J=1 has the broker log at
# INFO level to its console.log (Debian's broker runs log4j 1.2, for which
# the package ships no configuration, so by default it logs nothing);
# AMQ_SCHEDULER=1 sets schedulerSupport="true" on <broker> (the scheduler's
# KahaDB store in data/BROKERNAME/scheduler).
start_activemq() {
	local base="$WORK/activemq${AMQ_BROKER_NAME:+-$AMQ_BROKER_NAME}" connectors what network="" pgds=""
	mkdir -p "$base/conf"
	[[ -r "$AMQ_INSTANCE_XML" ]] || die "missing $AMQ_INSTANCE_XML"
	connectors="<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:$AMQ_OPENWIRE_PORT\"/>"
	what="OpenWire on 127.0.0.1:$AMQ_OPENWIRE_PORT"
	if [[ -n "${AMQ_STOMP_PORT:-}" ]]; then
		connectors+="\n            <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:$AMQ_STOMP_PORT\"/>"
		what="STOMP on 127.0.0.1:$AMQ_STOMP_PORT, OpenWire on $AMQ_OPENWIRE_PORT"
	fi
	if [[ -n "${AMQ_SSL_PORT:-}" ]]; then
		[[ -r "${AMQ_KEYSTORE:-}" ]] || die "AMQ_SSL_PORT needs AMQ_KEYSTORE, a readable JKS keystore"
		connectors+="\n            <transportConnector name=\"ssl\" uri=\"ssl://127.0.0.1:$AMQ_SSL_PORT\"/>"
		what+=", ssl:// on $AMQ_SSL_PORT"
	fi
	if [[ -n "${AMQ_NETWORK_URI:-}" ]]; then
		network="<networkConnectors><networkConnector name=\"${AMQ_NETWORK_NAME:-network}\" uri=\"$AMQ_NETWORK_URI\" duplex=\"false\"/></networkConnectors>\n        "
		what+=", network connector to $AMQ_NETWORK_URI"
	fi
	if [[ -n "${AMQ_JDBC_URL:-}" ]]; then
		[[ -r /usr/share/java/postgresql.jar ]] ||
			die "missing /usr/share/java/postgresql.jar (apt-get install libpostgresql-jdbc-java)"
		mkdir -p "$base/lib"
		cp /usr/share/java/postgresql.jar "$base/lib/"
		pgds="<bean id=\"pgds\" class=\"org.apache.commons.dbcp.BasicDataSource\" destroy-method=\"close\"><property name=\"driverClassName\" value=\"org.postgresql.Driver\"/><property name=\"url\" value=\"$AMQ_JDBC_URL\"/><property name=\"username\" value=\"postgres\"/><property name=\"maxActive\" value=\"64\"/><property name=\"poolPreparedStatements\" value=\"true\"/></bean>\n    "
		what+=", JDBC store on $AMQ_JDBC_URL"
	fi
	sed -e "s#<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:61616\"/>#$connectors#" \
		-e "s#<transportConnectors>#$network<transportConnectors>#" \
		-e "s#brokerName=\"localhost\"#brokerName=\"${AMQ_BROKER_NAME:-localhost}\"#" \
		-e 's#\${activemq.base}/data#${activemq.data}#g' \
		"$AMQ_INSTANCE_XML" >"$base/conf/activemq.xml"
	if [[ -n "$pgds" ]]; then
		sed -i -e "s#<kahaDB directory=\"[^\"]*\"/>#<jdbcPersistenceAdapter dataSource=\"\#pgds\"/>#" \
			-e "s#^\\( *\\)<broker #\\1$pgds<broker #" "$base/conf/activemq.xml"
		if ! grep -q '<jdbcPersistenceAdapter dataSource="#pgds"/>' "$base/conf/activemq.xml" ||
			! grep -q '<bean id="pgds"' "$base/conf/activemq.xml"; then
			die "could not switch $AMQ_INSTANCE_XML to the JDBC store (layout changed?)"
		fi
	fi
	amq_extra_xml "$base/conf/extra.xml"
	if [[ -s "$base/conf/extra.xml" ]]; then
		awk -v f="$base/conf/extra.xml" '/<transportConnectors>/ { while ((getline l < f) > 0) print l } { print }' \
			"$base/conf/activemq.xml" >"$base/conf/activemq.xml.new"
		mv "$base/conf/activemq.xml.new" "$base/conf/activemq.xml"
		[[ -z "${AMQ_USERS:-}" ]] || what+=", users from $AMQ_USERS"
		[[ -z "${AMQ_AUTHORIZATION:-}" ]] || what+=", authorization from $AMQ_AUTHORIZATION"
	else
		rm -f "$base/conf/extra.xml"
	fi
	if [[ "${AMQ_SCHEDULER:-0}" == 1 ]]; then
		sed -i 's#<broker #<broker schedulerSupport="true" #' "$base/conf/activemq.xml"
		grep -q '<broker schedulerSupport="true" ' "$base/conf/activemq.xml" ||
			die "could not set schedulerSupport in $AMQ_INSTANCE_XML (layout changed?)"
		what+=", scheduler"
	fi
	if [[ -n "${AMQ_KAHADB_DIR:-}" ]]; then
		local locker=""
		[[ -z "${AMQ_LOCK_SLEEP_MS:-}" ]] ||
			locker="<locker><shared-file-locker lockAcquireSleepInterval=\"$AMQ_LOCK_SLEEP_MS\"/></locker>"
		sed -i "s#<kahaDB directory=\"[^\"]*\"/>#<kahaDB directory=\"$AMQ_KAHADB_DIR\">$locker</kahaDB>#" \
			"$base/conf/activemq.xml"
		grep -q "<kahaDB directory=\"$AMQ_KAHADB_DIR\">" "$base/conf/activemq.xml" ||
			die "could not move KahaDB to $AMQ_KAHADB_DIR in $AMQ_INSTANCE_XML (layout changed?)"
		what+=", KahaDB in $AMQ_KAHADB_DIR"
	fi
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
	[[ -z "${AMQ_SSL_PORT:-}" ]] || port_free "$AMQ_SSL_PORT" || die "port $AMQ_SSL_PORT is busy"
	log "starting ActiveMQ ${AMQ_BROKER_NAME:+$AMQ_BROKER_NAME }($what, data in $base/data)"
	launch_activemq "$base" "$base/conf/activemq.xml"
	if [[ "${AMQ_NO_WAIT:-0}" == 1 ]]; then
		log "ActiveMQ started (pid ${SERVER_PIDS[-1]}), not waiting for its ports"
		return 0
	fi
	local took
	[[ -z "${AMQ_SSL_PORT:-}" ]] || wait_port "$AMQ_SSL_PORT" ActiveMQ "$base/console.log" >/dev/null
	if [[ -n "${AMQ_STOMP_PORT:-}" ]]; then
		took=$(wait_port "$AMQ_STOMP_PORT" ActiveMQ "$base/console.log")
		wait_port "$AMQ_OPENWIRE_PORT" ActiveMQ "$base/console.log" >/dev/null
	else
		took=$(wait_port "$AMQ_OPENWIRE_PORT" ActiveMQ "$base/console.log")
	fi
	log "ActiveMQ listening after ${took}s"
}

# launch_activemq BASE XML [DATA]: starts ActiveMQ's broker JVM in the
# background on the Spring file XML, with the JVM options of Debian's
# /usr/bin/activemq (heap AMQ_HEAP) and its properties: activemq.base BASE
# (ActiveMQ loads BASE/lib/*.jar), activemq.conf and activemq.classpath the
# directory of XML (Debian's log4j2.properties copied there; with
# AMQ_LOG4J=1 a log4j.properties logging INFO to the console),
# activemq.data DATA (default BASE/data), java.io.tmpdir BASE/tmp. Its
# output goes to BASE/console.log; the process execs java, so the pid
# appended to SERVER_PIDS is the JVM's.
launch_activemq() {
	local base=$1 xml=$2 conf data=${3:-$1/data}
	conf=$(dirname "$xml")
	mkdir -p "$base/tmp" "$data"
	cp /etc/activemq/instances-available/main/log4j2.properties "$conf/" 2>/dev/null || true
	if [[ "${AMQ_LOG4J:-0}" == 1 ]]; then
		printf '%s\n' 'log4j.rootLogger=INFO, out' 'log4j.appender.out=org.apache.log4j.ConsoleAppender' \
			'log4j.appender.out.layout=org.apache.log4j.PatternLayout' \
			'log4j.appender.out.layout.ConversionPattern=%d %-5p %m%n' >"$conf/log4j.properties"
	fi
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
	(cd "$base" && exec java -Xms"$AMQ_HEAP" -Xmx"$AMQ_HEAP" "${java_opens[@]}" \
		-Dactivemq.classpath="$conf" -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$base" \
		-Dactivemq.conf="$conf" -Dactivemq.data="$data" -Djava.io.tmpdir="$base/tmp" \
		-jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$xml" \
		>"$base/console.log" 2>&1) &
	SERVER_PIDS+=($!)
}

# amq_pid prints the pid of ActiveMQ's broker JVM, the last server started:
# start_activemq execs java in the process whose pid it records, so cpu_ms
# of that pid is the broker's. It dies when that process is not java.
amq_pid() {
	local pid=${SERVER_PIDS[-1]} comm
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || die "ActiveMQ (pid $pid) is gone"
	[[ $comm == java ]] || die "ActiveMQ's recorded pid $pid runs $comm, not java: its CPU would not be the broker's"
	echo "$pid"
}

# amq_extra_xml OUT writes what start_activemq adds inside <broker>, before
# its transport connectors: <plugins> for AMQ_USERS and AMQ_AUTHORIZATION,
# <sslContext> for AMQ_SSL_PORT; OUT stays empty when none is set.
# AMQ_USERS is a file of "name password group[,group...]" lines, for a
# simpleAuthenticationPlugin without anonymous access (plain-text
# passwords, as ActiveMQ keeps them); AMQ_AUTHORIZATION a file of
# "queue|topic PATTERN READ WRITE ADMIN" lines, each of the last three a
# comma-separated list of groups, and at most one "temp - READ WRITE ADMIN"
# line for temporary destinations, for an authorizationPlugin. Nothing is
# XML-escaped: names, passwords and patterns must not contain & < > ".
amq_extra_xml() {
	local out=$1
	: >"$out"
	if [[ -n "${AMQ_USERS:-}${AMQ_AUTHORIZATION:-}" ]]; then
		echo '        <plugins>' >>"$out"
		if [[ -n "${AMQ_USERS:-}" ]]; then
			[[ -r "$AMQ_USERS" ]] || die "AMQ_USERS=$AMQ_USERS is not readable"
			awk 'BEGIN { print "            <simpleAuthenticationPlugin anonymousAccessAllowed=\"false\"><users>" }
				NF >= 3 { printf "                <authenticationUser username=\"%s\" password=\"%s\" groups=\"%s\"/>\n", $1, $2, $3 }
				END { print "            </users></simpleAuthenticationPlugin>" }' "$AMQ_USERS" >>"$out"
		fi
		if [[ -n "${AMQ_AUTHORIZATION:-}" ]]; then
			[[ -r "$AMQ_AUTHORIZATION" ]] || die "AMQ_AUTHORIZATION=$AMQ_AUTHORIZATION is not readable"
			awk 'BEGIN { print "            <authorizationPlugin><map><authorizationMap>"; print "                <authorizationEntries>" }
				($1 == "queue" || $1 == "topic") && NF == 5 {
					printf "                    <authorizationEntry %s=\"%s\" read=\"%s\" write=\"%s\" admin=\"%s\"/>\n", $1, $2, $3, $4, $5 }
				$1 == "temp" && NF == 5 { temp = sprintf("read=\"%s\" write=\"%s\" admin=\"%s\"", $3, $4, $5) }
				END {
					print "                </authorizationEntries>"
					if (temp != "") printf "                <tempDestinationAuthorizationEntry><tempDestinationAuthorizationEntry %s/></tempDestinationAuthorizationEntry>\n", temp
					print "            </authorizationMap></map></authorizationPlugin>"
				}' "$AMQ_AUTHORIZATION" >>"$out"
		fi
		echo '        </plugins>' >>"$out"
	fi
	if [[ -n "${AMQ_SSL_PORT:-}" ]]; then
		printf '        <sslContext><sslContext keyStore="file:%s" keyStorePassword="%s"/></sslContext>\n' \
			"$AMQ_KEYSTORE" "${AMQ_KEYSTORE_PASSWORD:-password}" >>"$out"
	fi
}

# cpu_ms PID prints the CPU time (user + system, all threads) process PID
# has used so far, in ms, from /proc/PID/stat; - when it is gone.
cpu_ms() {
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo -; return 0; }
	read -r -a f <<<"${stat##*) }" # fields from the 3rd on: the name may hold spaces
	awk -v u="${f[11]}" -v s="${f[12]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", (u + s) * 1000 / hz }'
}

# rss_kb PID prints the resident set size (VmRSS of /proc/PID/status) of
# process PID in KiB; - when it is gone.
rss_kb() {
	local v
	v=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null) || true
	echo "${v:--}"
}

# wait_log FILE PATTERN NAME [PID]: waits until FILE has a line matching the
# extended regular expression PATTERN while PID (default: the last server
# started) runs; prints the seconds taken.
wait_log() {
	local file=$1 pattern=$2 name=$3 pid=${4:-${SERVER_PIDS[-1]}} start=$SECONDS
	for _ in $(seq 1 $((START_TIMEOUT * 4))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$file" >&2 || true
			die "$name exited during start-up (log: $file)"
		fi
		if grep -Eq "$pattern" "$file" 2>/dev/null; then
			echo $((SECONDS - start))
			return 0
		fi
		sleep 0.25
	done
	tail -n 30 "$file" >&2 || true
	die "$name did not log /$pattern/ within ${START_TIMEOUT}s (log: $file)"
}

# start_postgres PORT DB...: initdb's a private PostgreSQL (trust, user
# postgres) in $WORK/pg/data, owned by postgres, starts it on 127.0.0.1:PORT
# with its socket in $WORK/pg and creates each DB; cleanup stops it.
start_postgres() {
	local port=$1 db
	shift
	[[ -x "$PG_BIN/initdb" ]] || die "missing $PG_BIN/initdb (apt-get install postgresql, or set PG_BIN)"
	[[ $(id -u) == 0 ]] || die "start_postgres runs PostgreSQL as the user postgres and needs root"
	port_free "$port" || die "port $port is busy"
	chmod o+x "$WORK"
	mkdir -p "$WORK/pg/data"
	chown -R postgres: "$WORK/pg"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U postgres >"$WORK/pg/initdb.log" 2>&1 ||
		die "initdb failed (log: $WORK/pg/initdb.log)"
	log "starting PostgreSQL on 127.0.0.1:$port (data in $WORK/pg/data)"
	PG_DATA="$WORK/pg/data"
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -l "$WORK/pg/log" \
		-o "-p $port -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null ||
		die "PostgreSQL did not start (log: $WORK/pg/log)"
	for db in "$@"; do
		"$PG_BIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $db" ||
			die "could not create database $db"
	done
}

# stop_postgres stops what start_postgres started, if anything.
stop_postgres() {
	[[ -n "$PG_DATA" ]] || return 0
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true
	PG_DATA=""
}

# start_mariadb PORT DB...: a private MariaDB (Debian's mariadb-server) in
# $WORK/maria: mariadb-install-db's data directory (root without a password,
# as the user mysql when we are root), mariadbd on 127.0.0.1:PORT with its
# socket there, and each DB created; cleanup stops it.
start_mariadb() {
	local port=$1 dir="$WORK/maria" run_as=() db
	shift
	[[ -x /usr/sbin/mariadbd ]] || die "missing /usr/sbin/mariadbd (apt-get install mariadb-server)"
	port_free "$port" || die "port $port is busy"
	mkdir -p "$dir"
	if [[ $(id -u) == 0 ]]; then
		chmod o+x "$WORK"
		chown mysql: "$dir"
		run_as=(--user=mysql)
	fi
	mariadb-install-db --no-defaults "${run_as[@]}" --datadir="$dir/data" --auth-root-authentication-method=normal \
		--skip-test-db >"$dir/install.log" 2>&1 || die "mariadb-install-db failed (log: $dir/install.log)"
	log "starting MariaDB on 127.0.0.1:$port (data in $dir/data)"
	/usr/sbin/mariadbd --no-defaults "${run_as[@]}" --datadir="$dir/data" --socket="$dir/sock" \
		--pid-file="$dir/pid" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve >"$dir/log" 2>&1 &
	MARIA_PID=$!
	wait_port "$port" MariaDB "$dir/log" "$MARIA_PID" >/dev/null
	for db in "$@"; do
		mariadb_sql "$port" "CREATE DATABASE $db" || die "could not create database $db"
	done
}

# mariadb_sql PORT SQL: runs SQL as root on the MariaDB at 127.0.0.1:PORT.
mariadb_sql() {
	mariadb --no-defaults -h 127.0.0.1 -P "$1" -u root -e "$2"
}

# stop_mariadb stops what start_mariadb started, if anything.
stop_mariadb() {
	[[ -n "$MARIA_PID" ]] || return 0
	kill -TERM "$MARIA_PID" 2>/dev/null || true
	for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
		kill -0 "$MARIA_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$MARIA_PID" 2>/dev/null || true
	wait "$MARIA_PID" 2>/dev/null || true
	MARIA_PID=""
}

# start_zookeeper PORT: a private standalone ZooKeeper (Debian's zookeeper
# package, ZooKeeperServerMain from /usr/share/java/zookeeper.jar, whose
# manifest names its dependencies, as internal/zktest runs it) on
# 127.0.0.1:PORT with its configuration, data and log in a fresh
# $WORK/zookeeper; stop_zookeeper (and cleanup) stops it.
start_zookeeper() {
	local port=$1 dir="$WORK/zookeeper"
	[[ -r /usr/share/java/zookeeper.jar ]] || die "missing /usr/share/java/zookeeper.jar (apt-get install zookeeper)"
	port_free "$port" || die "port $port is busy"
	rm -rf "$dir"
	mkdir -p "$dir/data"
	printf '%s\n' tickTime=2000 "dataDir=$dir/data" "clientPort=$port" clientPortAddress=127.0.0.1 \
		maxClientCnxns=0 admin.enableServer=false >"$dir/zoo.cfg"
	java -Xmx128m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
		org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >"$dir/log" 2>&1 &
	ZK_PID=$!
	wait_port "$port" ZooKeeper "$dir/log" "$ZK_PID" >/dev/null
	log "ZooKeeper on 127.0.0.1:$port (data in $dir/data)"
}

# stop_zookeeper kills what start_zookeeper started, if anything.
stop_zookeeper() {
	[[ -n "$ZK_PID" ]] || return 0
	kill -KILL "$ZK_PID" 2>/dev/null || true
	wait "$ZK_PID" 2>/dev/null || true
	ZK_PID=""
}

# A replicated group of three on 127.0.0.1, for the scripts that run one.
# The caller sets REPLICAS (the node ids, e.g. (a b c)), GROUP_OPENWIRE_BASE,
# GROUP_RAFT_BASE and GROUP_CONSOLE_BASE (replica I uses base+I+1) and
# GROUP_ELECTION_TIMEOUT (empty: the store's default); the functions set
# MASTER (index into REPLICAS), BENCH_PORT (its OpenWire port), MISSING
# and LAST_RUN, and start the replicas into SERVER_PIDS in REPLICAS' order.

# replica_config I: the YAML of replica REPLICAS[I] (ports base+I+1).
replica_config() {
	local i=$1 j base="$WORK/pier-group/${REPLICAS[$1]}"
	cat <<-EOF
		broker:
		  name: bench-group
		  data_dir: $base/data
		transports:
		  openwire: tcp://127.0.0.1:$((GROUP_OPENWIRE_BASE + i + 1))
		  stomp: ""
		  mqtt: ""
		  ws: ""
		  amqp: ""
		console:
		  listen: 127.0.0.1:$((GROUP_CONSOLE_BASE + i + 1))
		store:
		  kind: replicated
		  replicated:
		    node_id: ${REPLICAS[i]}
		    bind: tcp://127.0.0.1:$((GROUP_RAFT_BASE + i + 1))
	EOF
	[[ -z "$GROUP_ELECTION_TIMEOUT" ]] || printf '    election_timeout: %s\n' "$GROUP_ELECTION_TIMEOUT"
	printf '    peers:\n'
	for j in "${!REPLICAS[@]}"; do
		printf '      %s: tcp://127.0.0.1:%d\n' "${REPLICAS[j]}" $((GROUP_RAFT_BASE + j + 1))
	done
}

# readyz I: the HTTP status of replica I's /readyz (000: no answer).
readyz() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		"http://127.0.0.1:$((GROUP_CONSOLE_BASE + $1 + 1))/readyz" || true
}

# start_group starts the three replicas and waits for a master.
start_group() {
	local i base port
	for i in "${!REPLICAS[@]}"; do
		for port in $((GROUP_OPENWIRE_BASE + i + 1)) $((GROUP_RAFT_BASE + i + 1)) $((GROUP_CONSOLE_BASE + i + 1)); do
			port_free "$port" || die "port $port is busy"
		done
	done
	for i in "${!REPLICAS[@]}"; do
		base="$WORK/pier-group/${REPLICAS[i]}"
		mkdir -p "$base/data"
		replica_config "$i" >"$base/pier.yaml"
		"$PIER" serve --config "$base/pier.yaml" >"$base/serve.log" 2>&1 &
		SERVER_PIDS+=($!)
	done
	log "started replicas ${REPLICAS[*]} (OpenWire on 127.0.0.1:$((GROUP_OPENWIRE_BASE + 1))-$((GROUP_OPENWIRE_BASE + 3)), consoles on $((GROUP_CONSOLE_BASE + 1))-$((GROUP_CONSOLE_BASE + 3)), data in $WORK/pier-group)"
	LAST_RUN="the election"
	find_master || die "$MISSING"
}

# find_master [GONE] waits until a replica's /readyz answers 200 and its
# OpenWire port listens, and sets MASTER and BENCH_PORT; or it sets MISSING
# to why not (a replica exited, no master within START_TIMEOUT) and fails.
# Replica GONE (an index, e.g. a master killed on purpose) is not asked.
find_master() {
	local i base start=$SECONDS gone=${1:--1}
	MASTER=""
	while :; do
		for i in "${!REPLICAS[@]}"; do
			((i != gone)) || continue
			base="$WORK/pier-group/${REPLICAS[i]}"
			if ! kill -0 "${SERVER_PIDS[i]}" 2>/dev/null; then
				tail -n 30 "$base/serve.log" >&2 || true
				MISSING="replica ${REPLICAS[i]} exited (log: $base/serve.log)"
				return 1
			fi
			[[ $(readyz "$i") != 200 ]] || MASTER=$i
		done
		[[ -z "$MASTER" ]] || break
		if ((SECONDS - start >= START_TIMEOUT)); then
			MISSING="no master within ${START_TIMEOUT}s (logs in $WORK/pier-group)"
			return 1
		fi
		sleep 0.25
	done
	BENCH_PORT=$((GROUP_OPENWIRE_BASE + MASTER + 1))
	wait_port "$BENCH_PORT" "replica ${REPLICAS[MASTER]}" "$WORK/pier-group/${REPLICAS[MASTER]}/serve.log" \
		"${SERVER_PIDS[MASTER]}" >/dev/null
	log "replica ${REPLICAS[MASTER]} is master (after $((SECONDS - start))s)"
}
