#!/usr/bin/env bash
# A network of two brokers, Pier next to ActiveMQ 5.17, on this machine over
# loopback, both measured with the same client: `pier bench` over OpenWire
# (tcp://), persistent messages (each send waits for the broker), 1 KiB
# bodies, one queue per scenario. Producers connect to broker A, consumers
# to broker B (`pier bench --consume-url`), so every message crosses A's
# network connector to B (store and forward: A forwards a queue's messages
# while B has consumers on it). Both directions are configured, as people
# deploy it: A has a connector to B and B one to A, each one-way
# (ActiveMQ: duplex="false"). As the reference, the same scenarios run with
# producers and consumers on one broker without any connector, so the cost
# of the hop shows. Each scenario (producers x consumers, default 1x1 and
# 4x4) first sends WARMUP unmeasured messages (which also waits for the
# bridge to see B's consumers), then COUNT measured ones; the report gives
# the receive rate (msg/s) and the end-to-end p50/p99 latency (send on A to
# receipt on B) per scenario and broker, and the ratio Pier/ActiveMQ.
#
# One kind of broker runs at a time, each broker with a fresh data
# directory in the temp dir:
#
#   1. ActiveMQ 5.17 (Debian's `activemq` package), KahaDB with journal disk
#      syncs, from private copies of the Debian instance config (see
#      start_activemq in bench/lib.sh), brokerName "single", then "a" and
#      "b"; the system service and /var/lib/activemq are left alone.
#   2. `pier serve` with the embedded journal (store.kind: journal), named
#      "single", then "a" and "b" with network_connectors to-b and to-a.
#
# Both brokers of a pair share this machine's cores and disk, which a real
# network of brokers would not. The disk's 1 KiB synchronous-write rate is
# printed: it bounds persistent throughput, and a hop syncs on both brokers.
#
# Usage: bench/compare-network.sh         (as root: may apt-get install activemq)
# Environment: COUNT (measured messages per run over all producers, default
#   5000), WARMUP (unmeasured messages before each run, default 500; 0 skips
#   it), SCENARIOS (default "1x1 4x4", producers x consumers), DRAIN_TIMEOUT
#   (how long consumers may get nothing after the sends end, default 30s),
#   CLIENT_TIMEOUT (seconds any one client may run, default 300),
#   START_TIMEOUT (120s), STOP_TIMEOUT (10s), AMQ_A_PORT (61666), AMQ_B_PORT
#   (61667), PIER_A_PORT (61676), PIER_B_PORT (61677): the single broker
#   uses A's port; AMQ_HEAP (each ActiveMQ JVM's heap, default 512M),
#   SKIP_AMQ=1, SKIP_PIER=1, SKIP_SINGLE=1, SKIP_NETWORK=1, PIER_BIN (a
#   prebuilt pier instead of `go build`), KEEP_WORK=1 (keep the temp dir with
#   configs, logs and JSON results). Shared functions: bench/lib.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-5000}
WARMUP=${WARMUP:-500}
SCENARIOS=${SCENARIOS:-1x1 4x4}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-30s}
AMQ_A_PORT=${AMQ_A_PORT:-61666}
AMQ_B_PORT=${AMQ_B_PORT:-61667}
PIER_A_PORT=${PIER_A_PORT:-61676}
PIER_B_PORT=${PIER_B_PORT:-61677}
AMQ_STOMP_PORT="" # start_activemq: OpenWire only
LAYOUTS=(single network)
NOTES=()
declare -A LABELS=([activemq]=ActiveMQ [pier]=Pier)

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
setup_work pier-compare-network

# start_brokers KIND LAYOUT: starts one broker (single) or B then A, each
# with a connector to the other (network), of KIND activemq or pier.
start_brokers() {
	local kind=$1 layout=$2 a=$AMQ_A_PORT b=$AMQ_B_PORT
	[[ $kind == activemq ]] || a=$PIER_A_PORT b=$PIER_B_PORT
	case $kind-$layout in
	activemq-single)
		AMQ_BROKER_NAME=single AMQ_OPENWIRE_PORT=$a start_activemq
		;;
	activemq-network)
		AMQ_BROKER_NAME=b AMQ_OPENWIRE_PORT=$b AMQ_NETWORK_NAME=to-a \
			AMQ_NETWORK_URI="static:(tcp://127.0.0.1:$a)" start_activemq
		AMQ_BROKER_NAME=a AMQ_OPENWIRE_PORT=$a AMQ_NETWORK_NAME=to-b \
			AMQ_NETWORK_URI="static:(tcp://127.0.0.1:$b)" start_activemq
		;;
	pier-single)
		start_pier_broker single "$a"
		;;
	pier-network)
		start_pier_broker b "$b" to-a "static:(tcp://127.0.0.1:$a)"
		start_pier_broker a "$a" to-b "static:(tcp://127.0.0.1:$b)"
		;;
	esac
}

# run_scenarios KIND LAYOUT: warm-up and measured run of every scenario;
# results go to $WORK/KIND-LAYOUT-<scenario>.json.
run_scenarios() {
	local kind=$1 layout=$2 s p c a=$AMQ_A_PORT b=$AMQ_B_PORT
	[[ $kind == activemq ]] || a=$PIER_A_PORT b=$PIER_B_PORT
	[[ $layout == network ]] || b=$a
	for s in $SCENARIOS; do
		p=${s%x*}
		c=${s#*x}
		((WARMUP == 0)) || bench "$kind" "$layout" "$s" warmup "$p" "$c" "$WARMUP" "$a" "$b"
		bench "$kind" "$layout" "$s" "" "$p" "$c" "$COUNT" "$a" "$b"
	done
}

# bench KIND LAYOUT SCENARIO RUN PRODUCERS CONSUMERS COUNT PORT CONSUME_PORT:
# one `pier bench` run (RUN "warmup", or "" for the measured run). A run that
# printed nothing leaves {}; a failed or short run leaves a note.
bench() {
	local kind=$1 layout=$2 s=$3 run=$4 p=$5 c=$6 n=$7 port=$8 cport=$9 out err what m
	out="$WORK/$kind-$layout-$s${run:+-$run}.json"
	err="$WORK/$kind-$layout-$s${run:+-$run}.err"
	what="${LABELS[$kind]} $layout $s ${run:-measured}"
	log "$what ($n messages, producers on :$port, consumers on :$cport)"
	if ! run_client "$out" "$err" "$PIER" bench --json --url "tcp://127.0.0.1:$port" \
		--consume-url "tcp://127.0.0.1:$cport" --destination "queue://compare.network.$layout.$s" \
		--persistent=true --size 1024 --producers "$p" --consumers "$c" --count "$n" \
		--drain-timeout "$DRAIN_TIMEOUT"; then
		log "$what FAILED:"
		NOTES+=("$what FAILED: $(head -n 1 "$err")")
	fi
	[[ ! -s "$err" ]] || sed 's/^/    /' "$err" >&2
	[[ -s "$out" ]] || echo '{}' >"$out"
	read -r -a m <<<"$(metrics "$out")"
	[[ ${m[3]} == - || ${m[3]} == "${m[4]}" ]] || NOTES+=("$what: sent ${m[3]} but received ${m[4]}")
	[[ -n "$run" || ${m[5]} == - ]] || ! awk -v s="${m[5]}" -v r="${m[0]}" 'BEGIN { exit !(s > 1.2 * r) }' ||
		NOTES+=("$what: producers sent ${m[5]} msg/s, consumers received ${m[0]} msg/s: a backlog built up, which the latencies include")
}

report() {
	local s layout i
	local -a amq pier single network
	printf '\npersistent, 1 KiB, OpenWire (pier bench), %s messages per run after %s unmeasured\n' "$COUNT" "$WARMUP"
	printf '%-12s %14s %10s %8s %9s %9s %9s %9s\n' scenario "ActiveMQ msg/s" "Pier msg/s" Pier/AMQ \
		"AMQ p50" "AMQ p99" "Pier p50" "Pier p99"
	for s in $SCENARIOS; do
		for layout in "${LAYOUTS[@]}"; do
			read -r -a amq <<<"$(metrics "$WORK/activemq-$layout-$s.json")"
			read -r -a pier <<<"$(metrics "$WORK/pier-$layout-$s.json")"
			printf '%-12s %14s %10s %8s %9s %9s %9s %9s\n' "$layout $s" "${amq[0]}" "${pier[0]}" \
				"$(ratio "${pier[0]}" "${amq[0]}")" "${amq[1]}" "${amq[2]}" "${pier[1]}" "${pier[2]}"
		done
	done
	printf '\n(single: producers and consumers on one broker, no connector; network: producers on A,\n consumers on B, A and B bridged both ways; msg/s is the receive rate; latencies in µs from send to receipt)\n'
	printf 'cost of the hop, network/single msg/s:'
	for s in $SCENARIOS; do
		for i in activemq pier; do
			read -r -a single <<<"$(metrics "$WORK/$i-single-$s.json")"
			read -r -a network <<<"$(metrics "$WORK/$i-network-$s.json")"
			printf ' %s %s %s;' "${LABELS[$i]}" "$s" "$(ratio "${network[0]}" "${single[0]}")"
		done
	done
	printf '\n'
	for s in "${NOTES[@]}"; do
		printf 'note: %s\n' "$s"
	done
}

main() {
	local s rate kind layout
	for s in $SCENARIOS; do
		[[ $s =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || die "bad scenario \"$s\" in SCENARIOS (want PRODUCERSxCONSUMERS, e.g. 4x4)"
	done
	[[ $COUNT =~ ^[1-9][0-9]*$ && $WARMUP =~ ^[0-9]+$ ]] || die "COUNT and WARMUP must be whole numbers (COUNT at least 1)"
	command -v timeout >/dev/null || die "timeout (coreutils) is not installed"
	command -v python3 >/dev/null || die "python3 is not installed"
	build_pier
	rate=$(fsync_rate) || rate="unknown"
	log "disk: $rate synchronous 1 KiB writes/s (dd oflag=dsync in $WORK)"

	[[ "${SKIP_AMQ:-0}" == 1 ]] || install_activemq
	for kind in activemq pier; do
		[[ $kind != activemq || "${SKIP_AMQ:-0}" != 1 ]] || continue
		[[ $kind != pier || "${SKIP_PIER:-0}" != 1 ]] || continue
		for layout in "${LAYOUTS[@]}"; do
			[[ $layout != single || "${SKIP_SINGLE:-0}" != 1 ]] || continue
			[[ $layout != network || "${SKIP_NETWORK:-0}" != 1 ]] || continue
			start_brokers "$kind" "$layout"
			run_scenarios "$kind" "$layout"
			stop_server
			sync
		done
	done
	report
	printf 'disk: %s synchronous 1 KiB writes/s\n' "$rate"
}

main "$@"
