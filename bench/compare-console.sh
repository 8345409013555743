#!/usr/bin/env bash
# Pier's console next to what ActiveMQ 5.17 (Debian's `activemq` package)
# offers on the same data, one broker at a time on this machine over
# loopback, with one client for both: bench/console (package client over
# OpenWire, net/http for Pier's REST API, chromedp driving Debian's headless
# chromium for Pier's pages).
#
#   1. Data: QUEUES queues (cb.gGGG.qNNNNN, one persistent message each),
#      then DEEP persistent SIZE-byte messages to cb.deep and SHALLOW to
#      cb.shallow, from PRODUCERS connections at once, each send waiting
#      for the broker's receipt: how long each part took, the broker's CPU
#      and RSS peak while filling cb.deep, the store on disk.
#   2. Pier's pages, logged in through the form: navigation start → the
#      data in the DOM and the next frame drawn (the page's own clock), for
#      the destinations page (first 50 queues), then the first browse page
#      (25 messages) of cb.deep and of cb.shallow, REPEAT loads each, each
#      a new document; the broker's RSS (VmRSS, sampled every 100 ms:
#      before, peak, after) and CPU (utime + stime) over each queue's loads.
#   3. A JMS queue browser (ActiveMQ's own client, BrowseTimer.java) over
#      OpenWire, up to REPEAT times on cb.deep and on cb.shallow, on both
#      brokers: the time to the first, 25th and 400th message and to the
#      end of the browse (PAGE_TIMEOUT at most; after a browse that did not
#      end, no more), and the broker's RSS and CPU over them. ActiveMQ's
#      browse.jsp renders every message of one such browser.
#   4. Listing every queue with its counters: Pier's REST API in pages of
#      1,000; ActiveMQ's own `activemq dstat queues` over JMX (the MBeans
#      its queues.jsp reads), once on the empty broker (the tool's JVM start
#      and JMX connection alone) and once with the data.
#   5. Pier's REST API: GET /api/v1/destinations?limit=50 and
#      /api/v1/queues/{cb.deep,cb.shallow}/messages?limit=25, API_REPEAT
#      times with the session cookie the pages use; GET /metrics
#      (METRICS_REPEAT times, plain and gzip) with every destination's
#      series, then after a restart with console.metrics_destinations:
#      [queue://cb.g000.>] (100 queues), and how long that restart with the
#      data took to answer /readyz 200.
#
# ActiveMQ's web console (/admin on 8161) is not in Debian's package: its
# build leaves out activemq-web-console and activemq-web (see
# /usr/share/doc/libactivemq-java/README.Debian), and ActiveMQ's own
# distribution cannot be fetched here. The script checks this and says so
# instead of a number; what ActiveMQ's pages would ask the broker is
# measured through the same paths (the JMS browser, JMX). ActiveMQ runs
# with useJmx="true" and a JMX connector on AMQ_JMX_PORT (Debian's instance
# has JMX off; upstream's console needs it on), Debian's JVM options and
# AMQ_HEAP (default 512M). Pier runs with users (admin in admins) and the
# console on loopback. Data is deleted after each broker (a million 1 KiB
# messages take over 1 GB; the free space of $TMPDIR is checked first).
#
# Takes about a minute with QUEUES=1000 DEEP=50000 REPEAT=3; the defaults
# took 16 minutes here (ActiveMQ: 6 minutes filling a million persistent
# messages and 2 browsing them; Pier: 2 filling), all measured and reported.
#
# Usage: bench/compare-console.sh   (as root if activemq or chromium is not installed)
# Environment: QUEUES (10000), DEEP (1000000), SHALLOW (1000), SIZE (1024),
#   PRODUCERS (8), REPEAT (10), PAGE_TIMEOUT (120 s, one page or browse),
#   API_REPEAT (20), METRICS_REPEAT (5), SETTLE (5 s after filling),
#   SKIP_AMQ=1, SKIP_PIER=1, PIER_BIN, KEEP_WORK=1, CLIENT_TIMEOUT (3600 s),
#   START_TIMEOUT (600 s), STOP_TIMEOUT (30 s), ports PIER_PORT (61806),
#   PIER_CONSOLE_PORT (8261), AMQ_PORT (61816), AMQ_JMX_PORT (8361),
#   AMQ_HEAP (512M). Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUEUES=${QUEUES:-10000}
DEEP=${DEEP:-1000000}
SHALLOW=${SHALLOW:-1000}
SIZE=${SIZE:-1024}
PRODUCERS=${PRODUCERS:-8}
REPEAT=${REPEAT:-10}
PAGE_TIMEOUT=${PAGE_TIMEOUT:-120}
API_REPEAT=${API_REPEAT:-20}
METRICS_REPEAT=${METRICS_REPEAT:-5}
SETTLE=${SETTLE:-5}
PIER_PORT=${PIER_PORT:-61806}
PIER_CONSOLE_PORT=${PIER_CONSOLE_PORT:-8261}
AMQ_PORT=${AMQ_PORT:-61816}
AMQ_JMX_PORT=${AMQ_JMX_PORT:-8361}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-3600}
START_TIMEOUT=${START_TIMEOUT:-600}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
AMQ_STOMP_PORT="" # start_activemq: OpenWire only
PASSWORD=console-bench-secret
LIMIT_PATTERN="queue://cb.g000.>"
CB=""
JMS_CP=""
NOTES=()
AMQ_CONSOLE="" # why ActiveMQ's pages are not measured, when they are not

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-console
mkdir -p "$WORK/r"

now_ms() { date +%s%3N; }

# cb NAME MODE ARGS...: one bench/console run; its result line goes to
# $WORK/r/NAME (and, indented, to stderr). A failure becomes a note.
cb() {
	local name=$1 mode=$2 rc=0
	shift 2
	run_client "$WORK/r/$name" "$WORK/r/$name.err" "$CB" "$mode" --clk-tck "$CLK_TCK" "$@" || rc=$?
	[[ ! -s "$WORK/r/$name.err" ]] || sed 's/^/    /' "$WORK/r/$name.err" >&2
	((rc == 0)) || NOTES+=("$name FAILED: $(tail -n 1 "$WORK/r/$name.err")")
	[[ ! -s "$WORK/r/$name" ]] || sed 's/^/    /' "$WORK/r/$name" >&2
	return 0
}

# get NAME KEY: KEY's value in result NAME, or -.
get() {
	local line word
	line=$(head -n 1 "$WORK/r/$1" 2>/dev/null) || line=""
	for word in $line; do
		if [[ $word == "$2="* ]]; then
			echo "${word#*=}"
			return
		fi
	done
	echo -
}

# note NAME KEY=VALUE...: adds pairs measured by the script to result NAME.
note() {
	local name=$1
	shift
	if [[ -s "$WORK/r/$name" ]]; then
		sed -i "1s/\$/ $*/" "$WORK/r/$name"
	else
		echo "$*" >"$WORK/r/$name"
	fi
}

# pier_yaml [LIMIT]: the configuration of the Pier broker, with
# console.metrics_destinations [LIMIT] when given.
pier_yaml() {
	local base="$WORK/pier-broker" limit=""
	[[ -z "${1:-}" ]] || limit="  metrics_destinations: [\"$1\"]"
	cat <<-EOF
		broker:
		  name: console-bench
		  data_dir: $base/data
		transports:
		  openwire: tcp://127.0.0.1:$PIER_PORT
		  stomp: ""
		  mqtt: ""
		  ws: ""
		  amqp: ""
		console:
		  listen: 127.0.0.1:$PIER_CONSOLE_PORT
		$limit
		store:
		  kind: journal
		security:
		  users:
		    - name: admin
		      password_hash: "$(cat "$WORK/admin.hash")"
		      groups: [admins]
		  authorization:
		    - {queue: ">", read: [admins], write: [admins], admin: [admins]}
		    - {topic: ">", read: [admins], write: [admins], admin: [admins]}
	EOF
}

# start_pier RESULT [LIMIT]: `pier serve` on PIER_PORT with its console on
# PIER_CONSOLE_PORT; waits for /readyz and puts start → ready into RESULT.
start_pier() {
	local base="$WORK/pier-broker" t0
	mkdir -p "$base/data"
	pier_yaml "${2:-}" >"$base/pier.yaml"
	port_free "$PIER_PORT" || die "port $PIER_PORT is busy"
	port_free "$PIER_CONSOLE_PORT" || die "port $PIER_CONSOLE_PORT is busy"
	log "starting pier serve (OpenWire on 127.0.0.1:$PIER_PORT, console on 127.0.0.1:$PIER_CONSOLE_PORT${2:+, metrics_destinations [$2]})"
	t0=$(now_ms)
	"$PIER" serve --config "$base/pier.yaml" >>"$base/serve.log" 2>&1 &
	SERVER_PIDS+=($!)
	cb "$1" ready --console "http://127.0.0.1:$PIER_CONSOLE_PORT" --since-ms "$t0" \
		--timeout "${START_TIMEOUT}s" --pid "${SERVER_PIDS[-1]}"
	[[ $(get "$1" ready_s) != - ]] || die "pier did not get ready (log: $base/serve.log)"
}

# amq_instance_xml OUT: Debian's instance configuration with JMX on and a
# JMX connector on 127.0.0.1:AMQ_JMX_PORT.
amq_instance_xml() {
	local mc="<managementContext><managementContext createConnector=\"true\" connectorHost=\"127.0.0.1\" connectorPort=\"$AMQ_JMX_PORT\"/></managementContext>"
	sed -e 's#useJmx="false"#useJmx="true"#' -e "s#^\\( *\\)<persistenceAdapter>#\\1$mc\\n\\1<persistenceAdapter>#" \
		/etc/activemq/instances-available/main/activemq.xml >"$1"
	grep -q 'useJmx="true"' "$1" && grep -q "connectorPort=\"$AMQ_JMX_PORT\"" "$1" ||
		die "could not turn JMX on in Debian's activemq.xml (layout changed?)"
}

# dstat NAME: `activemq dstat queues` over JMX, timed; into result NAME.
dstat() {
	local t0 t1 rc=0
	t0=$(now_ms)
	timeout --kill-after=10 "$CLIENT_TIMEOUT" java -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$WORK/activemq" \
		-jar "$AMQ_HOME/bin/activemq.jar" dstat \
		--jmxurl "service:jmx:rmi:///jndi/rmi://127.0.0.1:$AMQ_JMX_PORT/jmxrmi" queues \
		>"$WORK/r/$1.out" 2>"$WORK/r/$1.err" || rc=$?
	t1=$(now_ms)
	if ((rc != 0)); then
		NOTES+=("$1 (activemq dstat queues) FAILED with $rc: $(tail -n 1 "$WORK/r/$1.err")")
		return 0
	fi
	echo "seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }') queues=$(grep -cE '^cb\.' "$WORK/r/$1.out" || true)" >"$WORK/r/$1"
	sed 's/^/    /' "$WORK/r/$1" >&2
}

# mib KB: KiB in MiB, or -.
mib() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.0f", v / 1024; else print "-" }'; }

# bytes_mib B: bytes in MiB, or -.
bytes_mib() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.0f", v / 1048576; else print "-" }'; }

# fmt V: V with at most one decimal (whole above 100), or V as it is when
# it is not a number (timeout, -).
fmt() { awk -v v="$1" 'BEGIN { if (v !~ /^[0-9.]+$/) print v; else if (v < 100) printf "%.1f", v; else printf "%.0f", v }'; }

# ms S: seconds in ms, or -.
ms() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.0f", v * 1000; else print "-" }'; }

# dir_bytes DIR: bytes under DIR, or -.
dir_bytes() { du -sb "$1" 2>/dev/null | cut -f1 || echo -; }

# fill WHO URL PID [ARGS...]: the data, into result WHO-fill.
fill() {
	local who=$1 url=$2 pid=$3
	shift 3
	log "$who: filling: $QUEUES queues, $DEEP messages to cb.deep, $SHALLOW to cb.shallow ($PRODUCERS producers, persistent, $SIZE bytes)"
	cb "$who-fill" fill --url "$url" "$@" --queues "$QUEUES" --deep cb.deep --count "$DEEP" --shallow cb.shallow \
		--shallow-count "$SHALLOW" --producers "$PRODUCERS" --size "$SIZE" --timeout "${CLIENT_TIMEOUT}s" --pid "$pid"
}

# browse WHO URL PID [ARGS...]: the JMS browser (BrowseTimer, ActiveMQ's
# client) on both queues.
browse() {
	local who=$1 url=$2 pid=$3 q
	shift 3
	for q in deep shallow; do
		log "$who: JMS browser on cb.$q, up to $REPEAT times"
		cb "$who-browse-$q" watch --pid "$pid" -- java -Xms256m -Xmx256m -cp "$JMS_CP" BrowseTimer --url "$url" "$@" \
			--queue "cb.$q" --repeat "$REPEAT" --timeout "$PAGE_TIMEOUT"
	done
}

# compile_browsetimer compiles bench/console/BrowseTimer.java into $WORK
# against Debian's ActiveMQ JMS client.
compile_browsetimer() {
	local jar cp=""
	command -v javac >/dev/null || die "javac is not installed (apt-get install default-jdk-headless)"
	for jar in activemq-client geronimo-jms_1.1_spec geronimo-j2ee-management-1.1-spec hawtbuf slf4j-api slf4j-nop; do
		[[ -r "/usr/share/java/$jar.jar" ]] || die "missing /usr/share/java/$jar.jar (apt-get install libactivemq-java libslf4j-java)"
		cp+="/usr/share/java/$jar.jar:"
	done
	log "compiling BrowseTimer"
	mkdir -p "$WORK/browsetimer"
	javac -nowarn -cp "$cp" -d "$WORK/browsetimer" "$ROOT/bench/console/BrowseTimer.java" ||
		die "javac failed on bench/console/BrowseTimer.java"
	JMS_CP="$cp$WORK/browsetimer"
}

run_pier() {
	local pid url="tcp://127.0.0.1:$PIER_PORT" console="http://127.0.0.1:$PIER_CONSOLE_PORT"
	local auth=(--user admin --password "$PASSWORD")
	printf '%s\n' "$PASSWORD" | "$PIER" passwd >"$WORK/admin.hash"
	start_pier pier-start
	pid=${SERVER_PIDS[-1]}
	fill pier "$url" "$pid" "${auth[@]}"
	note pier-fill "store_b=$(dir_bytes "$WORK/pier-broker/data")"
	sleep "$SETTLE"
	log "pier: the console's pages in chromium ($REPEAT loads of each queue's first page)"
	cb pier-pages pages --console "$console" "${auth[@]}" --deep cb.deep --shallow cb.shallow --repeat "$REPEAT" \
		--timeout "${PAGE_TIMEOUT}s" --pid "$pid"
	browse pier "$url" "$pid" "${auth[@]}"
	log "pier: REST API ($API_REPEAT requests each) and the listing of every queue"
	cb pier-api api --console "$console" "${auth[@]}" --deep cb.deep --shallow cb.shallow --repeat "$API_REPEAT" --pid "$pid"
	log "pier: /metrics with every destination's series"
	cb pier-metrics-all metrics --console "$console" --repeat "$METRICS_REPEAT" --pid "$pid"
	stop_server
	log "pier: restart on the same data with metrics_destinations [$LIMIT_PATTERN]"
	start_pier pier-restart "$LIMIT_PATTERN"
	pid=${SERVER_PIDS[-1]}
	cb pier-metrics-limited metrics --console "$console" --repeat "$METRICS_REPEAT" --pid "$pid"
	stop_server
	cp "$WORK/pier-broker/serve.log" "$WORK/r/pier-serve.log" 2>/dev/null || true
	rm -rf "$WORK/pier-broker"
}

run_amq() {
	local pid url="tcp://127.0.0.1:$AMQ_PORT"
	amq_instance_xml "$WORK/amq-instance.xml"
	port_free "$AMQ_JMX_PORT" || die "port $AMQ_JMX_PORT is busy"
	AMQ_INSTANCE_XML="$WORK/amq-instance.xml" AMQ_OPENWIRE_PORT=$AMQ_PORT AMQ_LOG4J=1 start_activemq
	pid=${SERVER_PIDS[-1]}
	note amq-start "rss_kb=$(rss_kb "$pid")"
	log "amq: activemq dstat queues on the empty broker"
	dstat amq-dstat-empty
	fill amq "$url" "$pid"
	note amq-fill "store_b=$(dir_bytes "$WORK/activemq/data")"
	sleep "$SETTLE"
	log "amq: activemq dstat queues with the data"
	dstat amq-dstat
	browse amq "$url" "$pid"
	kill -0 "$pid" 2>/dev/null || NOTES+=("ActiveMQ exited during the run (log: $WORK/activemq/console.log)")
	if grep -q OutOfMemoryError "$WORK/activemq/console.log" 2>/dev/null; then
		NOTES+=("ActiveMQ logged java.lang.OutOfMemoryError (heap $AMQ_HEAP) $(grep -c OutOfMemoryError "$WORK/activemq/console.log") times, first at $(grep -m1 -B1 OutOfMemoryError "$WORK/activemq/console.log" | head -n 1 | cut -c1-23)")
	fi
	stop_server
	cp "$WORK/activemq/console.log" "$WORK/r/amq-console.log" 2>/dev/null || true
	rm -rf "$WORK/activemq"
}

# amq_console_check sets AMQ_CONSOLE to why ActiveMQ's web console cannot
# be measured here, or leaves it empty when it is installed.
amq_console_check() {
	local readme=/usr/share/doc/libactivemq-java/README.Debian
	if ! ls "$AMQ_HOME"/webapps/admin >/dev/null 2>&1; then
		AMQ_CONSOLE="no web console in Debian's package"
		grep -q 'activemq-web-console' "$readme" 2>/dev/null && AMQ_CONSOLE+=" (README.Debian: activemq-web-console disabled)"
	fi
}

# row LABEL P A: a table row with Pier/AMQ.
row() { printf '| %s | %s | %s | %s |\n' "$1" "$(fmt "$2")" "$(fmt "$3")" "$(ratio "$2" "$3")"; }

report_fill() {
	local p=pier-fill a=amq-fill
	printf '\n### 1. Data (%s producers, persistent, each send waits for the broker)\n\n' "$PRODUCERS"
	printf '| | Pier | ActiveMQ | Pier/AMQ |\n|---|---:|---:|---:|\n'
	row "$QUEUES queues, one message each, s" "$(get $p queues_s)" "$(get $a queues_s)"
	row "$DEEP messages of $SIZE bytes to one queue, s" "$(get $p deep_s)" "$(get $a deep_s)"
	row "… messages/s" "$(get $p deep_per_sec)" "$(get $a deep_per_sec)"
	row "… broker CPU µs/message" "$(get $p deep_cpu_us_per_msg)" "$(get $a deep_cpu_us_per_msg)"
	row "… broker RSS peak, MiB" "$(mib "$(get $p deep_rss_peak_kb)")" "$(mib "$(get $a deep_rss_peak_kb)")"
	row "$SHALLOW messages to the shallow queue, s" "$(get $p shallow_s)" "$(get $a shallow_s)"
	row "store on disk after, MiB" "$(bytes_mib "$(get $p store_b)")" "$(bytes_mib "$(get $a store_b)")"
}

report_pages() {
	local p=pier-pages a=${AMQ_CONSOLE:-not measured}
	printf '\n### 2. Console pages in headless chromium (navigation start → data in the DOM and the next frame drawn, ms)\n\n'
	printf '| page | Pier | ActiveMQ 5.17 |\n|---|---:|---|\n'
	printf '| destinations, first 50 of %s queues | %s | %s |\n' "$((QUEUES + 2))" "$(fmt "$(get $p dest_ms)")" "$a"
	printf '| first browse page (25) of %s messages: first load | %s | %s |\n' "$DEEP" "$(fmt "$(get $p deep_first_ms)")" "$a"
	printf '| … median / slowest of %s loads | %s / %s | %s |\n' "$REPEAT" "$(fmt "$(get $p deep_median_ms)")" "$(fmt "$(get $p deep_max_ms)")" "$a"
	printf '| first browse page (25) of %s messages: median / slowest | %s / %s | %s |\n' "$SHALLOW" \
		"$(fmt "$(get $p shallow_median_ms)")" "$(fmt "$(get $p shallow_max_ms)")" "$a"
	printf '\nPier'"'"'s broker over the %s loads of each first page:\n\n' "$REPEAT"
	printf '| | %s messages | %s messages |\n|---|---:|---:|\n' "$DEEP" "$SHALLOW"
	printf '| RSS before / peak / after, MiB | %s / %s / %s | %s / %s / %s |\n' \
		"$(mib "$(get $p deep_rss_before_kb)")" "$(mib "$(get $p deep_rss_peak_kb)")" "$(mib "$(get $p deep_rss_after_kb)")" \
		"$(mib "$(get $p shallow_rss_before_kb)")" "$(mib "$(get $p shallow_rss_peak_kb)")" "$(mib "$(get $p shallow_rss_after_kb)")"
	printf '| CPU, ms (all %s loads) | %s | %s |\n' "$REPEAT" "$(fmt "$(get $p deep_cpu_ms)")" "$(fmt "$(get $p shallow_cpu_ms)")"
}

report_browse() {
	local q n p a
	printf '\n### 3. JMS queue browser over OpenWire, ActiveMQ'"'"'s client (what browse.jsp reads: every message of one browser), up to %s browses\n\n' "$REPEAT"
	printf '| | Pier | ActiveMQ | Pier/AMQ |\n|---|---:|---:|---:|\n'
	for q in deep shallow; do
		n=$DEEP
		[[ $q == deep ]] || n=$SHALLOW
		p=pier-browse-$q a=amq-browse-$q
		row "$n messages: first message, median ms" "$(get $p first_msg_ms)" "$(get $a first_msg_ms)"
		row "… 25th message, median ms" "$(get $p page_ms)" "$(get $a page_ms)"
		row "… 400th message, median ms" "$(get $p browse_page_ms)" "$(get $a browse_page_ms)"
		row "… end of the browse: first browse, ms" "$(get $p first_end_ms)" "$(get $a first_end_ms)"
		row "… end of the browse: median / slowest, ms" "$(get $p end_ms) / $(get $p max_end_ms)" "$(get $a end_ms) / $(get $a max_end_ms)"
		row "… messages in the first browse / the last" "$(get $p first_messages) / $(get $p messages)" "$(get $a first_messages) / $(get $a messages)"
		row "… browses / not ended within ${PAGE_TIMEOUT} s" "$(get $p browses) / $(get $p timeouts)" "$(get $a browses) / $(get $a timeouts)"
		row "… broker RSS before / peak / after, MiB" \
			"$(mib "$(get $p rss_before_kb)") / $(mib "$(get $p rss_peak_kb)") / $(mib "$(get $p rss_after_kb)")" \
			"$(mib "$(get $a rss_before_kb)") / $(mib "$(get $a rss_peak_kb)") / $(mib "$(get $a rss_after_kb)")"
		row "… broker CPU, ms (all browses)" "$(get $p cpu_ms)" "$(get $a cpu_ms)"
	done
}

report_listing() {
	printf '\n### 4. Listing every queue with its counters\n\n'
	printf '| | Pier (REST, pages of 1,000) | ActiveMQ (`activemq dstat queues`, JMX) | Pier/AMQ |\n|---|---:|---:|---:|\n'
	row "all $((QUEUES + 2)) queues, ms" "$(get pier-api all_ms)" "$(ms "$(get amq-dstat seconds)")"
	row "queues listed" "$(get pier-api all_queues)" "$(get amq-dstat queues)"
	printf '| the tool alone on the empty broker (JVM start, JMX connection), ms | | %s | |\n' "$(fmt "$(ms "$(get amq-dstat-empty seconds)")")"
}

report_api() {
	local k
	printf '\n### 5. Pier'"'"'s REST API (session cookie, %s requests each; ActiveMQ: none in Debian'"'"'s package)\n\n' "$API_REPEAT"
	printf '| request | first, ms | median, ms | slowest, ms | bytes | broker CPU ms/request |\n|---|---:|---:|---:|---:|---:|\n'
	for k in "GET /api/v1/destinations?limit=50:dest50_" "GET /api/v1/queues/cb.deep/messages?limit=25 ($DEEP):deep25_" \
		"GET /api/v1/queues/cb.shallow/messages?limit=25 ($SHALLOW):shallow25_"; do
		printf '| %s | %s | %s | %s | %s | %s |\n' "${k%:*}" "$(fmt "$(get pier-api "${k##*:}first_ms")")" \
			"$(fmt "$(get pier-api "${k##*:}median_ms")")" "$(fmt "$(get pier-api "${k##*:}max_ms")")" \
			"$(get pier-api "${k##*:}bytes")" "$(fmt "$(get pier-api "${k##*:}cpu_ms_per_req")")"
	done
	printf '\n### 6. Pier'"'"'s /metrics with %s queues (%s scrapes each; ActiveMQ has no Prometheus endpoint without a JMX exporter agent, which Debian does not package)\n\n' \
		"$((QUEUES + 2))" "$METRICS_REPEAT"
	printf '| | every destination | metrics_destinations [%s] |\n|---|---:|---:|\n' "$LIMIT_PATTERN"
	for k in "series:series" "pier_queue_messages series:queue_depth_series" "size, bytes:identity_bytes" \
		"size gzipped, bytes:gzip_bytes" "scrape, median ms:identity_median_ms" "scrape gzipped, median ms:gzip_median_ms" \
		"broker CPU ms/scrape:identity_cpu_ms_per_scrape"; do
		printf '| %s | %s | %s |\n' "${k%:*}" "$(fmt "$(get pier-metrics-all "${k##*:}")")" "$(fmt "$(get pier-metrics-limited "${k##*:}")")"
	done
	printf '\nPier start → /readyz 200: %s s empty, %s s with the data (restart for the limit).\n' \
		"$(get pier-start ready_s)" "$(get pier-restart ready_s)"
}

main() {
	local who avail need s
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	command -v go >/dev/null || die "go is not installed (bench/console is built with it)"
	need=$(((DEEP + SHALLOW) * (SIZE + 1024) / 1048576 + 1024))
	avail=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
	((avail > need)) || die "$WORK has $avail MiB free; the runs need about $need MiB"
	if [[ "${SKIP_AMQ:-0}" != 1 ]]; then
		install_activemq
		amq_console_check
	fi
	if [[ "${SKIP_PIER:-0}" != 1 && ! -x /usr/bin/chromium ]]; then
		[[ $(id -u) == 0 ]] || die "chromium is not installed and installing it needs root"
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
	fi
	build_pier
	log "building bench/console"
	CB="$WORK/console"
	(cd "$ROOT" && go build -o "$CB" ./bench/console)
	compile_browsetimer
	log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $avail MiB free in $WORK"
	for who in amq pier; do
		[[ $who != amq || "${SKIP_AMQ:-0}" != 1 ]] || continue
		[[ $who != pier || "${SKIP_PIER:-0}" != 1 ]] || continue
		"run_$who"
	done
	printf '\n## Console: Pier and ActiveMQ 5.17, %s, %s cores, %s queues, %s + %s persistent %s-byte messages\n' \
		"$(date -u +%Y-%m-%d)" "$(nproc)" "$QUEUES" "$DEEP" "$SHALLOW" "$SIZE"
	report_fill
	report_pages
	report_browse
	report_listing
	report_api
	printf '\n(CPU: utime + stime of the broker process in /proc/PID/stat, all threads, %s ticks/s; RSS: VmRSS, sampled every 100 ms for the peaks. ActiveMQ: -Xms = -Xmx = %s, so its RSS grows as the heap is touched and does not shrink.)\n' \
		"$CLK_TCK" "$AMQ_HEAP"
	[[ -z "$AMQ_CONSOLE" ]] || printf 'ActiveMQ'"'"'s pages: %s; ActiveMQ'"'"'s own distribution, which has it, cannot be fetched on this machine.\n' "$AMQ_CONSOLE"
	for s in "${NOTES[@]}"; do
		printf 'note: %s\n' "$s"
	done
}

main "$@"
