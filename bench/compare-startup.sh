#!/usr/bin/env bash
# Start-up of Pier and ActiveMQ 5.17 (Debian's `activemq` package) on the
# same activemq.xml, side by side, for each of the seed's three set-ups, on
# this machine over loopback. The script writes the files (the seed's
# elements and attributes, as in internal/amqxml/testdata/, on
# 127.0.0.1 and the ports below, data in the temp directory) and starts each
# broker on them: Pier with `pier serve --config FILE --console HOST:PORT`
# (ACTIVEMQ_DATA and ACTIVEMQ_CONF in its environment, as ActiveMQ's start
# script sets them), ActiveMQ with `java -jar activemq.jar start
# xbean:file:FILE` and the JVM options of Debian's /usr/bin/activemq
# (launch_activemq in bench/lib.sh; it logs at INFO, AMQ_LOG4J=1). Every run
# starts from empty data: a fresh directory, database or ZooKeeper.
#
#   1. kahadb: two members on one shared KahaDB directory. The first
#      member's start until its OpenWire port accepts ("first member");
#      then the second is started and waits as slave (until it logs so),
#      the first is killed with SIGKILL, and the time until the second's
#      OpenWire port accepts ("takeover after kill -9"). ActiveMQ's
#      shared-file-locker tries the lock every 10 s (lockAcquireSleepInterval,
#      not set in the file, as in the seed), Pier's shared directory every
#      1 s.
#   2. jdbc: a jdbcPersistenceAdapter over a commons-dbcp BasicDataSource on
#      a private MariaDB (start_mariadb in bench/lib.sh), database dropped
#      and made again before each run; the one member's start until its
#      OpenWire port accepts, the tables made by each broker on its start
#      included. The URL is the seed's jdbc:mysql: (Debian's
#      libmariadb-java, MariaDB Connector/J 2.7, accepts it; 3.x would need
#      permitMysqlScheme) with org.mariadb.jdbc.Driver instead of the seed's
#      com.mysql.jdbc.Driver, which no Debian package has, and
#      <adapter><mysql-jdbc-adapter/></adapter>, which ActiveMQ picks by
#      itself for the seed's driver (Pier warns that it keeps its own
#      tables). The driver jar goes into the instance's lib/, as
#      start_activemq does for postgresql.jar; the script installs the
#      package when it is missing. The file has no <systemUsage>, as the
#      seed's JDBC fragment: with a <storeUsage limit> `pier serve` refuses
#      it (the import sets store.journal.max_size beside store.kind: sql).
#   3. leveldb: a replicatedLevelDB trio (replicas="3", bind, zkAddress,
#      zkPath, hostname) with a private ZooKeeper (start_zookeeper), all
#      three started at once, until one member's console /readyz answers 200
#      and its OpenWire port accepts (find_master in bench/lib.sh, which
#      polls every 0.25 s). ActiveMQ 5.17 no longer ships the LevelDB store
#      (/usr/share/activemq/lib has no activemq-leveldb-store.jar): the
#      script starts the first member on the same file once, for up to
#      AMQ_FAIL_TIMEOUT seconds, and reports what it did (the error line it
#      logged), not a time. A Pier without ZooKeeper discovery (`pier
#      serve` exits: node id "" is not one of the peers), or any member
#      that exits, is reported the same way, with Pier's error.
#
# "Serving" is polled every POLL seconds (default 0.02) with a TCP connect
# to 127.0.0.1:PORT; at that moment the script reads the broker process's
# CPU time (user + system, all threads, /proc/PID/stat: for ActiveMQ its
# broker JVM, from its own start) and its RSS (VmRSS). For the takeover the
# CPU is the second member's from the kill on; for the trio both are sums
# over its three processes. /proc counts CPU in clock ticks (usually
# 10 ms). Pier serves its console too (--console), ActiveMQ has none here
# (no jetty.xml import). Each case runs RUNS times, the brokers taking
# turns; the table gives the median and the range of the time, and the
# medians of CPU and RSS.
#
# Usage: bench/compare-startup.sh   (as root: may apt-get install activemq
#   and libmariadb-java; MariaDB runs as the user mysql)
# Environment: RUNS (5), CASES (default "kahadb jdbc leveldb"), POLL (0.02),
#   AMQ_FAIL_TIMEOUT (60 s), SKIP_AMQ=1, SKIP_PIER=1, PIER_BIN (a prebuilt
#   pier instead of `go build`), KEEP_WORK=1 (keep the temp dir with the
#   files and logs), START_TIMEOUT (120 s), STOP_TIMEOUT (10 s), AMQ_HEAP
#   (512M), ports KAHADB_PORT (61701; the second member +1), JDBC_PORT
#   (61711), GROUP_OPENWIRE_BASE (61720: members +1..+3), GROUP_RAFT_BASE
#   (62720, their bind), GROUP_CONSOLE_BASE (8290: Pier's consoles of the
#   trio), CONSOLE_BASE (8270: Pier's consoles of kahadb +1, +2 and jdbc
#   +3), MARIADB_PORT (63306), ZK_PORT (62181). Shared functions:
#   bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
CASES=${CASES:-kahadb jdbc leveldb}
POLL=${POLL:-0.02}
AMQ_FAIL_TIMEOUT=${AMQ_FAIL_TIMEOUT:-60}
KAHADB_PORT=${KAHADB_PORT:-61701}
JDBC_PORT=${JDBC_PORT:-61711}
GROUP_OPENWIRE_BASE=${GROUP_OPENWIRE_BASE:-61720}
GROUP_RAFT_BASE=${GROUP_RAFT_BASE:-62720}
GROUP_CONSOLE_BASE=${GROUP_CONSOLE_BASE:-8290}
CONSOLE_BASE=${CONSOLE_BASE:-8270}
MARIADB_PORT=${MARIADB_PORT:-63306}
ZK_PORT=${ZK_PORT:-62181}
MARIADB_JAR=/usr/share/java/mariadb-java-client.jar
REPLICAS=(a b c) # the trio, for find_master
MASTER=""
BENCH_PORT=""
MISSING=""
NOTES=()
declare -A LABELS=([pier]=Pier [amq]=ActiveMQ)

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-startup
mkdir -p "$WORK/r" "$WORK/xml" "$WORK/data" "$WORK/logs"

# write_xml CASE MEMBER PORT ADAPTER [BEANS]: $WORK/xml/CASE/MEMBER/activemq.xml,
# the seed's broker with OpenWire on 127.0.0.1:PORT, the persistence adapter
# ADAPTER (for kahadb with <systemUsage> limits too) and the top-level
# BEANS, and the credentials.properties it loads from ${activemq.conf}
# beside it.
write_xml() {
	local dir="$WORK/xml/$1/$2" usage=""
	mkdir -p "$dir"
	# The seed's kahaDB set-up has limits, as ActiveMQ's default file.
	[[ $1 != kahadb ]] || usage='<systemUsage>
            <systemUsage>
                <memoryUsage>
                    <memoryUsage percentOfJvmHeap="70"/>
                </memoryUsage>
                <storeUsage>
                    <storeUsage limit="1 gb"/>
                </storeUsage>
                <tempUsage>
                    <tempUsage limit="1 gb"/>
                </tempUsage>
            </systemUsage>
        </systemUsage>
        '
	printf '%s\n' activemq.username=system activemq.password=manager >"$dir/credentials.properties"
	cat >"$dir/activemq.xml" <<-EOF
		<?xml version="1.0" encoding="UTF-8"?>
		<!-- compare-startup.sh: the seed's $1 set-up, member $2. -->
		<beans xmlns="http://www.springframework.org/schema/beans"
		       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
		       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
		       http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">

		    <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer">
		        <property name="locations">
		            <value>file:\${activemq.conf}/credentials.properties</value>
		        </property>
		    </bean>

		    <broker xmlns="http://activemq.apache.org/schema/core" brokerName="DobboEdu" dataDirectory="\${activemq.data}">
		        <managementContext>
		            <managementContext createConnector="false"/>
		        </managementContext>
		        <persistenceAdapter>
		            $4
		        </persistenceAdapter>
		        $usage<transportConnectors>
		            <transportConnector name="openwire" uri="tcp://127.0.0.1:$3?maximumConnections=1000&amp;wireFormat.maxFrameSize=104857600"/>
		        </transportConnectors>
		        <shutdownHooks>
		            <bean xmlns="http://www.springframework.org/schema/beans" class="org.apache.activemq.hooks.SpringContextHook"/>
		        </shutdownHooks>
		    </broker>
		${5:-}
		</beans>
	EOF
}

# write_files writes every member's file; ${...} stays for the brokers.
# shellcheck disable=SC2016
write_files() {
	local i
	write_xml kahadb a "$KAHADB_PORT" '<kahaDB directory="${activemq.data}/kahadb"/>'
	write_xml kahadb b $((KAHADB_PORT + 1)) '<kahaDB directory="${activemq.data}/kahadb"/>'
	write_xml jdbc a "$JDBC_PORT" '<jdbcPersistenceAdapter dataDirectory="${activemq.data}" dataSource="#mysql-ds">
                <adapter><mysql-jdbc-adapter/></adapter>
            </jdbcPersistenceAdapter>' "    <bean id=\"mysql-ds\" class=\"org.apache.commons.dbcp.BasicDataSource\" destroy-method=\"close\">
        <property name=\"driverClassName\" value=\"org.mariadb.jdbc.Driver\"/>
        <property name=\"url\" value=\"jdbc:mysql://127.0.0.1:$MARIADB_PORT/smq?relaxAutoCommit=true\"/>
        <property name=\"username\" value=\"root\"/>
        <property name=\"password\" value=\"\"/>
        <property name=\"maxActive\" value=\"20\"/>
        <property name=\"poolPreparedStatements\" value=\"true\"/>
    </bean>"
	for i in "${!REPLICAS[@]}"; do
		write_xml leveldb "${REPLICAS[i]}" $((GROUP_OPENWIRE_BASE + i + 1)) "<replicatedLevelDB
                directory=\"\${activemq.data}/leveldb\"
                replicas=\"3\"
                bind=\"tcp://127.0.0.1:$((GROUP_RAFT_BASE + i + 1))\"
                zkAddress=\"127.0.0.1:$ZK_PORT\"
                hostname=\"127.0.0.1\"
                zkPath=\"/activemq1/leveldb-stores\"/>"
	done
}

# now prints the time in seconds (EPOCHREALTIME, µs).
now() { echo "$EPOCHREALTIME"; }

# since T0: seconds from T0 (a now) until now, with three decimals.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# serving PORT PID T0 NAME LOG [LIMIT]: waits, polling every POLL s for up
# to LIMIT s (default START_TIMEOUT) from T0, until 127.0.0.1:PORT accepts
# while PID runs, and prints "SECONDS CPU_MS RSS_KB": seconds since T0,
# PID's CPU and RSS then. When PID exits first or the time runs out it
# prints why (with LOG's error line, see error_line) and fails.
serving() {
	local port=$1 pid=$2 t0=$3 name=$4 logfile=$5 limit=${6:-$START_TIMEOUT} secs
	while :; do
		if ! port_free "$port"; then
			secs=$(since "$t0")
			echo "$secs $(cpu_ms "$pid") $(rss_kb "$pid")"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$name exited: $(error_line "$logfile")"
			return 1
		fi
		if awk -v s="$(since "$t0")" -v m="$limit" 'BEGIN { exit !(s > m) }'; then
			echo "$name did not serve on 127.0.0.1:$port within ${limit}s: $(error_line "$logfile")"
			return 1
		fi
		sleep "$POLL"
	done
}

# error_line LOG: the line of LOG that says best why a broker stopped:
# ActiveMQ's last "Caused by:", else the last ERROR line, else the last
# line (pier serve's error), at most 240 characters and without the
# list of elements an XML schema error goes on with.
error_line() {
	local l
	l=$(grep -E '^Caused by:' "$1" 2>/dev/null | tail -n 1) ||
		l=$(grep -E 'ERROR' "$1" 2>/dev/null | tail -n 1) ||
		l=$(tail -n 1 "$1" 2>/dev/null) || true
	l=${l%% One of \'*} # the list of what a schema would have accepted
	printf '%s' "${l:0:240}"
}

# record CASE BROKER RESULT: appends a serving line to $WORK/r/CASE.BROKER,
# or keeps a failure's reason in $WORK/r/CASE.BROKER.fail and logs it.
record() {
	local file="$WORK/r/$1.$2"
	if [[ $3 =~ ^[0-9.]+\ [0-9-]+\ [0-9-]+$ ]]; then
		echo "$3" >>"$file"
		log "  $1 ${LABELS[$2]}: $3 (s, CPU ms, RSS KiB)"
	else
		echo "$3" >"$file.fail"
		log "  $1 ${LABELS[$2]} FAILED: $3"
	fi
}

# start_member BROKER CASE MEMBER [CONSOLE]: starts BROKER (pier or amq) on
# $WORK/xml/CASE/MEMBER/activemq.xml, ${activemq.data} in
# $WORK/data/CASE[-MEMBER] (shared by the kahadb members), Pier's console on
# 127.0.0.1:CONSOLE; its pid goes into SERVER_PIDS, its log path into
# MEMBER_LOG.
start_member() {
	local who=$1 case=$2 member=$3 console=${4:-} xml="$WORK/xml/$2/$3/activemq.xml" data="$WORK/data/$2"
	[[ $case == kahadb ]] || data+="-$member"
	mkdir -p "$data"
	if [[ $who == pier ]]; then
		MEMBER_LOG="$WORK/logs/$case-$member.pier.log"
		[[ $case != leveldb ]] || MEMBER_LOG="$WORK/pier-group/$member/serve.log"
		mkdir -p "$(dirname "$MEMBER_LOG")"
		ACTIVEMQ_DATA=$data ACTIVEMQ_CONF=$(dirname "$xml") \
			"$PIER" serve --config "$xml" --console "127.0.0.1:$console" >"$MEMBER_LOG" 2>&1 &
		SERVER_PIDS+=($!)
	else
		local base="$WORK/amq/$case-$member"
		mkdir -p "$base/lib"
		[[ $case != jdbc ]] || cp "$MARIADB_JAR" "$base/lib/"
		AMQ_LOG4J=1 launch_activemq "$base" "$xml" "$data"
		MEMBER_LOG="$base/console.log"
	fi
}

# fresh CASE: removes the data of CASE's members.
fresh() { rm -rf "$WORK/data/$1" "$WORK/data/$1"-*; }

# run_kahadb BROKER: the first member until it serves, then the second as
# slave, the first killed, the second until it serves.
run_kahadb() {
	local who=$1 r t0 a b cpu0 served=0 slave_pattern="another broker is master"
	local -a f
	[[ $who == pier ]] || slave_pattern="is locked by another server|slave mode"
	fresh kahadb
	log "kahadb: ${LABELS[$who]}, first member"
	t0=$(now)
	start_member "$who" kahadb a $((CONSOLE_BASE + 1))
	a=${SERVER_PIDS[-1]}
	r=$(serving "$KAHADB_PORT" "$a" "$t0" "${LABELS[$who]} member a" "$MEMBER_LOG") && served=1
	record kahadb "$who" "$r"
	if ((!served)); then
		stop_server
		return 0
	fi
	start_member "$who" kahadb b $((CONSOLE_BASE + 2))
	b=${SERVER_PIDS[-1]}
	if ! r=$(wait_log "$MEMBER_LOG" "$slave_pattern" "${LABELS[$who]} member b" "$b" 2>&1); then
		record takeover "$who" "member b did not wait as slave: ${r##*$'\n'}"
		stop_server
		return 0
	fi
	log "kahadb: ${LABELS[$who]}, member b is slave; kill -9 of member a"
	cpu0=$(cpu_ms "$b")
	t0=$(now)
	kill -KILL "$a"
	wait "$a" 2>/dev/null || true # reaped here, so bash does not report it
	if r=$(serving $((KAHADB_PORT + 1)) "$b" "$t0" "${LABELS[$who]} member b" "$MEMBER_LOG"); then
		read -r -a f <<<"$r"
		r="${f[0]} $((f[1] - cpu0)) ${f[2]}"
	fi
	record takeover "$who" "$r"
	stop_server
}

# run_jdbc BROKER: the member on an empty database until it serves.
run_jdbc() {
	local who=$1 r t0
	fresh jdbc
	mariadb_sql "$MARIADB_PORT" "DROP DATABASE IF EXISTS smq; CREATE DATABASE smq" || die "could not make the database smq"
	log "jdbc: ${LABELS[$who]}"
	t0=$(now)
	start_member "$who" jdbc a $((CONSOLE_BASE + 3))
	r=$(serving "$JDBC_PORT" "${SERVER_PIDS[-1]}" "$t0" "${LABELS[$who]}" "$MEMBER_LOG") || true
	record jdbc "$who" "$r"
	stop_server
}

# run_leveldb pier: the trio on a fresh ZooKeeper until a master serves.
# run_leveldb amq: the first member, once, until it serves, exits or
# AMQ_FAIL_TIMEOUT passes; what it logged is the result.
run_leveldb() {
	local who=$1 i t0 r
	fresh leveldb
	start_zookeeper "$ZK_PORT"
	log "leveldb: ${LABELS[$who]}"
	t0=$(now)
	if [[ $who == pier ]]; then
		for i in "${!REPLICAS[@]}"; do
			start_member pier leveldb "${REPLICAS[i]}" $((GROUP_CONSOLE_BASE + i + 1))
		done
		if find_master 2>"$WORK/logs/find_master.err"; then
			record leveldb pier "$(since "$t0") $(cpu_sum "${SERVER_PIDS[@]}") $(sum_over rss_kb "${SERVER_PIDS[@]}")"
		else
			r=${MISSING##*(log: }
			[[ -f ${r%)} ]] || r="$WORK/pier-group/${REPLICAS[0]}/serve.log)"
			record leveldb pier "$MISSING: $(error_line "${r%)}")"
		fi
	else
		start_member amq leveldb a
		if r=$(serving $((GROUP_OPENWIRE_BASE + 1)) "${SERVER_PIDS[-1]}" "$t0" ActiveMQ "$MEMBER_LOG" "$AMQ_FAIL_TIMEOUT"); then
			record leveldb amq "$r"
		else
			record leveldb amq "after $(since "$t0") s: $r"
		fi
	fi
	stop_server
	stop_zookeeper
}

# stats FILE: "median min max cpu_median rss_median_MiB" over FILE's
# serving lines; empty when there are none.
stats() {
	[[ -s "$1" ]] || return 0
	awk '{ t[NR] = $1; c[NR] = $2; r[NR] = $3 }
		function med(a, n,   i, j, x) {
			for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		END {
			n = NR; m = med(t, n)
			printf "%.2f %.2f %.2f %.0f %.0f\n", m, t[1], t[n], med(c, n), med(r, n) / 1024
		}' "$1"
}

# row LABEL CASE BROKER: one table row from $WORK/r/CASE.BROKER; a failed
# run becomes a note.
row() {
	local label=$1 file="$WORK/r/$2.$3" s
	local -a f
	s=$(stats "$file")
	if [[ -n "$s" ]]; then
		read -r -a f <<<"$s"
		printf '%-36s %-9s %9s %13s %8s %8s\n' "$label" "${LABELS[$3]}" "${f[0]}" "${f[1]}-${f[2]}" "${f[3]}" "${f[4]}"
		[[ ! -s "$file.fail" ]] || NOTES+=("$label, ${LABELS[$3]}: $(wc -l <"$file") run(s) served; one failed: $(cat "$file.fail")")
	elif [[ -s "$file.fail" ]]; then
		printf '%-36s %-9s %s\n' "$label" "${LABELS[$3]}" "did not serve (see note)"
		NOTES+=("$label, ${LABELS[$3]}: $(cat "$file.fail")")
	fi
}

report() {
	local c who spec
	local -a specs=()
	printf '\n## Start-up on the same activemq.xml: Pier and ActiveMQ 5.17, %s, %s runs\n' "$(date -u +%Y-%m-%d)" "$RUNS"
	printf 'machine: %s cores (%s), %s MiB memory, load %s; %s\n\n' "$(nproc)" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
		"$(awk '$1 == "MemTotal:" { printf "%.0f", $2 / 1024 }' /proc/meminfo)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$(java -version 2>&1 | head -n 1)"
	for c in $CASES; do
		case $c in
		kahadb) specs+=("kahadb:kahaDB shared dir: first member" "takeover:kahaDB shared dir: takeover, kill -9") ;;
		jdbc) specs+=("jdbc:JDBC (MariaDB, dbcp): member") ;;
		leveldb) specs+=("leveldb:replicatedLevelDB x3: master serving") ;;
		esac
	done
	printf '%-36s %-9s %9s %13s %8s %8s\n' case broker "median s" "min-max s" "CPU ms" "RSS MiB"
	for spec in "${specs[@]}"; do
		for who in pier amq; do
			row "${spec#*:}" "${spec%%:*}" "$who"
		done
	done
	printf '\n(s: from the start of the broker process (for the takeover: from the kill -9 of the master) until its OpenWire port\n accepts, for the trio until a master answers /readyz and accepts; CPU ms: user + system time of the broker process\n until then (takeover: the slave'"'"'s since the kill; trio: the three summed), RSS MiB: its VmRSS then (trio: summed);\n CPU and RSS are medians. ActiveMQ runs with -Xms%s -Xmx%s; its slave tries the lock every 10 s, Pier'"'"'s every 1 s.)\n' \
		"$AMQ_HEAP" "$AMQ_HEAP"
	for c in "${NOTES[@]}"; do
		printf 'note: %s\n' "$c"
	done
}

main() {
	local c i who
	[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a positive number"
	for c in $CASES; do
		[[ $c == kahadb || $c == jdbc || $c == leveldb ]] || die "unknown case \"$c\" in CASES (kahadb, jdbc, leveldb)"
	done
	command -v curl >/dev/null || die "curl is not installed"
	build_pier
	if [[ "${SKIP_AMQ:-0}" != 1 ]]; then
		install_activemq
		if [[ " $CASES " == *" jdbc "* ]]; then
			install_debian libmariadb-java
			[[ -r "$MARIADB_JAR" ]] || die "missing $MARIADB_JAR (apt-get install libmariadb-java)"
		fi
	fi
	log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	write_files
	[[ " $CASES " != *" jdbc "* ]] || start_mariadb "$MARIADB_PORT"
	local brokers=()
	[[ "${SKIP_PIER:-0}" == 1 ]] || brokers+=(pier)
	[[ "${SKIP_AMQ:-0}" == 1 ]] || brokers+=(amq)
	for i in $(seq 1 "$RUNS"); do
		log "run $i of $RUNS"
		for c in $CASES; do
			for who in "${brokers[@]}"; do
				# ActiveMQ cannot run the LevelDB file: once shows it.
				[[ $c != leveldb || $who != amq || $i == 1 ]] || continue
				"run_$c" "$who"
			done
		done
	done
	report
}

main "$@"
