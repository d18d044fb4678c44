#!/usr/bin/env bash
# Start a local Neo4j Community server from the Maven Central jars (no Docker, no tarball).
# Env: NEO4J_HOME (default ~/.amalgam/neo4j), NEO4J_BOLT_PORT (7687), NEO4J_AUTH (on|off, default on),
#      NEO4J_HEAP (JVM heap, default 1g), NEO4J_PAGECACHE (default 256m), PYTHON (with the neo4j driver),
#      NEO4J_WAIT_S (how long to wait for Bolt, default 120).
# With auth on, a random password is generated once, stored in $NEO4J_HOME/password (mode 600) and set
# on first start through Bolt (ALTER CURRENT USER), so no neo4j-admin is needed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NEO4J_HOME="${NEO4J_HOME:-$HOME/.amalgam/neo4j}"
NEO4J_BOLT_PORT="${NEO4J_BOLT_PORT:-7687}"
NEO4J_AUTH="${NEO4J_AUTH:-on}"
NEO4J_HEAP="${NEO4J_HEAP:-1g}"
NEO4J_PAGECACHE="${NEO4J_PAGECACHE:-256m}"
NEO4J_WAIT_S="${NEO4J_WAIT_S:-120}"
PYTHON="${PYTHON:-python3}"
LIB="${NEO4J_LIB:-$HERE/target/lib}"
PID_FILE="$NEO4J_HOME/run/neo4j.pid"
LOG_FILE="$NEO4J_HOME/logs/console.log"
URI="bolt://127.0.0.1:$NEO4J_BOLT_PORT"

case "$NEO4J_AUTH" in on|off) ;; *) echo "NEO4J_AUTH must be 'on' or 'off', got '$NEO4J_AUTH'" >&2; exit 2 ;; esac

if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  echo "Neo4j already running (pid $(cat "$PID_FILE")) at $URI"
  exit 0
fi

if ! ls "$LIB"/neo4j-server-*.jar >/dev/null 2>&1; then
  echo "Resolving Neo4j jars from Maven Central into $LIB ..."
  (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$LIB" -DincludeScope=runtime)
fi

mkdir -p "$NEO4J_HOME"/{conf,data,logs,run}
chmod 700 "$NEO4J_HOME"

AUTH_ENABLED=false
if [[ "$NEO4J_AUTH" == on ]]; then
  AUTH_ENABLED=true
  if [[ ! -s "$NEO4J_HOME/password" ]]; then
    (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))' > "$NEO4J_HOME/password")
  fi
  chmod 600 "$NEO4J_HOME/password"
fi

cat > "$NEO4J_HOME/conf/neo4j.conf" <<CONF
# Written by docker/neo4j-local/start.sh on every start; edit the script, not this file.
server.bolt.listen_address=127.0.0.1:$NEO4J_BOLT_PORT
server.bolt.advertised_address=127.0.0.1:$NEO4J_BOLT_PORT
server.http.enabled=false
server.https.enabled=false
dbms.security.auth_enabled=$AUTH_ENABLED
server.directories.data=$NEO4J_HOME/data
server.directories.logs=$NEO4J_HOME/logs
server.directories.run=$NEO4J_HOME/run
server.memory.pagecache.size=$NEO4J_PAGECACHE
db.tx_log.rotation.retention_policy=1G size
dbms.usage_report.enabled=false
CONF

# Neo4j needs these opens on Java 17+; the heap is a JVM flag because we bypass the neo4j launcher.
nohup java -Xms256m -Xmx"$NEO4J_HEAP" -XX:+UseG1GC \
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
  -cp "$LIB/*" org.neo4j.server.CommunityEntryPoint \
  --home-dir="$NEO4J_HOME" --config-dir="$NEO4J_HOME/conf" >>"$LOG_FILE" 2>&1 </dev/null &
echo $! > "$PID_FILE"
echo "Neo4j starting (pid $(cat "$PID_FILE")), log: $LOG_FILE"

if ! "$PYTHON" "$HERE/wait_bolt.py" --uri "$URI" --auth "$NEO4J_AUTH" --password-file "$NEO4J_HOME/password" \
     --pid "$(cat "$PID_FILE")" --timeout "$NEO4J_WAIT_S"; then
  echo "Neo4j did not become ready; last log lines:" >&2
  tail -n 20 "$NEO4J_HOME/logs/neo4j.log" "$LOG_FILE" >&2 || true
  exit 1
fi
echo "Neo4j ready at $URI"
