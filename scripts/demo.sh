#!/usr/bin/env bash
# The main job on the embedded default database (./data/streamctl.db): a broadcaster gets a stream
# key, then real MistServer payloads (captured from a running server, see test/fixtures) go through
# the trigger programs exactly as MistServer would run them: pushes accepted and refused, a viewer
# admitted and one refused by the channel's policy, a recording catalogued. Everything it writes is
# under the database's folder (./data). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# Whatever the caller's shell says, the demo uses its own database and nothing else of the operator's.
for v in $(compgen -e | grep '^STREAMCTL_' || true); do unset "$v"; done
FIX=test/fixtures/mist-captures
streamctl() { bin/streamctl "$@"; }
DB=$(streamctl db path)
DATA=$(dirname "$DB")
mkdir -p "$DATA"
ERR="$DATA/demo-trigger.stderr"
# Run a trigger program like MistServer: argv[1] = trigger name, payload on stdin.
trigger() { # program TRIGGER payload [what an empty answer means]
  local answer
  answer=$(printf '%s' "$3" | MIST_TRIGGER=$2 "bin/$1" "$2" 2>"$ERR") || true
  printf '  %-20s -> %s\n' "$2" "${answer:-${4:-(empty: MistServer refuses the push)}}"
  sed 's/^/    stderr: /' "$ERR"
}
json() { node -pe "JSON.parse(require('fs').readFileSync(0, 'utf8'))$1"; }

echo "== database: $DB"
streamctl db migrate
if streamctl user show demo >/dev/null 2>&1; then
  KEY=$(streamctl key rotate demo --json | json .key)
  echo "== user demo exists; rotated its stream key"
else
  KEY=$(streamctl user add demo --display-name "Demo Broadcaster" --json | json .key)
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
streamctl user disable demo >/dev/null
trigger push-rewrite PUSH_REWRITE "$(sed "s/KEY_ALICE/$KEY/g" "$FIX/18-srt-push-key/PUSH_REWRITE-1.txt")"
streamctl user enable demo >/dev/null
echo
VIEWER=$(sed 's/alice/demo/g' "$FIX/01-basic-push-alice/USER_NEW-1.txt")
echo "== a viewer of streams+demo (USER_NEW, capture 01): the channel is public, so it is admitted"
trigger user-new USER_NEW "$VIEWER"
streamctl channel set demo --access private >/dev/null
echo "== after 'streamctl channel set demo --access private', the same viewer (no valid token) is refused"
trigger user-new USER_NEW "$VIEWER"
streamctl channel set demo --access public >/dev/null
echo
# The recording MistServer's recording push would have written, in the channel's folder under recordings-root.
ROOT=$(streamctl config get recordings-root)
if [ -z "$ROOT" ]; then
  ROOT="$DATA/recordings"
  streamctl config set recordings-root "$ROOT" >/dev/null
fi
FOLDER="$ROOT/$(streamctl user show demo --json | json .id)"
FILE="$FOLDER/$(date -u +%Y.%m.%d.%H.%M.%S).mkv"
mkdir -p "$FOLDER"
cp assets/placeholder.mkv "$FILE"
echo "== the recording of a broadcast ends (RECORDING_END, capture 01, with the demo's file)"
# (Every line of a RECORDING_END payload ends in a newline; $(...) drops the last one.)
trigger recording-end RECORDING_END "$(sed -e 's/streams+alice/streams+demo/' -e "2s|.*|$FILE|" -e "4s|.*|$(wc -c <"$FILE")|" "$FIX/01-basic-push-alice/RECORDING_END-1.txt")"$'\n' '(no answer: asynchronous)'
echo "== streamctl recordings list demo"
streamctl recordings list demo --limit 3
echo
echo "== streamctl key list demo"
streamctl key list demo
echo
echo "== streamctl events --limit 5"
streamctl events --limit 5
