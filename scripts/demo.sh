#!/usr/bin/env bash
# The main job on embedded defaults: no Neo4j, no network. Ingests the sample corpus and answers a question.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export AMALGAM_DATA_DIR="${AMALGAM_DATA_DIR:-./data}"
amalgam ingest docs/sample
amalgam ask "Where was the designer of the Halvorsen Viaduct born?"
