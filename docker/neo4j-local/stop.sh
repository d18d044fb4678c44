#!/usr/bin/env bash
# Stop the local Neo4j server started by start.sh: SIGTERM, then wait for a clean shutdown.
# Env: NEO4J_HOME (default ~/.amalgam/neo4j), NEO4J_STOP_WAIT_S (default 60; SIGKILL after that).
set -euo pipefail

NEO4J_HOME="${NEO4J_HOME:-$HOME/.amalgam/neo4j}"
NEO4J_STOP_WAIT_S="${NEO4J_STOP_WAIT_S:-60}"
PID_FILE="$NEO4J_HOME/run/neo4j.pid"

if [[ ! -f "$PID_FILE" ]] || ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  echo "Neo4j not running"
  rm -f "$PID_FILE"
  exit 0
fi

PID="$(cat "$PID_FILE")"
kill -TERM "$PID"
for _ in $(seq 1 $((NEO4J_STOP_WAIT_S * 2))); do
  if ! kill -0 "$PID" 2>/dev/null; then
    rm -f "$PID_FILE"
    echo "Neo4j stopped (pid $PID)"
    exit 0
  fi
  sleep 0.5
done
echo "Neo4j (pid $PID) did not stop within ${NEO4J_STOP_WAIT_S}s; killing it" >&2
kill -KILL "$PID" 2>/dev/null || true
rm -f "$PID_FILE"
exit 1
