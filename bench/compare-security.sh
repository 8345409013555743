#!/usr/bin/env bash
# What security costs Pier, next to ActiveMQ 5.17 (Debian's `activemq`
# package) with its simpleAuthenticationPlugin, an authorizationPlugin and
# an ssl:// transport connector, measured one broker at a time on this
# machine over loopback, with the same clients for both:
#
#   1. Logins: connections opened and closed (a ConnectionInfo answered is
#      one login) by bench/security (package client), one at a time and
#      LOGIN_WORKERS at once, after LOGIN_WARMUP unmeasured logins (the JVM
#      compiles ActiveMQ's login path meanwhile: without them its rate
#      doubles during the run). "first": FIRST_LOGINS users u0, u1, ...
#      each once, pairs the broker never verified (Pier: one bcrypt each);
#      "cached": the user app CACHED_LOGINS times (Pier: its login cache);
#      the same over ssl:// (a TLS handshake per login). ActiveMQ's
#      simpleAuthenticationPlugin compares plain-text passwords, so its
#      first and cached logins take the same path.
#   2. Reconnect: RECONNECT_CLIENTS failover clients (bench/security,
#      failover:(tcp://A,tcp://B)?RECONNECT_OPTS, logged in, no sessions)
#      on the master of a master/slave pair over a shared directory (Pier:
#      two `pier serve` with one store.journal.dir; ActiveMQ: two brokers
#      with one KahaDB directory, shared-file-locker). The master is killed
#      with SIGKILL; reported: when the slave's listener opened, when every
#      client was resumed (client.Options.OnResumed, called once the replayed
#      login is written), when every client had a request answered after
#      that (the broker accepted the login), and the new master's CPU time
#      from its listener opening to the last answer. Once for each count in
#      RECONNECT_USERS: the clients log in as that many users (u0, u1, ...).
#   3. Throughput: `pier bench` over OpenWire, 1 KiB, 4 producers and 4
#      consumers on one queue, PERSISTENT_COUNT persistent and
#      NONPERSISTENT_COUNT non-persistent messages, over tcp:// and ssl://,
#      logged in as app; ROUNDS rounds of tcp:// then ssl://, each run
#      after WARMUP_COUNT unmeasured non-persistent messages; the report
#      gives the median and the range (persistent runs on this VM's disk
#      vary by up to a factor of two from run to run).
#
# With every figure: the broker process's own CPU time (utime + stime of
# /proc/PID/stat, all threads) per operation. Pier has one OpenWire
# listener, so it runs once per transport and round (one data directory);
# ActiveMQ runs one process with both connectors.
#
# Both brokers get the same security: users u0, u1, ... (as many as the
# measurements need) plus app and warm, all in group apps (Pier: one bcrypt
# hash from `pier passwd` shared by all, cost 10; ActiveMQ: the plain-text
# password), anonymous access refused, read, write and admin on every
# queue and topic and on temporary destinations for apps (ActiveMQ also
# needs the advisory topics granted; Pier writes them itself). Certificates: `pier certs` (ECDSA P-256) for both; ActiveMQ's JKS
# keystore is made from them with openssl and keytool. Pier's slave tries
# the lock every second, and so does ActiveMQ's here (AMQ_LOCK_SLEEP_MS;
# its default is 10 s). Pier's limits.max_connections is raised to 4096
# (default 1000); ActiveMQ has no connection limit by default. ActiveMQ
# logs at INFO level (AMQ_LOG4J=1), Pier at its default, INFO, which
# includes one audit line per login.
#
# Usage: bench/compare-security.sh   (as root: may apt-get install activemq,
#   openssl; raises ulimit -n to NOFILE for 1,000 connections)
# Environment: FIRST_LOGINS (per first-login row, default 300), CACHED_LOGINS
#   (per cached row, 3000), LOGIN_WORKERS (8), LOGIN_WARMUP (5000),
#   RECONNECT_CLIENTS (1000),
#   RECONNECT_USERS ("1 1000"), RECONNECT_OPTS
#   (randomize=false&initialReconnectDelay=100&maxReconnectDelay=500),
#   PERSISTENT_COUNT (20000), NONPERSISTENT_COUNT (100000), WARMUP_COUNT
#   (10000), ROUNDS (3), AMQ_LOCK_SLEEP_MS (1000), NOFILE (65536), SKIP_LOGINS=1,
#   SKIP_RECONNECT=1, SKIP_THROUGHPUT=1, SKIP_AMQ=1, SKIP_PIER=1, PIER_BIN,
#   KEEP_WORK=1, CLIENT_TIMEOUT (300s), START_TIMEOUT (120s), STOP_TIMEOUT
#   (10s), ports PIER_PORT (61646; +1 the slave), AMQ_PORT (61656; +1 its
#   ssl://, +2 the slave). Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIRST_LOGINS=${FIRST_LOGINS:-300}
CACHED_LOGINS=${CACHED_LOGINS:-3000}
LOGIN_WORKERS=${LOGIN_WORKERS:-8}
RECONNECT_CLIENTS=${RECONNECT_CLIENTS:-1000}
RECONNECT_USERS=${RECONNECT_USERS:-1 1000}
RECONNECT_OPTS=${RECONNECT_OPTS:-randomize=false&initialReconnectDelay=100&maxReconnectDelay=500}
PERSISTENT_COUNT=${PERSISTENT_COUNT:-20000}
NONPERSISTENT_COUNT=${NONPERSISTENT_COUNT:-100000}
WARMUP_COUNT=${WARMUP_COUNT:-10000}
ROUNDS=${ROUNDS:-3}
LOGIN_WARMUP=${LOGIN_WARMUP:-5000}
AMQ_LOCK_SLEEP_MS=${AMQ_LOCK_SLEEP_MS:-1000}
NOFILE=${NOFILE:-65536}
PIER_PORT=${PIER_PORT:-61646}
AMQ_PORT=${AMQ_PORT:-61656}
PASSWORD=bench-secret
AMQ_STOMP_PORT="" # start_activemq: OpenWire only
SECBENCH=""
NOTES=()

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-security
mkdir -p "$WORK/r"

# install_deps installs openssl if missing; keytool comes with ActiveMQ's JRE.
install_deps() {
	command -v openssl >/dev/null && return 0
	[[ $(id -u) == 0 ]] || die "openssl is not installed and installing it needs root"
	log "installing openssl"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y openssl
}

# raise_nofile lets this script and the brokers it starts hold a few
# thousand sockets.
raise_nofile() {
	ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	(($(ulimit -n) >= 4096)) || die "ulimit -n is $(ulimit -n); 1,000 connections need 4096 (run as root)"
	log "ulimit -n $(ulimit -n)"
}

# users_needed prints how many users u0, u1, ... the measurements need.
users_needed() {
	local n=$((2 * FIRST_LOGINS)) u
	for u in $RECONNECT_USERS; do
		((u <= n)) || n=$u
	done
	echo "$n"
}

# make_security writes the certificates, ActiveMQ's keystore, users and
# authorization files and the security part of Pier's configuration.
make_security() {
	local n hash i
	n=$(users_needed)
	log "making certificates, a keystore and $n users"
	"$PIER" certs --dir "$WORK/certs" broker=127.0.0.1,localhost >/dev/null
	openssl pkcs12 -export -in "$WORK/certs/broker.crt" -inkey "$WORK/certs/broker.key" \
		-certfile "$WORK/certs/group-ca.crt" -name broker -passout pass:password -out "$WORK/certs/broker.p12"
	keytool -importkeystore -noprompt -srckeystore "$WORK/certs/broker.p12" -srcstoretype PKCS12 \
		-srcstorepass password -destkeystore "$WORK/certs/broker.jks" -deststoretype JKS \
		-deststorepass password -destkeypass password >/dev/null 2>&1 || die "keytool could not make the keystore"
	hash=$(printf '%s\n' "$PASSWORD" | "$PIER" passwd)
	{
		printf 'security:\n  allow_anonymous: false\n  users:\n'
		for ((i = 0; i < n; i++)); do
			printf '    - {name: u%d, password_hash: "%s", groups: [apps]}\n' "$i" "$hash"
		done
		printf '    - {name: %s, password_hash: "%s", groups: [apps]}\n' app "$hash" warm "$hash"
		printf '  authorization:\n'
		printf '    - {%s: ">", read: [apps], write: [apps], admin: [apps]}\n' queue topic
		printf '  temp_destinations: {read: [apps], write: [apps], admin: [apps]}\n'
	} >"$WORK/pier-security.yaml"
	{
		for ((i = 0; i < n; i++)); do
			printf 'u%d %s apps\n' "$i" "$PASSWORD"
		done
		printf '%s %s apps\n' app "$PASSWORD" warm "$PASSWORD"
	} >"$WORK/amq-users.txt"
	printf '%s\n' 'queue > apps apps apps' 'topic > apps apps apps' \
		'topic ActiveMQ.Advisory.> apps apps apps' 'temp - apps apps apps' >"$WORK/amq-authorization.txt"
}

# start_pier NAME LISTEN_URL [JOURNAL_DIR]: starts `pier serve` named NAME
# with its OpenWire listener LISTEN_URL, data in $WORK/pier-NAME and the
# security of make_security. With JOURNAL_DIR (a shared directory) it is
# a member of a master/slave pair: it waits for its listener only if no
# other member runs, else until it logs that it waits for the lock.
start_pier() {
	local name=$1 url=$2 journal=${3:-} base="$WORK/pier-$1" port=${2##*:}
	mkdir -p "$base/data"
	{
		printf 'broker:\n  name: %s\n  data_dir: %s\n' "$name" "$base/data"
		printf 'transports:\n  openwire: %s\n  stomp: ""\n  mqtt: ""\n  ws: ""\n  amqp: ""\n' "$url"
		printf 'console:\n  listen: ""\nlimits:\n  max_connections: 4096\n'
		printf 'tls:\n  cert_file: %s\n  key_file: %s\n' "$WORK/certs/broker.crt" "$WORK/certs/broker.key"
		printf 'store:\n  kind: journal\n'
		[[ -z "$journal" ]] || printf '  journal:\n    dir: %s\n' "$journal"
		cat "$WORK/pier-security.yaml"
	} >"$base/pier.yaml"
	port_free "$port" || die "port $port is busy"
	log "starting pier serve $name (OpenWire on $url${journal:+, journal in $journal})"
	"$PIER" serve --config "$base/pier.yaml" >>"$base/serve.log" 2>&1 &
	SERVER_PIDS+=($!)
	if [[ -n "$journal" ]] && ((${#SERVER_PIDS[@]} > 1)); then
		wait_log "$base/serve.log" 'another broker is master' "pier $name" >/dev/null
		log "pier $name is slave"
	else
		log "pier $name listening after $(wait_port "$port" "pier $name" "$base/serve.log")s"
	fi
}

# start_amq [NAME]: ActiveMQ with OpenWire on AMQ_PORT, ssl:// on
# AMQ_PORT+1 and the security of make_security; with NAME (a or b), a
# member of a master/slave pair on one KahaDB directory, b on AMQ_PORT+2
# and waited for until it logs that it is slave.
start_amq() {
	local name=${1:-} port=$AMQ_PORT ssl=$((AMQ_PORT + 1)) kahadb="" wait=0
	if [[ -n "$name" ]]; then
		ssl="" kahadb="$WORK/amq-shared/kahadb"
		[[ $name != b ]] || port=$((AMQ_PORT + 2)) wait=1
	fi
	mkdir -p "$WORK/amq-shared"
	AMQ_BROKER_NAME=${name:+ha-$name} AMQ_OPENWIRE_PORT=$port AMQ_SSL_PORT=$ssl \
		AMQ_KEYSTORE="$WORK/certs/broker.jks" AMQ_USERS="$WORK/amq-users.txt" \
		AMQ_AUTHORIZATION="$WORK/amq-authorization.txt" AMQ_KAHADB_DIR=$kahadb \
		AMQ_NO_WAIT=$wait AMQ_LOG4J=1 start_activemq
	if ((wait)); then
		wait_log "$WORK/activemq-ha-$name/console.log" 'slave|is locked' "ActiveMQ $name" >/dev/null
		log "ActiveMQ $name is slave"
	fi
}

# secbench NAME ARGS...: one bench/security run; its result line goes to
# $WORK/r/NAME.
secbench() {
	local name=$1 rc=0
	shift
	run_client "$WORK/r/$name" "$WORK/r/$name.err" "$SECBENCH" "$@" --label "$name" --clk-tck "$CLK_TCK" || rc=$?
	[[ ! -s "$WORK/r/$name.err" ]] || sed 's/^/    /' "$WORK/r/$name.err" >&2
	((rc == 0)) || NOTES+=("$name FAILED: $(tail -n 1 "$WORK/r/$name.err")")
	[[ ! -s "$WORK/r/$name" ]] || sed 's/^/    /' "$WORK/r/$name" >&2
}

# val NAME KEY: the value of KEY in result NAME, or -.
val() {
	local v
	v=$(sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$WORK/r/$1" 2>/dev/null | head -n 1)
	echo "${v:--}"
}

# logins WHO TRANSPORT URL PID [ARGS...]: the login measurements of one
# broker over one transport (tcp: cached, then first, so that ActiveMQ's
# first logins do not run on a less compiled path than its cached ones;
# ssl: cached only).
logins() {
	local who=$1 tr=$2 url=$3 pid=$4
	shift 4
	local args=(--url "$url" --password "$PASSWORD" --pid "$pid" "$@")
	log "$who: logins over $tr://"
	secbench "$who-$tr-warm" logins "${args[@]}" --user warm --count "$LOGIN_WARMUP" --workers "$LOGIN_WORKERS"
	secbench "$who-$tr-cached-1" logins "${args[@]}" --user app --count "$CACHED_LOGINS" --workers 1
	secbench "$who-$tr-cached-w" logins "${args[@]}" --user app --count "$CACHED_LOGINS" --workers "$LOGIN_WORKERS"
	[[ $tr == tcp ]] || return 0
	secbench "$who-first-1" logins "${args[@]}" --prefix u --from 0 --count "$FIRST_LOGINS" --workers 1
	secbench "$who-first-w" logins "${args[@]}" --prefix u --from "$FIRST_LOGINS" --count "$FIRST_LOGINS" \
		--workers "$LOGIN_WORKERS"
}

# throughput WHO TRANSPORT ROUND URL PID [ARGS...]: warm-up, then the
# persistent and non-persistent runs of one round; the broker's CPU time of
# each goes to $WORK/r/WHO-TRANSPORT-MODE-ROUND.cpu. Notes of a backlog
# are dropped: non-persistent sends do not wait, so producers outrun
# consumers, and msg/s is the rate received.
throughput() {
	local who=$1 tr=$2 round=$3 url=$4 pid=$5 mode n persistent c0 name s notes=()
	shift 5
	local args=(--url "$url" --login app --passcode "$PASSWORD" "$@" --size 1024 --producers 4 --consumers 4)
	log "$who: round $round over $tr://: warm-up ($WARMUP_COUNT non-persistent messages)"
	pier_bench_run "$who $tr warm-up" "$WORK/r/$who-$tr-warm-$round.json" "$WORK/r/$who-$tr-warm-$round.err" \
		"${args[@]}" --destination "queue://security.warm" --persistent=false --count "$WARMUP_COUNT"
	for mode in persistent nonpersistent; do
		n=$PERSISTENT_COUNT persistent=true
		[[ $mode == persistent ]] || n=$NONPERSISTENT_COUNT persistent=false
		name="$who-$tr-$mode-$round"
		log "$who: round $round over $tr://: $mode ($n messages)"
		c0=$(cpu_ms "$pid")
		pier_bench_run "$who $tr $mode round $round" "$WORK/r/$name.json" "$WORK/r/$name.err" "${args[@]}" \
			--destination "queue://security.$tr.$mode" --persistent="$persistent" --count "$n"
		echo $(($(cpu_ms "$pid") - c0)) >"$WORK/r/$name.cpu"
	done
	for s in "${NOTES[@]}"; do
		[[ $s == *"warm-up"* || $s == *"backlog built up"* ]] || notes+=("$s")
	done
	NOTES=("${notes[@]}")
}

# reconnect WHO USERS: a master/slave pair of WHO (pier or amq), the
# clients on its master, the master killed.
reconnect() {
	local who=$1 users=$2 a b pa pb
	rm -rf "$WORK/pier-shared" "$WORK/amq-shared" "$WORK"/pier-ha-? "$WORK"/activemq-ha-?
	if [[ $who == pier ]]; then
		pa=$PIER_PORT pb=$((PIER_PORT + 1))
		start_pier ha-a "tcp://127.0.0.1:$pa" "$WORK/pier-shared/journal"
		start_pier ha-b "tcp://127.0.0.1:$pb" "$WORK/pier-shared/journal"
	else
		pa=$AMQ_PORT pb=$((AMQ_PORT + 2))
		start_amq a
		start_amq b
	fi
	a=${SERVER_PIDS[-2]} b=${SERVER_PIDS[-1]}
	log "$who: $RECONNECT_CLIENTS failover clients as $users user(s), then kill -9 of the master"
	secbench "$who-reconnect-$users" reconnect --url "failover:(tcp://127.0.0.1:$pa,tcp://127.0.0.1:$pb)?$RECONNECT_OPTS" \
		--password "$PASSWORD" --prefix u --users "$users" --clients "$RECONNECT_CLIENTS" \
		--kill "$a" --watch "127.0.0.1:$pb" --pid "$b"
	stop_server
}

# per_op MS N: MS milliseconds in µs per operation, or -.
per_op() {
	awk -v m="$1" -v n="$2" 'BEGIN { if (m ~ /^[0-9.]+$/ && n > 0) printf "%.0f", m * 1000 / n; else print "-" }'
}

# num V: V rounded to a whole number (or one decimal below 10), or -.
num() {
	awk -v v="$1" 'BEGIN { if (v !~ /^[0-9.]+$/) print "-"; else if (v < 10) printf "%.1f", v; else printf "%.0f", v }'
}

report_logins() {
	local row tr kind w p a
	printf '\n### Logins (OpenWire; one login = a connection opened, ConnectionInfo answered, and closed)\n\n'
	printf '| logins | at once | Pier logins/s | ActiveMQ logins/s | Pier/AMQ | Pier CPU µs/login | ActiveMQ CPU µs/login |\n'
	printf '|---|---:|---:|---:|---:|---:|---:|\n'
	for row in first-1 first-w tcp-cached-1 tcp-cached-w ssl-cached-1 ssl-cached-w; do
		w=1
		[[ $row != *-w ]] || w=$LOGIN_WORKERS
		case $row in
		first-*) kind="first, tcp:// ($FIRST_LOGINS users, each once)" ;;
		tcp-*) kind="cached, tcp:// (one user, $CACHED_LOGINS times)" ;;
		ssl-*) kind="cached, ssl:// (one user, $CACHED_LOGINS times)" ;;
		esac
		p=$(val "pier-$row" per_sec) a=$(val "amq-$row" per_sec)
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$kind" "$w" "$(num "$p")" "$(num "$a")" "$(ratio "$p" "$a")" \
			"$(num "$(val "pier-$row" cpu_us_per_login)")" "$(num "$(val "amq-$row" cpu_us_per_login)")"
	done
	printf '\nPier cached/first: %s (one at a time), %s (%s at once). ActiveMQ compares plain-text passwords: its first and cached logins take the same path.\n' \
		"$(ratio "$(val pier-tcp-cached-1 per_sec)" "$(val pier-first-1 per_sec)")" \
		"$(ratio "$(val pier-tcp-cached-w per_sec)" "$(val pier-first-w per_sec)")" "$LOGIN_WORKERS"
}

report_reconnect() {
	local u row key unit p a line head="| $RECONNECT_CLIENTS failover clients" sep="|---"
	printf '\n### Reconnect after kill -9 of the master (shared-directory master/slave, %s)\n\n' "$RECONNECT_OPTS"
	for u in $RECONNECT_USERS; do
		head+=" | Pier, $u user(s) | ActiveMQ, $u user(s) | Pier/AMQ"
		sep+="|---:|---:|---:"
	done
	printf '%s |\n%s|\n' "$head" "$sep"
	for row in "connect all to the master, s:connect_s" "master CPU µs per login while connecting:connect_cpu_us_per_login" \
		"kill → new master listening, s:kill_to_listen_s" "kill → all resumed (OnResumed), s:kill_to_resumed_s" \
		"listening → all resumed, s:listen_to_resumed_s" "kill → all logins answered, s:kill_to_answered_s" \
		"listening → all answered, s:listen_to_answered_s" "listening → half answered, s:listen_to_answered_p50_s" \
		"new master CPU, kill → listening, ms:cpu_takeover_ms" "new master CPU, listening → all answered, ms:cpu_logins_ms" \
		"new master CPU µs per login:cpu_us_per_login" "clients answered:answered"; do
		key=${row##*:}
		line="| ${row%:*}"
		for u in $RECONNECT_USERS; do
			p=$(val "pier-reconnect-$u" "$key") a=$(val "amq-reconnect-$u" "$key")
			if [[ $key == *_s ]]; then
				line+=" | $p | $a | $(ratio "$p" "$a")"
			else
				line+=" | $(num "$p") | $(num "$a") | $(ratio "$p" "$a")"
			fi
		done
		printf '%s |\n' "$line"
	done
}

# median V...: the median of the numbers among V (the lower middle one of
# an even count), or -.
median() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# spread V...: "min–max" of the numbers among V, or "".
spread() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR > 1) printf "%s–%s", lo, hi }'
}

report_throughput() {
	local mode tr n label w r m rates cpus
	local -A rate cpu range
	printf '\n### Throughput (pier bench, OpenWire, 1 KiB, 4 producers / 4 consumers, one queue, logged in; median of %s rounds, range in brackets)\n\n' "$ROUNDS"
	printf '| messages | transport | Pier msg/s | ActiveMQ msg/s | Pier/AMQ | Pier CPU µs/msg | ActiveMQ CPU µs/msg |\n'
	printf '|---|---|---:|---:|---:|---:|---:|\n'
	for mode in persistent nonpersistent; do
		n=$PERSISTENT_COUNT label="persistent, $PERSISTENT_COUNT"
		[[ $mode == persistent ]] || n=$NONPERSISTENT_COUNT label="non-persistent, $NONPERSISTENT_COUNT"
		for tr in tcp ssl; do
			for w in pier amq; do
				rates=() cpus=()
				for ((r = 1; r <= ROUNDS; r++)); do
					read -r -a m <<<"$(metrics "$WORK/r/$w-$tr-$mode-$r.json")"
					rates+=("${m[0]}")
					cpus+=("$(per_op "$(cat "$WORK/r/$w-$tr-$mode-$r.cpu" 2>/dev/null || echo -)" "$n")")
				done
				rate[$w-$tr]=$(median "${rates[@]}") range[$w-$tr]=$(spread "${rates[@]}")
				cpu[$w-$tr]=$(median "${cpus[@]}")
			done
			printf '| %s | %s:// | %s%s | %s%s | %s | %s | %s |\n' "$label" "$tr" \
				"${rate[pier-$tr]}" "${range[pier-$tr]:+ (${range[pier-$tr]})}" \
				"${rate[amq-$tr]}" "${range[amq-$tr]:+ (${range[amq-$tr]})}" \
				"$(ratio "${rate[pier-$tr]}" "${rate[amq-$tr]}")" "${cpu[pier-$tr]}" "${cpu[amq-$tr]}"
		done
		printf '| %s | ssl/tcp | %s | %s | | %s | %s |\n' "$label" "$(ratio "${rate[pier-ssl]}" "${rate[pier-tcp]}")" \
			"$(ratio "${rate[amq-ssl]}" "${rate[amq-tcp]}")" "$(ratio "${cpu[pier-ssl]}" "${cpu[pier-tcp]}")" \
			"$(ratio "${cpu[amq-ssl]}" "${cpu[amq-tcp]}")"
	done
	printf '\n(msg/s: received per second; non-persistent producers do not wait for the broker and outrun the consumers.)\n'
}

# run_broker WHO: the logins and throughput of one broker (reconnect apart).
# ActiveMQ runs once with both connectors; Pier, with one OpenWire
# listener, once per transport and round, on one data directory.
run_broker() {
	local who=$1 pid r tr url ca=(--ca-file "$WORK/certs/group-ca.crt")
	if [[ $who == amq ]]; then
		start_amq
		pid=${SERVER_PIDS[-1]}
		if [[ "${SKIP_LOGINS:-0}" != 1 ]]; then
			logins amq tcp "tcp://127.0.0.1:$AMQ_PORT" "$pid"
			logins amq ssl "ssl://127.0.0.1:$((AMQ_PORT + 1))" "$pid" "${ca[@]}"
		fi
		for ((r = 1; r <= ROUNDS; r++)); do
			[[ "${SKIP_THROUGHPUT:-0}" != 1 ]] || break
			throughput amq tcp "$r" "tcp://127.0.0.1:$AMQ_PORT" "$pid"
			throughput amq ssl "$r" "ssl://127.0.0.1:$((AMQ_PORT + 1))" "$pid" "${ca[@]}"
		done
		stop_server
		return
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		for tr in tcp ssl; do
			[[ "${SKIP_THROUGHPUT:-0}" != 1 || $r == 1 ]] || return 0
			url="$tr://127.0.0.1:$PIER_PORT"
			[[ $tr == ssl ]] || ca=()
			[[ $tr == tcp ]] || ca=(--ca-file "$WORK/certs/group-ca.crt")
			start_pier single "$url"
			pid=${SERVER_PIDS[-1]}
			[[ "${SKIP_LOGINS:-0}" == 1 || $r != 1 ]] || logins pier "$tr" "$url" "$pid" "${ca[@]}"
			[[ "${SKIP_THROUGHPUT:-0}" == 1 ]] || throughput pier "$tr" "$r" "$url" "$pid" "${ca[@]}"
			stop_server
		done
	done
}

main() {
	local who u s
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	command -v python3 >/dev/null || die "python3 is not installed"
	command -v go >/dev/null || die "go is not installed (bench/security is built with it)"
	raise_nofile
	install_deps
	[[ "${SKIP_AMQ:-0}" == 1 ]] || install_activemq
	command -v keytool >/dev/null || die "keytool is not installed (it comes with ActiveMQ's JRE)"
	build_pier
	log "building bench/security"
	SECBENCH="$WORK/security"
	(cd "$ROOT" && go build -o "$SECBENCH" ./bench/security)
	make_security
	log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	for who in amq pier; do
		[[ $who != amq || "${SKIP_AMQ:-0}" != 1 ]] || continue
		[[ $who != pier || "${SKIP_PIER:-0}" != 1 ]] || continue
		[[ "${SKIP_LOGINS:-0}${SKIP_THROUGHPUT:-0}" == 11 ]] || run_broker "$who"
		if [[ "${SKIP_RECONNECT:-0}" != 1 ]]; then
			for u in $RECONNECT_USERS; do
				reconnect "$who" "$u"
			done
		fi
	done
	printf '\n## Security: Pier and ActiveMQ 5.17, %s, %s cores\n' "$(date -u +%Y-%m-%d)" "$(nproc)"
	[[ "${SKIP_LOGINS:-0}" == 1 ]] || report_logins
	[[ "${SKIP_RECONNECT:-0}" == 1 ]] || report_reconnect
	[[ "${SKIP_THROUGHPUT:-0}" == 1 ]] || report_throughput
	printf '\n(CPU: utime + stime of the broker process in /proc/PID/stat over the run, all threads, %s ticks/s.)\n' "$CLK_TCK"
	for s in "${NOTES[@]}"; do
		printf 'note: %s\n' "$s"
	done
}

main "$@"
