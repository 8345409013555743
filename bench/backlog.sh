#!/usr/bin/env bash
# What a deep queue costs Pier's memory: one `pier serve` (the embedded
# journal, default settings) over loopback, with bench/backlog (package
# client, OpenWire):
#
#   1. fill: COUNT persistent messages of SIZE bytes sent to queue
#      `backlog` with nobody consuming (PRODUCERS transacted sessions,
#      BATCH messages a commit);
#   2. restart: the broker stopped (SIGTERM) and started again on the same
#      data: the time until it listens, and its memory once it has;
#   3. drain: DRAIN messages received from the head of the queue while as
#      many are sent to its tail (the broker reads the backlog back from
#      the store and writes to it at once).
#
# The broker's resident memory (VmRSS) is sampled every 100 ms in each
# phase: the table gives the largest seen, and after the fill and the
# restart the value SETTLE seconds later; the journal's size on disk too.
# Takes about COUNT / 40,000 seconds to fill (50,000,000: ~25 minutes on
# a 2-core machine) and needs about COUNT * (SIZE + 60) bytes of disk in
# $TMPDIR.
#
# With GROUP=1 it runs a replicated group of three instead (store.kind:
# replicated, generated configs, all on this machine): the fill goes
# through the master; then the master is killed (SIGKILL) instead of
# restarted, and the drain goes to the replica that takes over; the table
# gives every replica's memory, the data each holds and how long the
# takeover took.
#
# Usage: bench/backlog.sh
# Environment: COUNT (50000000), SIZE (100), PRODUCERS (2), BATCH (1000),
#   DRAIN (1000000), SETTLE (10), PIER_PORT (61930), GROUP=1 with
#   GROUP_OPENWIRE_BASE (61940: replicas use +1..+3), GROUP_RAFT_BASE
#   (62940), GROUP_CONSOLE_BASE (8190), GROUP_ELECTION_TIMEOUT; PIER_BIN,
#   KEEP_WORK=1, CLIENT_TIMEOUT (7200 s), START_TIMEOUT (600 s),
#   STOP_TIMEOUT (120 s). Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-50000000}
SIZE=${SIZE:-100}
PRODUCERS=${PRODUCERS:-2}
BATCH=${BATCH:-1000}
DRAIN=${DRAIN:-1000000}
SETTLE=${SETTLE:-10}
PIER_PORT=${PIER_PORT:-61930}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-7200}
START_TIMEOUT=${START_TIMEOUT:-600}
STOP_TIMEOUT=${STOP_TIMEOUT:-120}
NOTES=()

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-backlog
mkdir -p "$WORK/r"
build_pier
log "building bench/backlog"
(cd "$ROOT" && go build -o "$WORK/backlog" ./bench/backlog)
CLK_TCK=$(getconf CLK_TCK)

# phase NAME PORT PID ARGS...: one bench/backlog run against the broker on
# PORT (process PID) into $WORK/r/NAME.
phase() {
	local name=$1 port=$2 pid=$3 rc=0
	shift 3
	log "$name"
	run_client "$WORK/r/$name" "$WORK/r/$name.err" "$WORK/backlog" "$name" --url "tcp://127.0.0.1:$port" \
		--pid "$pid" --clk-tck "$CLK_TCK" "$@" || rc=$?
	sed 's/^/    /' "$WORK/r/$name.err" >&2 || true
	((rc == 0)) || die "$name failed: $(tail -n 1 "$WORK/r/$name.err")"
	sed 's/^/    /' "$WORK/r/$name" >&2
}

# val NAME KEY: KEY of the result line of phase NAME.
val() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$WORK/r/$1"; }

# status PID FIELD: FIELD (VmRSS, VmHWM) of process PID in KiB.
status() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
mib() { awk -v v="$1" 'BEGIN { printf "%.0f", v / 1024 }'; }

fill_args=(--count "$COUNT" --producers "$PRODUCERS" --batch "$BATCH" --size "$SIZE")

single() {
	local pid
	start_pier_broker backlog "$PIER_PORT"
	phase fill "$PIER_PORT" "${SERVER_PIDS[-1]}" "${fill_args[@]}"
	sleep "$SETTLE"
	FILL_RSS=$(status "${SERVER_PIDS[-1]}" VmRSS)
	DISK=$(du -sm "$WORK/pier-backlog/data" | cut -f1)
	log "restarting"
	stop_server
	"$PIER" serve --config "$WORK/pier-backlog/pier.yaml" >>"$WORK/pier-backlog/serve.log" 2>&1 &
	SERVER_PIDS+=($!)
	pid=${SERVER_PIDS[-1]}
	START=$(wait_port "$PIER_PORT" "pier serve backlog" "$WORK/pier-backlog/serve.log")
	START_HWM=$(status "$pid" VmHWM)
	sleep "$SETTLE"
	START_RSS=$(status "$pid" VmRSS)
	phase drain "$PIER_PORT" "$pid" --count "$DRAIN" --size "$SIZE"
	stop_server

	printf '\n## Backlog: %s messages of %s bytes in one queue, %s, %s cores\n\n' "$COUNT" "$SIZE" "$(date -u +%Y-%m-%d)" "$(nproc)"
	printf '| | value |\n|---|---:|\n'
	printf '| fill: msg/s (%s transacted producers, %s a commit) | %.0f |\n' "$PRODUCERS" "$BATCH" "$(val fill msg_per_sec)"
	printf '| fill: broker CPU µs/msg | %s |\n' "$(val fill cpu_us_per_msg)"
	printf '| **fill: largest RSS, MiB** | %s |\n' "$(mib "$(val fill max_rss_kb)")"
	printf '| RSS %ss after the fill, MiB | %s |\n' "$SETTLE" "$(mib "$FILL_RSS")"
	printf '| journal on disk, MiB | %s |\n' "$DISK"
	printf '| restart: seconds until listening | %s |\n' "$START"
	printf '| **restart: largest RSS until listening, MiB** | %s |\n' "$(mib "$START_HWM")"
	printf '| RSS %ss after the restart, MiB | %s |\n' "$SETTLE" "$(mib "$START_RSS")"
	printf '| drain: msg/s received (as many sent) | %.0f |\n' "$(val drain msg_per_sec)"
	printf '| drain: broker CPU µs/msg | %s |\n' "$(val drain cpu_us_per_msg)"
	printf '| **drain: largest RSS, MiB** | %s |\n' "$(mib "$(val drain max_rss_kb)")"
}

group() {
	local i first start hwm=() disk=() after=() took
	REPLICAS=(a b c)
	GROUP_OPENWIRE_BASE=${GROUP_OPENWIRE_BASE:-61940}
	GROUP_RAFT_BASE=${GROUP_RAFT_BASE:-62940}
	GROUP_CONSOLE_BASE=${GROUP_CONSOLE_BASE:-8190}
	GROUP_ELECTION_TIMEOUT=${GROUP_ELECTION_TIMEOUT:-}
	MASTER="" BENCH_PORT="" LAST_RUN="" MISSING=""
	command -v curl >/dev/null || die "curl is not installed"
	start_group
	first=$MASTER
	phase fill "$BENCH_PORT" "${SERVER_PIDS[first]}" "${fill_args[@]}"
	sleep "$SETTLE"
	for i in "${!REPLICAS[@]}"; do
		hwm[i]=$(status "${SERVER_PIDS[i]}" VmHWM)
		disk[i]=$(du -sm "$WORK/pier-group/${REPLICAS[i]}/data" | cut -f1)
	done
	log "killing the master, replica ${REPLICAS[first]} (SIGKILL)"
	kill -KILL "${SERVER_PIDS[first]}"
	wait "${SERVER_PIDS[first]}" 2>/dev/null || true
	start=$SECONDS
	find_master "$first" || die "$MISSING"
	took=$((SECONDS - start))
	TAKEOVER_RSS=$(status "${SERVER_PIDS[MASTER]}" VmRSS)
	phase drain "$BENCH_PORT" "${SERVER_PIDS[MASTER]}" --count "$DRAIN" --size "$SIZE"
	for i in "${!REPLICAS[@]}"; do
		((i == first)) || after[i]=$(status "${SERVER_PIDS[i]}" VmHWM)
	done
	stop_server

	printf '\n## Backlog in a replicated group of three: %s messages of %s bytes in one queue, %s, %s cores\n\n' \
		"$COUNT" "$SIZE" "$(date -u +%Y-%m-%d)" "$(nproc)"
	printf '| | value |\n|---|---:|\n'
	printf '| fill through the master (%s): msg/s (%s transacted producers, %s a commit) | %.0f |\n' \
		"${REPLICAS[first]}" "$PRODUCERS" "$BATCH" "$(val fill msg_per_sec)"
	printf '| fill: the master'"'"'s CPU µs/msg | %s |\n' "$(val fill cpu_us_per_msg)"
	for i in "${!REPLICAS[@]}"; do
		printf '| **replica %s: largest RSS until the kill, MiB** | %s |\n' "${REPLICAS[i]}" "$(mib "${hwm[i]}")"
		printf '| replica %s: data on disk, MiB | %s |\n' "${REPLICAS[i]}" "${disk[i]}"
	done
	printf '| takeover: seconds from the kill until replica %s served | %s |\n' "${REPLICAS[MASTER]}" "$took"
	printf '| RSS of replica %s as it took over, MiB | %s |\n' "${REPLICAS[MASTER]}" "$(mib "$TAKEOVER_RSS")"
	printf '| drain from replica %s: msg/s received (as many sent) | %.0f |\n' "${REPLICAS[MASTER]}" "$(val drain msg_per_sec)"
	for i in "${!REPLICAS[@]}"; do
		((i == first)) || printf '| **replica %s: largest RSS by the end, MiB** | %s |\n' "${REPLICAS[i]}" "$(mib "${after[i]}")"
	done
}

if [[ "${GROUP:-0}" == 1 ]]; then group; else single; fi
for n in "${NOTES[@]}"; do printf '\n%s\n' "$n"; done
