#!/usr/bin/env bash
# Installs what the tests need (Python environment with the dev extras, Java 17 + Maven for the local
# Neo4j, Chromium + ChromeDriver for the browser tests), runs the static checks (ruff lint and format,
# mypy on the core packages), then the whole suite.
# tests/conftest.py starts a throw-away Neo4j 5.26 server from Maven Central jars and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
# Debian's Chromium + ChromeDriver drive the UI tests in a real headless browser.
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi
export AMALGAM_EXTRAS=dev
source scripts/env.sh
ruff check .
ruff format --check .
mypy
python -m pytest "$@"
# Modules marked isolated (a real Ray driver, llama.cpp in-process) run each in a pytest process of its own:
# the run above skipped them. A module that the arguments above did not select is still run here.
for module in $(grep -rl --include='test_*.py' 'pytest.mark.isolated' tests | sort); do
  python -m pytest -m isolated "$module"
done
