#!/usr/bin/env bash
# The main job on the embedded default database (./data/streamctl.db): a broadcaster gets a stream
# key, then real MistServer payloads (captured from a running server, see test/fixtures) go through
# the trigger programs exactly as MistServer would run them. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
unset STREAMCTL_DB
FIX=test/fixtures/mist-captures
streamctl() { bin/streamctl "$@"; }
# Run a trigger program like MistServer: argv[1] = trigger name, payload on stdin.
trigger() { # program TRIGGER payload
  local answer
  answer=$(printf '%s' "$3" | MIST_TRIGGER=$2 "bin/$1" "$2" 2>/tmp/streamctl-demo.err) || true
  printf '  %-20s -> %s\n' "$2" "${answer:-(empty: MistServer refuses the push)}"
  sed 's/^/    stderr: /' /tmp/streamctl-demo.err
}

echo "== database: $(streamctl db path)"
streamctl db migrate
if streamctl user show demo >/dev/null 2>&1; then
  KEY=$(streamctl key rotate demo --json | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).key')
  echo "== user demo exists; rotated its stream key"
else
  KEY=$(streamctl user add demo --display-name "Demo Broadcaster" --json | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).key')
  echo "== created user demo"
fi
echo "   stream key (shown once): $KEY"
echo "   the broadcaster pushes to rtmp://<host>/live/$KEY"
echo
echo "== SRT push with the key (capture 18, KEY_ALICE replaced by the demo key)"
trigger push-rewrite PUSH_REWRITE "$(sed "s/KEY_ALICE/$KEY/g" "$FIX/18-srt-push-key/PUSH_REWRITE-1.txt")"
echo "== RTMP push with the key, RTMP_PUSH_REWRITE (capture 01)"
trigger rtmp-push-rewrite RTMP_PUSH_REWRITE "$(sed "s/KEY_ALICE/$KEY/g" "$FIX/01-basic-push-alice/RTMP_PUSH_REWRITE-1.txt")"
echo "== RTMP push with a wrong key (capture 02)"
trigger rtmp-push-rewrite RTMP_PUSH_REWRITE "$(cat "$FIX/02-push-wrong-key/RTMP_PUSH_REWRITE-1.txt")"
echo "== someone pushes the internal name streams+alice as if it were a key (capture 01)"
trigger mist-trigger PUSH_REWRITE "$(cat "$FIX/01-basic-push-alice/PUSH_REWRITE-1.txt")"
echo "== after 'streamctl user disable demo', the same key is refused"
streamctl user disable demo >/dev/null 2>&1 # (its note that MistServer is not configured is expected here)
trigger push-rewrite PUSH_REWRITE "$(sed "s/KEY_ALICE/$KEY/g" "$FIX/18-srt-push-key/PUSH_REWRITE-1.txt")"
streamctl user enable demo >/dev/null 2>&1
echo
echo "== streamctl key list demo"
streamctl key list demo
echo
echo "== streamctl events --limit 5"
streamctl events --limit 5
