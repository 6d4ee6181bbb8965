#!/usr/bin/env bash
# The real-server test layer (test/real-mist): installs streamctl with install.sh, starts the real
# MistServer from ../shared/mistserver and pushes and plays with ffmpeg and curl, all inside that
# server's isolated.sh (own loopback and /dev/shm). `npm test` runs it after the unit and process layers.
# Without ../shared/mistserver (a clone on its own) it prints one line and succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean environment: no STREAMCTL_* from the caller's shell reaches install.sh,
# the build or a test (vitest.real.config.mts drops them too, for a direct vitest run).
for v in $(compgen -e | grep '^STREAMCTL_' || true); do unset "$v"; done
# REAL_MIST_DIR overrides the place (e.g. a git worktree that does not sit next to shared/).
mist=${REAL_MIST_DIR:-$(cd .. && pwd)/shared/mistserver}
export REAL_MIST_DIR=$mist
if [ ! -x "$mist/isolated.sh" ]; then
  echo "real-server tests skipped: no MistServer at $mist (put a MistServer 3.10 build with isolated.sh/start.sh there, run its setup.sh, then npm run test:real)"
  exit 0
fi
# MistServer logs through a FIFO in /tmp/mist (MstLog), which isolated.sh leaves shared: another
# MistServer on the host would read our log lines and we theirs. A private tmpfs there keeps them apart.
run_isolated() {
  "$mist/isolated.sh" bash -c 'mkdir -p /tmp/mist && mount -t tmpfs -o size=16m tmpfs /tmp/mist && exec npx vitest run --config vitest.real.config.mts "$@"' test-real "$@"
}
# Arguments (a file, -t NAME ...) go to one vitest run as given.
if [ $# -gt 0 ]; then run_isolated "$@"; exit; fi
# Otherwise each file gets its own isolated.sh call: its own /dev/shm, loopback and PID namespace,
# so nothing a file's MistServer leaves behind (a stream's input still running, its shared-memory
# pages) can reach the next file's server (seen: another file's streams in active_streams after a
# restart). dist/ is built once here, not once per file.
npm run --silent build
export REAL_MIST_BUILT=1
# Each file's results as JSON too: a failure is summed up at the very end, where a CI log's tail
# shows it (the file's own output may be far above, or cut).
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
failed=()
for file in test/real-mist/*.test.ts; do
  run_isolated "$file" --reporter=default --reporter=json --outputFile.json="$results/$(basename "$file").json" || failed+=("$file")
done
if [ ${#failed[@]} -gt 0 ]; then
  node scripts/real-failures.mjs "$results"/*.json >&2 || true
  echo "real-server tests failed in: ${failed[*]}" >&2
  exit 1
fi
