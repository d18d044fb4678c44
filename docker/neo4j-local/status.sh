#!/usr/bin/env bash
# Say whether the local Neo4j server is running. Exit 0 when running, 3 when not (like LSB init scripts).
# Env: NEO4J_HOME (default ~/.amalgam/neo4j).
set -euo pipefail

NEO4J_HOME="${NEO4J_HOME:-$HOME/.amalgam/neo4j}"
PID_FILE="$NEO4J_HOME/run/neo4j.pid"
CONF="$NEO4J_HOME/conf/neo4j.conf"

if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  ADDRESS="$(sed -n 's/^server.bolt.listen_address=//p' "$CONF" 2>/dev/null || true)"
  echo "Neo4j running (pid $(cat "$PID_FILE")) at bolt://${ADDRESS:-unknown}, home $NEO4J_HOME"
  exit 0
fi
echo "Neo4j not running (home $NEO4J_HOME)"
exit 3
