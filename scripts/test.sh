#!/usr/bin/env bash
# scripts/test.sh: the one command that runs every test of Pier, on a fresh
# Debian machine with Go installed (run it as root, or with password-less
# sudo, for the apt step). CI runs it through .ci/run.
#
# Steps, in order (each counted in the final "N passed, N failed" line):
#   1. apt      install the system packages listed in APT_PACKAGES (skipped
#               when dpkg says they are all installed, or PIER_SKIP_APT=1)
#   2. modules  go mod download
#   3. gofmt    gofmt -l must print nothing
#   4. vet      go vet ./...
#   5. unit     go test -race -count=1 ./...   (the rules in test/rules too)
#   6. build    go build ./cmd/pier into a temporary PIER_BIN (when cmd/pier exists)
#   7. cross-process suites, in lexical order, stopping at the first failure:
#      a. Go suites: every directory under test/ holding a file tagged
#         //go:build crossprocess, run as
#         go test -tags crossprocess -count=1 -timeout $SUITE_TIMEOUT ./test/<dir>/
#      b. scripts: every executable test/run-*.sh, run from the repository root
#         (name them run-10-foo.sh, run-20-bar.sh to order them).
#      Both get PIER_BIN (absolute path of the pier binary, empty if there is
#      no cmd/pier yet) and PIER_ROOT (the repository root) in the environment.
#
# A failure in apt or modules stops the run; other steps keep going so that
# one run reports every problem. The exit status is non-zero on any failure.
set -uo pipefail

# System packages the tests need (python3-stomp: the STOMP interop client;
# libactivemq-java: the ActiveMQ 5.17 JMS client for the OpenWire suite, which
# is compiled with openjdk-17-jdk-headless; activemq: the real ActiveMQ 5.17
# broker the Go client's suite also runs against; iproute2, mount and
# e2fsprogs: network namespaces and a loop-mounted ext4 for test/cluster's
# partition and power-loss tests; postgresql and mariadb-server: the SQL
# store's tests start private PostgreSQL 15 and MariaDB servers of their own
# on loopback, never the packages' system services; openssl: test/security
# makes its certificates with it, keytool comes with the JDK; chromium:
# test/console drives the web console's pages in it, headless; zookeeper:
# ZooKeeper discovery's tests (internal/replication/zkgroup, test/cluster)
# start private ZooKeeper servers of their own on loopback through
# internal/zktest, never the package's system service; mosquitto-clients:
# the MQTT codec's interop test decodes what mosquitto_pub sends, and
# test/mqtt runs mosquitto_pub and mosquitto_sub against Pier;
# python3-paho-mqtt: test/mqtt's Python MQTT 3.1.1 and 5 client).
APT_PACKAGES=(python3-stomp libactivemq-java openjdk-17-jdk-headless activemq gcc libc6-dev iproute2 mount e2fsprogs postgresql mariadb-server openssl chromium zookeeper mosquitto-clients python3-paho-mqtt)

UNIT_TIMEOUT=${UNIT_TIMEOUT:-15m}   # go test -race ./...
SUITE_TIMEOUT=${SUITE_TIMEOUT:-10m} # each cross-process suite

cd "$(dirname "$0")/.." || exit 1
PIER_ROOT=$(pwd)
export PIER_ROOT

passed=0
failed=0
results=()

summary() {
	echo
	echo "== summary"
	printf '%s\n' "${results[@]}"
	echo "$passed passed, $failed failed"
}

# step NAME COMMAND...: run one counted step.
step() {
	local name=$1
	shift
	echo "== $name: $*"
	local start=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		results+=("ok   $name ($((SECONDS - start))s)")
		return 0
	fi
	failed=$((failed + 1))
	results+=("FAIL $name ($((SECONDS - start))s)")
	return 1
}

apt_install() {
	if [[ ${PIER_SKIP_APT:-} == 1 ]]; then
		echo "skipped (PIER_SKIP_APT=1)"
		return 0
	fi
	if dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
		echo "already installed: ${APT_PACKAGES[*]}"
		return 0
	fi
	local sudo=()
	if [[ $(id -u) != 0 ]]; then
		if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
			echo "need root (or password-less sudo) to install: ${APT_PACKAGES[*]}" >&2
			return 1
		fi
		sudo=(sudo -n)
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q &&
		"${sudo[@]}" apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
}

gofmt_clean() {
	local out
	out=$(gofmt -l . 2>&1) || { echo "$out"; return 1; }
	if [[ -n $out ]]; then
		echo "not gofmt-formatted (run gofmt -w):"
		echo "$out"
		return 1
	fi
}

build_pier() {
	PIER_BIN=
	if [[ ! -d cmd/pier ]]; then
		echo "no cmd/pier yet: PIER_BIN left empty"
		return 0
	fi
	PIER_BIN=$(mktemp -d)/pier
	go build -o "$PIER_BIN" ./cmd/pier
}

go_suites() {
	grep -rlE --include='*.go' '^//go:build .*\bcrossprocess\b' test 2>/dev/null |
		xargs -r -n1 dirname | sort -u
}

run_script() {
	timeout --kill-after=30s "$SUITE_TIMEOUT" "$1"
}

if ! command -v go >/dev/null; then
	echo "go is not installed" >&2
	failed=1
	summary
	exit 1
fi

if ! step apt apt_install || ! step modules go mod download; then
	summary
	exit 1
fi
step gofmt gofmt_clean
step vet go vet ./...
step unit go test -race -count=1 -timeout "$UNIT_TIMEOUT" ./...
PIER_BIN=
step build build_pier
export PIER_BIN

suites_ok=1
for dir in $(go_suites); do
	step "suite $dir" go test -tags crossprocess -count=1 -timeout "$SUITE_TIMEOUT" "./$dir/" || {
		suites_ok=0
		break
	}
done
if ((suites_ok)); then
	for script in test/run-*.sh; do
		[[ -e $script ]] || continue
		if [[ ! -x $script ]]; then
			echo "== $script is not executable" >&2
			failed=$((failed + 1))
			results+=("FAIL $script (not executable)")
			break
		fi
		step "script $script" run_script "$script" || break
	done
fi

summary
((failed == 0))
