# shellcheck shell=bash
# The secure variants (scripts/stack up secure): a throwaway CA made with openssl, a second
# single-node Kafka with only a SASL_SSL client listener (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN),
# a second ClickHouse 18.16 with only TLS ports (native and HTTPS), and TLS on the shared
# PostgreSQL (ssl=on by ALTER SYSTEM + reload, no restart) with a role that must use it.
# The plaintext services are left alone. Passwords are random per stack dir, kept in files.

SLUICE_SECURE_KAFKA_PORT="${SLUICE_SECURE_KAFKA_PORT:-19094}"
SLUICE_SECURE_KAFKA_CONTROLLER_PORT="${SLUICE_SECURE_KAFKA_CONTROLLER_PORT:-19095}"
SLUICE_SECURE_KAFKA_INTERNAL_PORT="${SLUICE_SECURE_KAFKA_INTERNAL_PORT:-19096}"
SLUICE_SECURE_CH_TCP_PORT="${SLUICE_SECURE_CH_TCP_PORT:-19440}"
SLUICE_SECURE_CH_HTTPS_PORT="${SLUICE_SECURE_CH_HTTPS_PORT:-18444}"
export SLUICE_SECURE_KAFKA_PORT SLUICE_SECURE_KAFKA_CONTROLLER_PORT SLUICE_SECURE_KAFKA_INTERNAL_PORT \
  SLUICE_SECURE_CH_TCP_PORT SLUICE_SECURE_CH_HTTPS_PORT

SECURE_DIR="$SLUICE_STACK_DIR/secure"
SECURE_TLS="$SECURE_DIR/tls"
SKAFKA_DIR="$SECURE_DIR/kafka"
SKAFKA_PIDFILE="$SKAFKA_DIR/kafka.pid"
SKAFKA_LOG="$LOG_DIR/kafka-secure.log"
SCH_DIR="$SECURE_DIR/clickhouse"
SCH_PIDFILE="$SCH_DIR/ch.pid"
SCH_LOG="$LOG_DIR/clickhouse-secure.log"
# The users every secure service knows; passwords in $SECURE_DIR/<service>-password.
SECURE_USER=sluice_secure

# secure_password NAME: prints the password kept in $SECURE_DIR/NAME-password, creating it once.
secure_password() {
  local f="$SECURE_DIR/$1-password"
  if [[ ! -s "$f" ]]; then
    mkdir -p "$SECURE_DIR"
    (umask 077 && printf 'S3cr3t-%s-%s' "$1" "$(head -c12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$f")
  fi
  cat "$f"
}

# secure_ca: a CA, a server certificate for localhost/127.0.0.1, a client certificate, and a
# second CA nobody trusts (for the untrusted-certificate tests). Made once per stack dir.
secure_ca() {
  ensure_pkgs openssl
  mkdir -p "$SECURE_TLS"
  chmod 755 "$SECURE_DIR" "$SECURE_TLS"
  [[ -s "$SECURE_TLS/server.crt" && -s "$SECURE_TLS/other-ca.pem" && -s "$SECURE_TLS/client.crt" ]] && return 0
  say "secure: generating a throwaway CA and certificates in $SECURE_TLS"
  local d=$SECURE_TLS log="$LOG_DIR/secure-openssl.log"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sluice test CA" \
      -keyout "$d/ca.key" -out "$d/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
      -extfile "$d/server.ext" -out "$d/server.crt"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=sluice" -keyout "$d/client.key" -out "$d/client.csr"
    printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >"$d/client.ext"
    openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
      -extfile "$d/client.ext" -out "$d/client.crt"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=someone else's CA" \
      -keyout "$d/other-ca.key" -out "$d/other-ca.pem"
    openssl pkcs12 -export -in "$d/server.crt" -inkey "$d/server.key" -certfile "$d/ca.pem" \
      -name server -out "$d/server.p12" -passout "pass:$(secure_password keystore)"
  } >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "secure: openssl failed; see $log"; }
  rm -f "$d"/*.csr "$d"/*.ext
  chmod 644 "$d"/*.pem "$d"/*.crt
  chmod 600 "$d"/*.key "$d/server.p12"
}

# --- PostgreSQL: ssl on the shared cluster, a role that may only log in over TLS ---

secure_pg_up() {
  pg_running || die "secure: PostgreSQL is not running (scripts/stack up pg)"
  local pw
  pw=$(secure_password pg)
  install -o postgres -g postgres -m 644 "$SECURE_TLS/server.crt" "$PG_DATA/sluice-server.crt"
  install -o postgres -g postgres -m 600 "$SECURE_TLS/server.key" "$PG_DATA/sluice-server.key"
  install -o postgres -g postgres -m 644 "$SECURE_TLS/ca.pem" "$PG_DATA/sluice-ca.pem"
  # pg_hba: the secure role over TLS only (first match wins); everything else unchanged.
  local hba="$PG_DATA/pg_hba.conf"
  if ! grep -q "sluice-secure" "$hba"; then
    local tmp
    tmp=$(mktemp)
    {
      echo "# sluice-secure (scripts/lib/secure.sh): $SECURE_USER only over TLS"
      echo "hostssl   all all 127.0.0.1/32 scram-sha-256  # sluice-secure"
      echo "hostnossl all $SECURE_USER 0.0.0.0/0 reject  # sluice-secure"
      cat "$hba"
    } >"$tmp"
    install -o postgres -g postgres -m 600 "$tmp" "$hba"
    rm -f "$tmp"
  fi
  pg_psql -d postgres >/dev/null <<EOF || die "secure: enabling PostgreSQL ssl failed; see $PG_LOG"
ALTER SYSTEM SET ssl = on;
ALTER SYSTEM SET ssl_cert_file = 'sluice-server.crt';
ALTER SYSTEM SET ssl_key_file = 'sluice-server.key';
ALTER SYSTEM SET ssl_ca_file = 'sluice-ca.pem';
ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2';
SELECT pg_reload_conf();
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$SECURE_USER') THEN
    CREATE ROLE $SECURE_USER LOGIN SUPERUSER REPLICATION PASSWORD '$pw';
  ELSE
    ALTER ROLE $SECURE_USER LOGIN SUPERUSER REPLICATION PASSWORD '$pw';
  END IF;
END\$\$;
EOF
  # The reload is asynchronous: wait until a TLS connection works.
  local i
  for i in $(seq 1 40); do
    [[ "$(pg_psql -d postgres -tAc "SHOW ssl")" == on ]] && break
    sleep 0.25
  done
  say "secure: PostgreSQL ssl=on at 127.0.0.1:$SLUICE_PG_PORT (role $SECURE_USER, TLS only)"
}

secure_pg_status() {
  if pg_running && [[ "$(pg_psql -d postgres -tAc "SHOW ssl" 2>/dev/null)" == on ]]; then
    echo "ssl=on 127.0.0.1:$SLUICE_PG_PORT (sslmode=verify-full, role $SECURE_USER)"
  else
    echo "ssl off"
  fi
}

# --- Kafka: a second single-node KRaft cluster, SASL_SSL clients only ---

skafka_running() { pid_alive "$SKAFKA_PIDFILE" "$SKAFKA_DIR/server.properties"; }

skafka_ready() {
  port_open "$SLUICE_SECURE_KAFKA_PORT" || return 1
  if command -v kcat >/dev/null; then
    kcat -b "127.0.0.1:$SLUICE_SECURE_KAFKA_INTERNAL_PORT" -L -m 3 >/dev/null 2>&1
  fi
}

skafka_write_config() {
  mkdir -p "$SKAFKA_DIR/data"
  local pw kspw
  pw=$(secure_password kafka)
  kspw=$(secure_password keystore)
  (umask 077 && cat >"$SKAFKA_DIR/server.properties" <<EOF
# Generated by scripts/stack (scripts/lib/secure.sh); rewritten on every 'up secure'.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$SLUICE_SECURE_KAFKA_CONTROLLER_PORT
# Clients: SASL_SSL only. INTERNAL (loopback plaintext) is the broker's own inter-broker
# listener and the setup's; it is not advertised to SASL_SSL clients' metadata.
listeners=SASL_SSL://127.0.0.1:$SLUICE_SECURE_KAFKA_PORT,INTERNAL://127.0.0.1:$SLUICE_SECURE_KAFKA_INTERNAL_PORT,CONTROLLER://127.0.0.1:$SLUICE_SECURE_KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://localhost:$SLUICE_SECURE_KAFKA_PORT,INTERNAL://127.0.0.1:$SLUICE_SECURE_KAFKA_INTERNAL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SECURE_USER="$pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$SECURE_TLS/server.p12
ssl.keystore.password=$kspw
ssl.key.password=$kspw
ssl.truststore.type=PEM
ssl.truststore.location=$SECURE_TLS/ca.pem
ssl.client.auth=requested
ssl.enabled.protocols=TLSv1.2,TLSv1.3
log.dirs=$SKAFKA_DIR/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
EOF
  )
}

skafka_up() {
  ensure_pkgs kcat
  kafka_jars
  if skafka_running; then
    say "kafka-secure: already running (pid $(pid_of "$SKAFKA_PIDFILE"))"
    WAIT_PIDFILE="$SKAFKA_PIDFILE" wait_until 90 kafka-secure "$SKAFKA_LOG" skafka_ready
    return 0
  fi
  skafka_write_config
  if [[ ! -f "$SKAFKA_DIR/data/meta.properties" ]]; then
    say "kafka-secure: formatting storage with SCRAM users ($SECURE_USER)"
    local cid pw
    cid=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    pw=$(secure_password kafka)
    java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$LOG4J2_CONF" -Dsluice.log.file="$LOG_DIR/kafka-secure-storage.log" \
      kafka.tools.StorageTool format --standalone -t "$cid" -c "$SKAFKA_DIR/server.properties" \
      --add-scram "SCRAM-SHA-256=[name=\"$SECURE_USER\",password=\"$pw\"]" \
      --add-scram "SCRAM-SHA-512=[name=\"$SECURE_USER\",password=\"$pw\"]" \
      >>"$LOG_DIR/kafka-secure-storage.log" 2>&1 || die "kafka-secure: storage format failed; see $LOG_DIR/kafka-secure-storage.log"
  fi
  java_start kafka-secure "$SKAFKA_PIDFILE" "$LOG_DIR/kafka-secure.out" "$SKAFKA_LOG" "${SLUICE_SECURE_KAFKA_HEAP:-384m}" \
    kafka.Kafka "$SKAFKA_DIR/server.properties"
  WAIT_PIDFILE="$SKAFKA_PIDFILE" WAIT_PATTERN="$SKAFKA_DIR/server.properties" wait_until 120 kafka-secure "$SKAFKA_LOG" skafka_ready
  say "kafka-secure: ready at 127.0.0.1:$SLUICE_SECURE_KAFKA_PORT (SASL_SSL, user $SECURE_USER)"
}

skafka_down() { stop_pid kafka-secure "$SKAFKA_PIDFILE" 60 "$SKAFKA_DIR/server.properties"; }

# --- ClickHouse: a second 18.16 server with TLS ports only ---

sch_running() { pid_alive "$SCH_PIDFILE" clickhouse; }

sch_ready() {
  [[ "$(curl -sf --max-time 2 --cacert "$SECURE_TLS/ca.pem" "https://localhost:$SLUICE_SECURE_CH_HTTPS_PORT/ping" 2>/dev/null)" == "Ok." ]]
}

sch_write_config() {
  mkdir -p "$SCH_DIR"/{data,tmp,user_files,format_schemas} "$LOG_DIR"
  local pw hash
  pw=$(secure_password clickhouse)
  hash=$(printf '%s' "$pw" | sha256sum | cut -d' ' -f1)
  (umask 077 && cat >"$SCH_DIR/users.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/lib/secure.sh: user $SECURE_USER (password in $SECURE_DIR/clickhouse-password). -->
<yandex>
    <profiles><default><max_memory_usage>10000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password_sha256_hex>$(head -c32 /dev/urandom | sha256sum | cut -d' ' -f1)</password_sha256_hex>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota>
        </default>
        <$SECURE_USER>
            <password_sha256_hex>$hash</password_sha256_hex>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota>
        </$SECURE_USER>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
  )
  cat >"$SCH_DIR/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/lib/secure.sh; rewritten on every 'up secure'. TLS ports only. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$SCH_LOG</log>
        <errorlog>$LOG_DIR/clickhouse-secure.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port_secure>$SLUICE_SECURE_CH_TCP_PORT</tcp_port_secure>
    <https_port>$SLUICE_SECURE_CH_HTTPS_PORT</https_port>
    <openSSL>
        <server>
            <certificateFile>$SECURE_TLS/server.crt</certificateFile>
            <privateKeyFile>$SECURE_TLS/server.key</privateKeyFile>
            <caConfig>$SECURE_TLS/ca.pem</caConfig>
            <verificationMode>relaxed</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
    <max_connections>128</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>$SCH_DIR/data/</path>
    <tmp_path>$SCH_DIR/tmp/</tmp_path>
    <user_files_path>$SCH_DIR/user_files/</user_files_path>
    <format_schema_path>$SCH_DIR/format_schemas/</format_schema_path>
    <users_config>$SCH_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
EOF
}

sch_up() {
  ensure_pkgs clickhouse-server clickhouse-client
  if sch_running; then
    say "clickhouse-secure: already running (pid $(pid_of "$SCH_PIDFILE"))"
  else
    sch_write_config
    rm -f "$SCH_PIDFILE"
    say "clickhouse-secure: starting on 127.0.0.1:$SLUICE_SECURE_CH_TCP_PORT (native TLS), :$SLUICE_SECURE_CH_HTTPS_PORT (https)"
    /usr/sbin/clickhouse-server --config-file="$SCH_DIR/config.xml" --pid-file="$SCH_PIDFILE" --daemon \
      >"$LOG_DIR/clickhouse-secure.out" 2>&1 || { cat "$LOG_DIR/clickhouse-secure.out" >&2; die "clickhouse-secure: failed to start; see $SCH_LOG"; }
    local i
    for i in $(seq 1 40); do [[ -s "$SCH_PIDFILE" ]] && break; sleep 0.1; done
  fi
  WAIT_PIDFILE="$SCH_PIDFILE" WAIT_PATTERN=clickhouse wait_until 60 clickhouse-secure "$LOG_DIR/clickhouse-secure.err.log" sch_ready
  say "clickhouse-secure: ready at 127.0.0.1:$SLUICE_SECURE_CH_TCP_PORT (TLS, user $SECURE_USER)"
}

sch_down() { stop_pid clickhouse-secure "$SCH_PIDFILE" 30 clickhouse; }

# --- the 'secure' service ---

secure_up() {
  secure_ca
  secure_pg_up
  secure_password kafka >/dev/null
  secure_password clickhouse >/dev/null
  sch_up
  skafka_up
}

secure_down() {
  skafka_down
  sch_down
}

secure_status() {
  local k=down c=down
  skafka_running && port_open "$SLUICE_SECURE_KAFKA_PORT" && k="up :$SLUICE_SECURE_KAFKA_PORT"
  sch_running && sch_ready && c="up :$SLUICE_SECURE_CH_TCP_PORT"
  echo "kafka SASL_SSL $k; clickhouse TLS $c; pg $(secure_pg_status)"
}

secure_env() {
  cat <<EOF
export SLUICE_SECURE_DIR='$SECURE_DIR'
export SLUICE_SECURE_CA_FILE='$SECURE_TLS/ca.pem'
export SLUICE_SECURE_OTHER_CA_FILE='$SECURE_TLS/other-ca.pem'
export SLUICE_SECURE_CLIENT_CERT_FILE='$SECURE_TLS/client.crt'
export SLUICE_SECURE_CLIENT_KEY_FILE='$SECURE_TLS/client.key'
export SLUICE_SECURE_USER='$SECURE_USER'
export SLUICE_SECURE_KAFKA_PORT=$SLUICE_SECURE_KAFKA_PORT
export SLUICE_SECURE_KAFKA_INTERNAL_PORT=$SLUICE_SECURE_KAFKA_INTERNAL_PORT
export SLUICE_SECURE_CH_TCP_PORT=$SLUICE_SECURE_CH_TCP_PORT
export SLUICE_SECURE_CH_HTTPS_PORT=$SLUICE_SECURE_CH_HTTPS_PORT
export SLUICE_SECURE_KAFKA_PASSWORD_FILE='$SECURE_DIR/kafka-password'
export SLUICE_SECURE_CLICKHOUSE_PASSWORD_FILE='$SECURE_DIR/clickhouse-password'
export SLUICE_SECURE_PG_PASSWORD_FILE='$SECURE_DIR/pg-password'
EOF
}
