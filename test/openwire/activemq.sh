#!/usr/bin/env bash
# Runs the real ActiveMQ 5.17 broker (Debian's `activemq` package) in the
# foreground, as its own java process, for the OpenWire interop suite:
#
#   test/openwire/activemq.sh BASE OPENWIRE_PORT [STOMP_PORT]
#
# BASE is a private instance directory (conf/, data/, tmp/ are created in
# it; an existing BASE is reused, so running the script again on the same
# BASE restarts the broker on the same KahaDB store). The configuration is a
# copy of Debian's /etc/activemq/instances-available/main/activemq.xml with
# OpenWire moved to 127.0.0.1:OPENWIRE_PORT (and a STOMP connector when
# STOMP_PORT is given), and the data directory moved under BASE; the system
# service and /var/lib/activemq are left alone. The approach, JVM options
# included, is the one of bench/compare-activemq.sh.
#
# Optional environment: AMQ_BROKER_NAME (brokerName, default localhost),
# AMQ_NETWORK_URI (adds a network connector "network" with that URI, e.g.
# static:(tcp://127.0.0.1:61617), for network-of-brokers tests) and
# AMQ_NETWORK_USER / AMQ_NETWORK_PASSWORD (its userName and password).
#
# The script ends with `exec java`, so its pid is the broker's: SIGKILL it to
# crash the broker, SIGTERM it for a clean stop.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 BASE OPENWIRE_PORT [STOMP_PORT]" >&2; exit 2; }
BASE=$1
OPENWIRE_PORT=$2
STOMP_PORT=${3:-}
AMQ_HOME=${AMQ_HOME:-/usr/share/activemq}
AMQ_INSTANCE=${AMQ_INSTANCE:-/etc/activemq/instances-available/main}

die() { printf 'activemq.sh: %s\n' "$*" >&2; exit 1; }

[[ -r "$AMQ_INSTANCE/activemq.xml" ]] || die "missing $AMQ_INSTANCE/activemq.xml (apt-get install activemq)"
[[ -r "$AMQ_HOME/bin/activemq.jar" ]] || die "missing $AMQ_HOME/bin/activemq.jar (apt-get install activemq)"
command -v java >/dev/null || die "java is not installed (apt-get install default-jre-headless)"

mkdir -p "$BASE/conf" "$BASE/data" "$BASE/tmp"
extra=""
if [[ -n "$STOMP_PORT" ]]; then
	extra="\n            <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:$STOMP_PORT\"/>"
fi
cp "$AMQ_INSTANCE/log4j2.properties" "$BASE/conf/" 2>/dev/null || true
network=""
if [[ -n "${AMQ_NETWORK_URI:-}" ]]; then
	login=""
	if [[ -n "${AMQ_NETWORK_USER:-}" ]]; then
		login=" userName=\"$AMQ_NETWORK_USER\" password=\"${AMQ_NETWORK_PASSWORD:-}\""
	fi
	network="<networkConnectors><networkConnector name=\"network\" uri=\"$AMQ_NETWORK_URI\" duplex=\"false\"$login/></networkConnectors>\n        "
fi
sed -e "s#<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:61616\"/>#<transportConnector name=\"openwire\" uri=\"tcp://127.0.0.1:$OPENWIRE_PORT\"/>$extra#" \
	-e "s#<transportConnectors>#$network<transportConnectors>#" \
	-e "s#brokerName=\"localhost\"#brokerName=\"${AMQ_BROKER_NAME:-localhost}\"#" \
	-e 's#\${activemq.base}/data#${activemq.data}#g' \
	"$AMQ_INSTANCE/activemq.xml" >"$BASE/conf/activemq.xml"
if [[ -n "$network" ]]; then
	grep -q "<networkConnector name=" "$BASE/conf/activemq.xml" ||
		die "could not add a network connector to $AMQ_INSTANCE/activemq.xml (layout changed?)"
fi
grep -q "tcp://127.0.0.1:$OPENWIRE_PORT\"" "$BASE/conf/activemq.xml" ||
	die "could not move the OpenWire connector in $AMQ_INSTANCE/activemq.xml (layout changed?)"

java_opens=(
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
cd "$BASE"
exec java -Xms256M -Xmx512M "${java_opens[@]}" \
	-Dactivemq.classpath="$BASE/conf" -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$BASE" \
	-Dactivemq.conf="$BASE/conf" -Dactivemq.data="$BASE/data" -Djava.io.tmpdir="$BASE/tmp" \
	-jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$BASE/conf/activemq.xml"
