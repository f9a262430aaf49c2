#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for development
# and tests. No Docker and no tarball download: the broker jars come from Maven
# Central through Maven, and the JVM is started straight from that classpath.
#
# Secured like production (issue #9), no plaintext listener anywhere:
#   - clients and the broker itself: SASL_SSL (TLS 1.2+, SCRAM-SHA-512) on the client port;
#   - the KRaft controller: TLS with client certificates (mutual TLS, CN=broker) on its port;
#   - StandardAuthorizer with allow.everyone.if.no.acl.found=false: nothing without an ACL.
# On first use it makes, under .local/kafka-security/ (mode 700; shared by every broker of this
# checkout): a CA (ca.crt, ca.key), the broker's certificate (127.0.0.1 and localhost) in a PKCS#12
# keystore, and a random password per principal in secrets/<name>.password (mode 600):
#   broker     the broker's own (inter-broker) principal       super user
#   hub-admin  the hub's admin tasks: topics, ACLs, hospitals   super user (it grants ACLs anyway)
#   hub        the hub's consumer                                ACLs granted by `hub run` / `hub hospitals sync`
#   hub-relay  the hub's outbox relay                            likewise
# Their SCRAM credentials are written into the KRaft metadata when the storage is formatted;
# hospitals' credentials are added at runtime by `hub hospitals add`.
#
#   deploy/local/kafka.sh fetch    download the broker jars into .local/kafka/libs
#   deploy/local/kafka.sh start    format storage on first use, start, wait until ready
#   deploy/local/kafka.sh stop     SIGTERM, wait up to 30 s, then SIGKILL
#   deploy/local/kafka.sh status   prints running/stopped; exit 0 when running, 1 otherwise
#
# Environment:
#   HUB_LOCAL_KAFKA_PORT             client (SASL_SSL) port, default 19092
#   HUB_LOCAL_KAFKA_CONTROLLER_PORT  KRaft controller port, default 19093
#   HUB_LOCAL_KAFKA_HOME             the broker's folder (data, configuration, pid, lock and
#                                    logs), default .local/kafka with logs in .local/log; tests
#                                    start a second, throwaway broker with it. The jars stay
#                                    shared in .local/kafka/libs.
#
# Everything lives under <repo>/.local/ (git-ignored); the repo root is derived from
# this file's location so any clone works.
set -euo pipefail

KAFKA_VERSION=3.9.1
SCALA_VERSION=2.13
SLF4J_BINDING_VERSION=1.7.36

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=deploy/local/maven.sh
source "$ROOT/deploy/local/maven.sh"
LOCAL="$ROOT/.local"
SHARED_HOME="$LOCAL/kafka"  # the fetched jars (and the default broker's data)
LIBS="$SHARED_HOME/libs"
FETCH_LOCK_DIR="$LOCAL/run"
KAFKA_HOME="${HUB_LOCAL_KAFKA_HOME:-$SHARED_HOME}"
DATA="$KAFKA_HOME/data"
CONF="$KAFKA_HOME/server.properties"
LOG4J_CONF="$KAFKA_HOME/log4j.properties"
CLUSTER_ID_FILE="$KAFKA_HOME/cluster.id"
if [[ -n "${HUB_LOCAL_KAFKA_HOME:-}" ]]; then
    LOG_DIR="$KAFKA_HOME" RUN_DIR="$KAFKA_HOME"
else
    LOG_DIR="$LOCAL/log" RUN_DIR="$LOCAL/run"
fi
LOG_FILE="$LOG_DIR/kafka.log"
# Whatever the JVM itself prints (crashes, early startup errors) lands here.
OUT_FILE="$LOG_DIR/kafka.out"
PID_FILE="$RUN_DIR/kafka.pid"
MARKER="$LIBS/.fetched-kafka_${SCALA_VERSION}-${KAFKA_VERSION}"
SECURITY="$LOCAL/kafka-security"
SECRETS="$SECURITY/secrets"
PRINCIPALS=(broker hub-admin hub hub-relay)
# Written into the data folder once it was formatted with the principals' SCRAM credentials: data
# from before the broker was secured is formatted again (local development data only).
SECURED_MARKER="$DATA/.secured-scram"

PORT="${HUB_LOCAL_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${HUB_LOCAL_KAFKA_CONTROLLER_PORT:-19093}"
HOST=127.0.0.1
START_TIMEOUT=90
STOP_TIMEOUT=30
# Logged once by KafkaRaftServer when startup has finished (broker and controller).
READY_LINE="Kafka Server started"

log() { echo "kafka: $*"; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

for p in "$PORT" "$CONTROLLER_PORT"; do
    if ! [[ "$p" =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
        die "invalid port '$p'"
    fi
done
[[ "$PORT" != "$CONTROLLER_PORT" ]] || die "client and controller port must differ"

# True when something accepts TCP connections on HOST:$1.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# True when process $1 exists and is not a zombie (a child that died during our
# startup wait stays a zombie until we exit, and kill -0 still succeeds on it).
alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# Prints the pid of our broker when it is alive; removes a stale pid file otherwise.
# A pid is only trusted if that process really is a kafka.Kafka JVM (pids get reused).
running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    if [[ -n "$pid" ]] && alive "$pid" &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
        echo "$pid"
        return 0
    fi
    rm -f "$PID_FILE"
    return 1
}

write_pom() {
    mkdir -p "$SHARED_HOME"
    maven_pom hub-local-kafka "$KAFKA_VERSION" "Generated by deploy/local/kafka.sh: only used to pull the broker jars." "
    <!-- The broker; its pom carries the broker's runtime dependencies. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA_VERSION}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <!-- Logging binding: Kafka 3.9 logs through slf4j 1.7 + reload4j (log4j 1 API). -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>${SLF4J_BINDING_VERSION}</version>
    </dependency>" >"$SHARED_HOME/pom.xml"
}

# Fails when a jar the broker cannot run without is missing from $1.
check_classpath() {
    local dir="$1" missing=() pattern
    for pattern in \
        "kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar" \
        "kafka-clients-${KAFKA_VERSION}.jar" \
        "kafka-server-${KAFKA_VERSION}.jar" \
        "kafka-server-common-${KAFKA_VERSION}.jar" \
        "kafka-metadata-${KAFKA_VERSION}.jar" \
        "kafka-raft-${KAFKA_VERSION}.jar" \
        "kafka-storage-${KAFKA_VERSION}.jar" \
        "kafka-group-coordinator-${KAFKA_VERSION}.jar" \
        "kafka-transaction-coordinator-${KAFKA_VERSION}.jar" \
        "scala-library-*.jar" \
        "scala-reflect-*.jar" \
        "jackson-databind-*.jar" \
        "jopt-simple-*.jar" \
        "argparse4j-*.jar" \
        "metrics-core-*.jar" \
        "slf4j-api-*.jar" \
        "slf4j-reload4j-${SLF4J_BINDING_VERSION}.jar" \
        "reload4j-*.jar"; do
        compgen -G "$dir/$pattern" >/dev/null || missing+=("$pattern")
    done
    ((${#missing[@]} == 0)) || die "broker classpath incomplete, missing: ${missing[*]}"
    # A second SLF4J binding (e.g. logback dragged in by zookeeper) would make the
    # binding choice random and ignore our log4j.properties.
    if compgen -G "$dir/logback-classic-*.jar" >/dev/null; then
        die "unexpected logback-classic on the classpath (second SLF4J binding)"
    fi
}

cmd_fetch() {
    if [[ -f "$MARKER" ]]; then
        log "jars for kafka_${SCALA_VERSION} ${KAFKA_VERSION} already in $LIBS"
        return 0
    fi
    command -v java >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"
    write_pom
    maven_copy_dependencies "$SHARED_HOME" "$LIBS" "$MARKER" "$LOCAL/log/kafka-fetch.log" check_classpath \
        "kafka_${SCALA_VERSION} ${KAFKA_VERSION}"
}

# Makes the CA, the broker's certificate and keystore and the principals' passwords, once.
ensure_security() {
    mkdir -p "$SECURITY"
    chmod 700 "$SECURITY"
    exec 8>"$SECURITY/.lock"
    flock -w 120 8 || die "timed out waiting for another kafka.sh making $SECURITY"
    if ! command -v openssl >/dev/null; then
        [[ $EUID -eq 0 ]] || die "openssl not installed; run: sudo apt-get install -y openssl"
        log "openssl not installed, installing Debian's openssl package"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null 2>&1 ||
            { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null; } ||
            die "could not install openssl"
    fi
    mkdir -p "$SECRETS"
    chmod 700 "$SECRETS"
    local name
    for name in "${PRINCIPALS[@]}" keystore; do
        if [[ ! -s "$SECRETS/$name.password" ]]; then
            (umask 077 && openssl rand -hex 24 >"$SECRETS/$name.password.tmp")
            mv "$SECRETS/$name.password.tmp" "$SECRETS/$name.password"
        fi
    done
    if [[ ! -s "$SECURITY/ca.crt" || ! -s "$SECURITY/ca.key" ]]; then
        log "making the local Kafka CA in $SECURITY"
        (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
            -days 3650 -subj "/O=hub local development/CN=hub local Kafka CA" \
            -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -keyout "$SECURITY/ca.key.tmp" -out "$SECURITY/ca.crt.tmp" 2>>"$SECURITY/openssl.log") ||
            die "could not make the CA (see $SECURITY/openssl.log)"
        mv "$SECURITY/ca.key.tmp" "$SECURITY/ca.key"
        mv "$SECURITY/ca.crt.tmp" "$SECURITY/ca.crt"
        chmod 644 "$SECURITY/ca.crt"
        rm -f "$SECURITY/broker.p12"  # a new CA: the broker's certificate is made again
    fi
    if [[ ! -s "$SECURITY/broker.p12" ]]; then
        log "making the broker's certificate (127.0.0.1, localhost)"
        local ext="$SECURITY/broker.ext"
        printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$ext"
        (umask 077 &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
                -subj "/O=hub local development/CN=broker" -keyout "$SECURITY/broker.key" \
                -out "$SECURITY/broker.csr" &&
            openssl x509 -req -in "$SECURITY/broker.csr" -CA "$SECURITY/ca.crt" -CAkey "$SECURITY/ca.key" \
                -CAcreateserial -days 825 -sha256 -extfile "$ext" -out "$SECURITY/broker.crt" &&
            openssl pkcs12 -export -inkey "$SECURITY/broker.key" -in "$SECURITY/broker.crt" \
                -certfile "$SECURITY/ca.crt" -name broker -passout "file:$SECRETS/keystore.password" \
                -out "$SECURITY/broker.p12.tmp") 2>>"$SECURITY/openssl.log" ||
            die "could not make the broker's certificate (see $SECURITY/openssl.log)"
        mv "$SECURITY/broker.p12.tmp" "$SECURITY/broker.p12"
        rm -f "$SECURITY/broker.csr" "$ext"
    fi
    exec 8>&-
}

secret() { tr -d '\n' <"$SECRETS/$1.password"; }

write_configs() {
    mkdir -p "$KAFKA_HOME" "$DATA" "$LOG_DIR" "$RUN_DIR"
    # Regenerated on every start so the port variables always take effect. It holds the keystore's
    # and the broker's passwords: readable by this user only.
    (umask 077 && : >"$CONF")
    chmod 600 "$CONF"
    cat >"$CONF" <<EOF
# Generated by deploy/local/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${CONTROLLER_PORT}
listeners=SASL_SSL://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=SASL_SSL://${HOST}:${PORT}
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
log.dirs=${DATA}

# TLS: the broker's certificate from the local CA; clients verify it (and its host name).
ssl.keystore.type=PKCS12
ssl.keystore.location=${SECURITY}/broker.p12
ssl.keystore.password=$(secret keystore)
ssl.truststore.type=PEM
ssl.truststore.location=${SECURITY}/ca.crt
ssl.enabled.protocols=TLSv1.3,TLSv1.2
# The controller listener takes only clients with a certificate of the CA (the broker itself).
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^.*CN=([^,]+).*$/\$1/,DEFAULT

# SASL/SCRAM-SHA-512 on the client listener, for clients and the broker itself.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$(secret broker)";
# Connections authenticate again every 10 minutes: a deleted credential (a disabled hospital)
# cannot keep an old connection open (its ACLs are gone at once anyway).
connections.max.reauth.ms=600000

# Authorisation: nothing is allowed without an ACL.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:hub-admin

# Single node: every internal topic has exactly one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Topics are created explicitly by the application or tests.
num.partitions=3
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0

# Small machine (2 cores).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=268435456
EOF

    cat >"$LOG4J_CONF" <<EOF
# Generated by deploy/local/kafka.sh: everything goes to one rolling file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${LOG_FILE}
log4j.appender.file.Append=true
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n

# Quieten the chattiest loggers.
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

format_storage() {
    # meta.properties appears in the log dir once StorageTool has formatted it.
    if [[ -f "$DATA/meta.properties" && -f "$SECURED_MARKER" ]]; then
        return 0
    fi
    if [[ -f "$DATA/meta.properties" ]]; then
        log "the data in $DATA predates the secured broker (no SCRAM credentials): formatting it again"
        find "$DATA" -mindepth 1 -delete
    fi
    local cid
    if [[ -s "$CLUSTER_ID_FILE" ]]; then
        cid="$(<"$CLUSTER_ID_FILE")"
    else
        cid="$(java -cp "$LIBS/*" -Dlog4j.configuration="file:$LOG4J_CONF" \
            kafka.tools.StorageTool random-uuid 2>>"$OUT_FILE" | tail -n 1)"
        [[ -n "$cid" ]] || die "could not generate a cluster id (see $OUT_FILE)"
        echo "$cid" >"$CLUSTER_ID_FILE"
    fi
    log "formatting $DATA (cluster id $cid)"
    local scram=() name
    for name in "${PRINCIPALS[@]}"; do
        scram+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(secret "$name")]")
    done
    java -cp "$LIBS/*" -Dlog4j.configuration="file:$LOG4J_CONF" \
        kafka.tools.StorageTool format -t "$cid" -c "$CONF" "${scram[@]}" >>"$OUT_FILE" 2>&1 ||
        { tail -n 20 "$OUT_FILE" >&2; die "storage format failed"; }
    date -u +%Y-%m-%dT%H:%M:%SZ >"$SECURED_MARKER"
}

# Prints what this start attempt wrote to the broker log and the JVM output file,
# given their sizes before the attempt.
show_failure() {
    tail -c +"$(($1 + 1))" "$LOG_FILE" 2>/dev/null | tail -n 40 >&2 || true
    tail -c +"$(($2 + 1))" "$OUT_FILE" 2>/dev/null | tail -n 20 >&2 || true
}

cmd_start() {
    local pid
    if pid="$(running_pid)"; then
        local actual
        actual="$(sed -n 's|^advertised.listeners=SASL_SSL://||p' "$CONF" 2>/dev/null || true)"
        log "already running (pid $pid, bootstrap ${actual:-${HOST}:${PORT}})"
        if [[ -n "$actual" && "$actual" != "${HOST}:${PORT}" ]]; then
            log "note: not on ${HOST}:${PORT}; stop and start again to move it"
        fi
        return 0
    fi
    [[ -f "$MARKER" ]] || die "broker jars missing; run '$0 fetch' first"
    for p in "$PORT" "$CONTROLLER_PORT"; do
        if port_open "$p"; then
            die "port $p on $HOST is already in use by another process (set HUB_LOCAL_KAFKA_PORT / HUB_LOCAL_KAFKA_CONTROLLER_PORT)"
        fi
    done

    local t0=$SECONDS
    ensure_security
    write_configs
    format_storage

    # Only the part of the log written by this start counts when looking for READY_LINE.
    local offset=0 out_offset=0
    [[ -f "$LOG_FILE" ]] && offset="$(stat -c %s "$LOG_FILE")"
    [[ -f "$OUT_FILE" ]] && out_offset="$(stat -c %s "$OUT_FILE")"

    # JVM flags follow Kafka's own launch scripts (G1, short pauses), with a small heap.
    # setsid detaches from our session so the broker survives the calling shell;
    # stdin/stdout/stderr are redirected so no pipe of the caller is held open, and the
    # lock fd (9) is closed so the broker does not keep holding our lock.
    cd "$KAFKA_HOME"
    setsid nohup java \
        -Xms256m -Xmx768m \
        -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$LOG4J_CONF" \
        -Dkafka.logs.dir="$LOG_DIR" \
        -cp "$LIBS/*" \
        kafka.Kafka "$CONF" \
        </dev/null >>"$OUT_FILE" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "started pid $pid, waiting up to ${START_TIMEOUT}s for ${HOST}:${PORT}"

    local deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! alive "$pid"; then
            rm -f "$PID_FILE"
            echo "kafka: broker exited during startup; last lines of $LOG_FILE and $OUT_FILE:" >&2
            show_failure "$offset" "$out_offset"
            exit 1
        fi
        if port_open "$PORT" &&
            tail -c +"$((offset + 1))" "$LOG_FILE" 2>/dev/null | grep -qF "$READY_LINE"; then
            log "ready on ${HOST}:${PORT} after $((SECONDS - t0)) s"
            return 0
        fi
        sleep 0.5
    done
    echo "kafka: not ready after ${START_TIMEOUT}s (left running as pid $pid); last lines of $LOG_FILE and $OUT_FILE:" >&2
    show_failure "$offset" "$out_offset"
    exit 1
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        log "not running"
        return 0
    fi
    log "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while alive "$pid" && ((SECONDS < deadline)); do
        sleep 0.5
    done
    if alive "$pid"; then
        log "still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while alive "$pid"; do sleep 0.2; done
    fi
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        # Report the port it was actually started with, not the current environment's.
        local actual
        actual="$(sed -n 's|^advertised.listeners=SASL_SSL://||p' "$CONF" 2>/dev/null || true)"
        echo "kafka: running (pid $pid, bootstrap ${actual:-${HOST}:${PORT}})"
        return 0
    fi
    echo "kafka: stopped"
    return 1
}

# Serialises start/stop of one broker folder (and fetches of the shared jars), so two callers
# running "up" at the same time cannot start two brokers or fill libs/ together.
take_lock() {
    mkdir -p "$1"
    exec 9>"$1/kafka.lock"
    flock -w 600 9 || die "timed out waiting for another kafka.sh of this checkout"
}

case "${1:-}" in
fetch) take_lock "$FETCH_LOCK_DIR" && cmd_fetch ;;
start) take_lock "$RUN_DIR" && cmd_start ;;
stop) take_lock "$RUN_DIR" && cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 {fetch|start|stop|status}" >&2
    exit 2
    ;;
esac
