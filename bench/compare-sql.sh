#!/usr/bin/env bash
# Pier's SQL store next to ActiveMQ 5.17's JDBC store, both on the same
# private PostgreSQL 15 on this machine, measured with the same client:
# `pier bench` over OpenWire (tcp://), persistent messages (each send waits
# for the broker), 1 KiB bodies, one queue per scenario, as many consumers as
# producers. Pier with its journal runs the same scenarios as the reference,
# so what the database costs shows. Scenarios (producers x consumers) default
# to 1x1, 4x4 and 16x16, each with COUNT messages per producer; the report
# gives the receive rate (msg/s), the ratio Pier SQL/ActiveMQ JDBC and the
# end-to-end p50/p99 latency (send to receipt) of each.
#
# One broker runs at a time, each with a fresh data directory in the temp
# dir, against one PostgreSQL started for this run:
#
#   0. PostgreSQL 15 (Debian's `postgresql` package), initdb'd in the temp
#      dir with trust authentication, on 127.0.0.1:PG_PORT, with databases
#      `amq` and `pier` (see start_postgres in bench/lib.sh); the system
#      service and /var/lib/postgresql are left alone. Durable defaults
#      (fsync, synchronous_commit on).
#   1. ActiveMQ 5.17 (Debian's `activemq` package) with jdbcPersistenceAdapter
#      on a commons-dbcp pool of 64 connections, Debian's
#      libpostgresql-jdbc-java driver, from a private copy of the Debian
#      instance config (start_activemq with AMQ_JDBC_URL).
#   2. `pier serve` with store.kind sql (driver postgres).
#   3. `pier serve` with its journal (store.kind journal).
#
# ActiveMQ's JDBC store can collapse under many producers (a 16x16 run here
# once gave 214 msg/s with p50 27 s): every client is bounded by
# CLIENT_TIMEOUT, and a run that fails or times out leaves a note. The
# disk's 1 KiB synchronous-write rate is printed: it bounds every commit.
#
# Usage: bench/compare-sql.sh             (as root: runs PostgreSQL as postgres,
#   may apt-get install activemq, postgresql and libpostgresql-jdbc-java)
# Environment: COUNT (messages per producer, default 1000), SCENARIOS
#   (default "1x1 4x4 16x16", producers x consumers), DRAIN_TIMEOUT (how long
#   consumers may get nothing after the sends end, default 30s),
#   CLIENT_TIMEOUT (seconds any one client may run, default 300),
#   START_TIMEOUT (120s), STOP_TIMEOUT (10s), PG_PORT (55432), AMQ_PORT
#   (61686), PIER_PORT (61696), PG_BIN (/usr/lib/postgresql/15/bin),
#   AMQ_HEAP (default 512M), SKIP_AMQ=1, SKIP_PIER_SQL=1, SKIP_JOURNAL=1,
#   PIER_BIN (a prebuilt pier instead of `go build`), KEEP_WORK=1 (keep the
#   temp dir with configs, logs and JSON results). Shared functions:
#   bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-1000}
SCENARIOS=${SCENARIOS:-1x1 4x4 16x16}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-30s}
PG_PORT=${PG_PORT:-55432}
AMQ_PORT=${AMQ_PORT:-61686}
PIER_PORT=${PIER_PORT:-61696}
AMQ_STOMP_PORT="" # start_activemq: OpenWire only
KINDS=(amq sql journal)
NOTES=()
declare -A LABELS=([amq]="ActiveMQ JDBC" [sql]="Pier SQL" [journal]="Pier journal")

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-sql

# install_deps installs what is missing of PostgreSQL 15 and its JDBC driver.
install_deps() {
	local pkgs=()
	[[ -x "$PG_BIN/initdb" ]] || pkgs+=(postgresql)
	[[ "${SKIP_AMQ:-0}" == 1 || -r /usr/share/java/postgresql.jar ]] || pkgs+=(libpostgresql-jdbc-java)
	((${#pkgs[@]})) || return 0
	[[ $(id -u) == 0 ]] || die "${pkgs[*]} not installed and installing needs root"
	log "installing ${pkgs[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}"
}

# start_broker KIND: starts ActiveMQ JDBC (amq), Pier SQL (sql) or Pier
# journal (journal).
start_broker() {
	case $1 in
	amq) AMQ_BROKER_NAME=jdbc AMQ_OPENWIRE_PORT=$AMQ_PORT \
		AMQ_JDBC_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/amq" start_activemq ;;
	sql) PIER_SQL_DSN="postgres://postgres@127.0.0.1:$PG_PORT/pier?sslmode=disable" \
		start_pier_broker sql "$PIER_PORT" ;;
	journal) start_pier_broker journal "$PIER_PORT" ;;
	esac
}

# bench KIND SCENARIO: one `pier bench` run into $WORK/KIND-SCENARIO.json
# (see pier_bench_run for the notes it leaves).
bench() {
	local kind=$1 s=$2 p c n port=$PIER_PORT
	p=${s%x*}
	c=${s#*x}
	n=$((COUNT * p))
	[[ $kind != amq ]] || port=$AMQ_PORT
	log "${LABELS[$kind]} $s ($n messages)"
	pier_bench_run "${LABELS[$kind]} $s" "$WORK/$kind-$s.json" "$WORK/$kind-$s.err" \
		--url "tcp://127.0.0.1:$port" --destination "queue://compare.sql.$s" --persistent=true \
		--size 1024 --producers "$p" --consumers "$c" --count "$n" --drain-timeout "$DRAIN_TIMEOUT"
}

# ms US: microseconds as milliseconds (one decimal below 10 ms), or -.
ms() {
	awk -v u="$1" 'BEGIN { if (u !~ /^[0-9.]+$/) print "-"; else if (u < 10000) printf "%.1f", u / 1000; else printf "%.0f", u / 1000 }'
}

report() {
	local s k lat
	local -A r
	local -a m
	printf '\npersistent, 1 KiB, OpenWire (pier bench), %s messages per producer, producers = consumers, one queue\n' "$COUNT"
	printf '%-9s %14s %9s %8s %12s %15s %15s %19s\n' scenario "AMQ JDBC msg/s" "Pier SQL" SQL/AMQ \
		"Pier journal" "AMQ p50/p99 ms" "SQL p50/p99 ms" "journal p50/p99 ms"
	for s in $SCENARIOS; do
		for k in "${KINDS[@]}"; do
			read -r -a m <<<"$(metrics "$WORK/$k-$s.json")"
			r[$k]=${m[0]}
			lat=$(ms "${m[1]}")/$(ms "${m[2]}")
			r[$k-lat]=$lat
		done
		printf '%-9s %14s %9s %8s %12s %15s %15s %19s\n' "$s" "${r[amq]}" "${r[sql]}" \
			"$(ratio "${r[sql]}" "${r[amq]}")" "${r[journal]}" "${r[amq-lat]}" "${r[sql-lat]}" "${r[journal-lat]}"
	done
	printf '\n(msg/s is the receive rate; latencies in ms from send to receipt; ActiveMQ and Pier SQL on the same PostgreSQL 15)\n'
	for s in "${NOTES[@]}"; do
		printf 'note: %s\n' "$s"
	done
}

main() {
	local s rate kind
	for s in $SCENARIOS; do
		[[ $s =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || die "bad scenario \"$s\" in SCENARIOS (want PRODUCERSxCONSUMERS, e.g. 4x4)"
	done
	[[ $COUNT =~ ^[1-9][0-9]*$ ]] || die "COUNT must be a whole number, at least 1"
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	command -v python3 >/dev/null || die "python3 is not installed"
	build_pier
	rate=$(fsync_rate) || rate="unknown"
	log "disk: $rate synchronous 1 KiB writes/s (dd oflag=dsync in $WORK)"

	install_deps
	[[ "${SKIP_AMQ:-0}" == 1 ]] || install_activemq
	start_postgres "$PG_PORT" amq pier
	for kind in "${KINDS[@]}"; do
		[[ $kind != amq || "${SKIP_AMQ:-0}" != 1 ]] || continue
		[[ $kind != sql || "${SKIP_PIER_SQL:-0}" != 1 ]] || continue
		[[ $kind != journal || "${SKIP_JOURNAL:-0}" != 1 ]] || continue
		start_broker "$kind"
		for s in $SCENARIOS; do
			bench "$kind" "$s"
		done
		stop_server
		sync
	done
	report
	printf 'disk: %s synchronous 1 KiB writes/s\n' "$rate"
}

main "$@"
