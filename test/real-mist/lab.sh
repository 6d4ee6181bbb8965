#!/usr/bin/env bash
# The origin + edges lab on one machine: three network namespaces (origin, edge1,
# edge2), each with its own real MistServer and its own redis-server, and MistUtilLoad in front of
# the two edges. Run it inside ONE ../shared/mistserver/isolated.sh call (needs root); everything
# it starts ends with that call.
#
#   lab.sh up DIR                 build the lab, state in DIR (node pids, configs, logs);
#                                 LAB_ORIGIN_MIST=0: no origin MistServer (the caller starts it)
#   lab.sh exec DIR NODE CMD...   run CMD inside NODE (origin|edge1|edge2): its network and its /dev/shm
#   lab.sh link DIR EDGE up|down  cut or restore EDGE's link to the origin's Redis (replication, the cap) alone
#   lab.sh cut DIR EDGE up|down   cut or restore everything between EDGE and the origin (the one link
#                                 docs/deployment.md draws: DTSC, Redis, API); other edges still reach EDGE
#   lab.sh api DIR EDGE up|down   take away or give back the address the origin calls EDGE's API on
#   lab.sh down DIR               stop everything the lab started
#   lab.sh smoke DIR              up + a push to the origin played from both edges and through the LB
#
# The origin is the namespace lab.sh runs in (isolated.sh's own): whatever runs the lab (a test,
# streamctl, ffmpeg) is on the origin, reaches its MistServer on 127.0.0.1 as on a one-box install
# (start.sh, loopback API without login) and plays the part of the viewers. Each edge is a namespace
# of its own. Two networks, so that cutting an edge off the origin's Redis leaves viewers able to
# reach it:
#   lan  bridge sc14lan, 10.14.0.0/24: origin .1, edge1 .2, edge2 .3. DTSC pulls (origin:4200),
#        viewers' HTTP/HLS (edge:8080), MistServer's API (edge:4242, read by MistUtilLoad on the
#        origin's :8042) travel here.
#        Each edge also has a second LAN address, its API address (edge1 .12, edge2 .13): the one
#        the origin's relay calls its MistServer API on (`edges`), so `api EDGE down` makes that API
#        unreachable from the origin while viewers, MistUtilLoad and replication keep theirs.
#   repl one veth pair per edge: origin 10.14.1.1 <-> edge1 10.14.1.2, origin 10.14.2.1 <-> edge2
#        10.14.2.2. Redis replication and the edge's cap calls to the primary travel here only, so
#        `link EDGE down` is the edge losing the origin's Redis (`ip link set down`; tc netem does
#        not work here) while media and viewers still reach it. `cut EDGE down` also gives the edge
#        no route to the origin's LAN address (a `prohibit` route in the edge): the DTSC pull and the
#        API calls go too, as on a real link loss, while the other edge (and viewers run inside it)
#        still reach it over the bridge.
#
# Why not `ip netns add` + `ip netns exec`: each `ip netns exec` makes a fresh mount namespace, so a
# private /dev/shm mounted in one is gone in the next; MistServer keeps its state in /dev/shm/Mst*
# with fixed names, and two MistServers sharing one /dev/shm collide. Each edge is instead a holder
# process made by `unshare --net --mount` with a private tmpfs on /dev/shm and /tmp/mist (MistServer's
# log FIFO), and `nsenter -t PID -n -m` runs commands in it. (`ip netns add` also works in isolated.sh
# once /run/netns is a private tmpfs, but would not keep the mounts.)
#
# MistServer on an edge: the blank config of ../shared/mistserver/start.sh, except that the
# controller's API (4242) and the HTTP connector listen on every interface (start.sh binds
# 127.0.0.1, which neither viewers nor MistUtilLoad could reach) and `prometheus` is $LAB_PROM
# (MistUtilLoad reads http://<edge>:4242/<passphrase>.json every 5 s). The origin's MistServer is
# start.sh's plus a DTSC connector (4200) on every interface, for the edges' pulls. MistServer's API
# authorises without a login only requests from the server's own addresses.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MIST=${REAL_MIST_DIR:-$(cd "$here/../../.." && pwd)/shared/mistserver}
LAB_PROM=${LAB_PROM:-koekjes}
NODES=(origin edge1 edge2)
EDGES=(edge1 edge2)
declare -A LAN=([origin]=10.14.0.1 [edge1]=10.14.0.2 [edge2]=10.14.0.3)
declare -A REPL_EDGE=([edge1]=10.14.1.2 [edge2]=10.14.2.2)
declare -A REPL_ORIGIN=([edge1]=10.14.1.1 [edge2]=10.14.2.1)
declare -A API_ADDR=([edge1]=10.14.0.12 [edge2]=10.14.0.13)

die() { echo "lab.sh: $*" >&2; exit 1; }
pid_of() { cat "$1/$2/holder.pid" 2>/dev/null || die "no node $2 in $1 (lab.sh up first)"; }
in_node() {
  local dir=$1 node=$2; shift 2
  if [ "$node" = origin ]; then "$@"; else nsenter -t "$(pid_of "$dir" "$node")" -n -m -- "$@"; fi
}
# Starts CMD in NODE as the leader of its own session (stop it with a signal to -PID), stdin from
# /dev/null; prints nothing, writes the PID to PIDFILE. nsenter and setsid exec in place, so $! is CMD.
spawn_in() {
  local dir=$1 node=$2 pidfile=$3 cwd=$4; shift 4
  local enter=()
  [ "$node" = origin ] || enter=(nsenter -t "$(pid_of "$dir" "$node")" -n -m --)
  ( cd "$cwd" && exec "${enter[@]}" setsid "$@" </dev/null >/dev/null 2>&1 ) &
  echo $! >"$pidfile"
}

# A node: a process holding its own network and mount namespaces, with private /dev/shm and /tmp/mist.
make_node() {
  local dir=$1 node=$2
  mkdir -p "$dir/$node"
  unshare --net --mount --propagation private bash -c '
    mount -t tmpfs -o size=512m tmpfs /dev/shm
    mkdir -p /tmp/mist && mount -t tmpfs -o size=16m tmpfs /tmp/mist
    ip link set lo up
    exec sleep infinity' </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/$node/holder.pid"
  # The namespaces exist once the holder has exec'd sleep.
  for _ in $(seq 50); do [ "$(readlink /proc/$!/exe 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ] && return 0; sleep 0.05; done
  die "node $node did not start"
}

network() {
  local dir=$1
  ip link add sc14lan type bridge
  ip addr add "${LAN[origin]}/24" dev sc14lan
  ip link set sc14lan up
  for edge in "${EDGES[@]}"; do
    local pid; pid=$(pid_of "$dir" "$edge")
    ip link add "l-$edge" type veth peer name lan0 netns "$pid"
    ip link set "l-$edge" master sc14lan up
    in_node "$dir" "$edge" ip addr add "${LAN[$edge]}/24" dev lan0
    in_node "$dir" "$edge" ip addr add "${API_ADDR[$edge]}/24" dev lan0
    in_node "$dir" "$edge" ip link set lan0 up
    ip link add "r-$edge" type veth peer name repl0 netns "$pid"
    ip addr add "${REPL_ORIGIN[$edge]}/24" dev "r-$edge"
    ip link set "r-$edge" up
    in_node "$dir" "$edge" ip addr add "${REPL_EDGE[$edge]}/24" dev repl0
    in_node "$dir" "$edge" ip link set repl0 up
  done
}

# Redis: a primary on the origin (repl addresses + loopback), a replica on each edge that reads
# only through its unix socket and errors instead of answering stale once cut off.
redis_conf() {
  local dir=$1 node=$2 conf=$1/$2/redis.conf
  {
    echo "daemonize no"
    echo "save \"\""
    echo "appendonly no"
    echo "dir $dir/$node"
    echo "unixsocket $dir/$node/redis.sock"
    echo "unixsocketperm 777"
    echo "logfile $dir/$node/redis.log"
    echo "protected-mode no"
    if [ "$node" = origin ]; then
      echo "bind 127.0.0.1 ${REPL_ORIGIN[edge1]} ${REPL_ORIGIN[edge2]}"
      echo "port 6379"
      # A replica's repl-timeout counts from the last thing its primary sent: with the default
      # 10 s ping period an idle link would look cut every 5 s.
      echo "repl-ping-replica-period 1"
    else
      echo "bind 127.0.0.1"
      echo "port 6379"
      echo "replicaof ${REPL_ORIGIN[$node]} 6379"
      echo "replica-serve-stale-data no"
      echo "replica-read-only yes"
      echo "repl-timeout 5"
    fi
  } >"$conf"
}

start_redis() {
  local dir=$1 node=$2
  redis_conf "$dir" "$node"
  spawn_in "$dir" "$node" "$dir/$node/redis.pid" "$dir/$node" redis-server "$dir/$node/redis.conf"
  for _ in $(seq 50); do [ -S "$dir/$node/redis.sock" ] && return 0; sleep 0.1; done
  die "redis-server did not start in $node: $(tail -3 "$dir/$node/redis.log" 2>/dev/null)"
}

start_origin_mist() {
  local dir=$1 md=$1/origin/mist
  mkdir -p "$md"
  "$MIST/start.sh" "$md" >"$md/start.out" 2>&1 || die "start.sh failed: $(cat "$md/start.out")"
  add_dtsc
}

# The edges pull from the origin's DTSC output: a connector on every interface (start.sh has none).
add_dtsc() {
  curl -s -o /dev/null -H 'Content-Type: application/json' \
    -d '{"addprotocol":{"connector":"DTSC","port":4200}}' http://127.0.0.1:4242/api
}

start_mist() {
  local dir=$1 node=$2 md=$1/$2/mist
  mkdir -p "$md"
  python3 - "$md/config.json" "$LAB_PROM" <<'PY'
import json, sys
out, prom = sys.argv[1], sys.argv[2]
lo = "127.0.0.1"
config = {
  "account": {"admin": {"password": "a2bd46166701c47adef6626879f2a3bf"}},  # md5("mistpw")
  "config": {
    "controller": {"interface": "0.0.0.0", "port": 4242, "username": None},
    "debug": 4, "accesslog": "LOG", "prometheus": prom, "trustedproxy": [],
    "protocols": [
      {"connector": "RTMP", "interface": lo, "port": 1935},
      {"connector": "HTTP", "port": 8080},
      {"connector": "RTSP", "interface": lo, "port": 5554},
      {"connector": "TSSRT", "interface": lo, "port": 8889},
      *({"connector": c} for c in ["HLS", "HTTPTS", "FLV", "EBML", "CMAF", "JSON", "MP4"]),
    ],
    "sessionInputMode": 15, "sessionOutputMode": 15, "sessionStreamInfoMode": 1,
    "sessionUnspecifiedMode": 0, "sessionViewerMode": 14, "tknMode": 15,
  },
  "streams": {}, "auto_push": {},
}
json.dump(config, open(out, "w"), indent=1)
PY
  # As start.sh: its own session (stop = SIGTERM to the group), stdin from /dev/null.
  spawn_in "$dir" "$node" "$md/mist.pid" "$md" "$MIST/bin/MistController" -c "$md/config.json" -i 0.0.0.0 -p 4242 \
    -a admin:mistpw -L "$md/mist.log"
}

wait_mist() {
  local dir=$1 node=$2
  for _ in $(seq 60); do
    if in_node "$dir" "$node" curl -s -o /dev/null -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:4242/api; then return 0; fi
    sleep 0.5
  done
  die "no MistServer API in $node; log: $(tail -5 "$dir/$node/mist/mist.log" 2>/dev/null)"
}

# Waits until NODE's MistServer has its HTTP connector (and the origin its RTMP and DTSC) online.
wait_connectors() {
  local dir=$1 node=$2 want='{"HTTP"}'
  [ "$node" = origin ] && want='{"RTMP","HTTP","DTSC"}'
  for _ in $(seq 60); do
    if in_node "$dir" "$node" curl -s -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:4242/api |
      python3 -c 'import json,sys; p=json.load(sys.stdin)["config"]["protocols"]; on={x["connector"] for x in p if x.get("online")==1}; sys.exit(0 if '"$want"'<=on else 1)'; then
      return 0
    fi
    sleep 0.5
  done
  die "connectors of $node not online"
}

start_lb() {
  local dir=$1
  mkdir -p "$dir/lb"
  # -s per edge: its API address (MistUtilLoad polls http://<server>:4242/<passphrase>.json every 5 s).
  setsid "$MIST/bin/MistUtilLoad" -p 8042 -i 0.0.0.0 -P "$LAB_PROM" -s "${LAN[edge1]}" -s "${LAN[edge2]}" \
    </dev/null >"$dir/lb/lb.log" 2>&1 &
  echo $! >"$dir/lb/lb.pid"
}

wait_lb() {
  # Online = MistUtilLoad has read both edges' load (its host list says "Monitored (online)").
  for _ in $(seq 60); do
    local s; s=$(curl -s 'http://127.0.0.1:8042/?lstserver=1' || true)
    [ "$(grep -o '(online)' <<<"$s" | wc -l)" -ge 2 ] && return 0
    sleep 0.5
  done
  die "MistUtilLoad does not see both edges online: $(curl -s 'http://127.0.0.1:8042/?lstserver=1')"
}

cmd_up() {
  local dir=${1:?usage: lab.sh up DIR}
  [[ $(ip -o addr show dev lo) == *198.18.0.1* ]] || die "run inside ../shared/mistserver/isolated.sh"
  command -v redis-server >/dev/null || die "redis-server is not installed"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/origin"
  # MistServer logs through a FIFO in /tmp/mist: a private one, as scripts/test-real.sh does.
  mountpoint -q /tmp/mist || { mkdir -p /tmp/mist && mount -t tmpfs -o size=16m tmpfs /tmp/mist; }
  for edge in "${EDGES[@]}"; do make_node "$dir" "$edge"; done
  network "$dir"
  for node in "${NODES[@]}"; do start_redis "$dir" "$node"; done
  for edge in "${EDGES[@]}"; do start_mist "$dir" "$edge"; done
  [ "${LAB_ORIGIN_MIST:-1}" = 0 ] || start_origin_mist "$dir"
  for edge in "${EDGES[@]}"; do wait_mist "$dir" "$edge"; done
  for edge in "${EDGES[@]}"; do wait_connectors "$dir" "$edge"; done
  [ "${LAB_ORIGIN_MIST:-1}" = 0 ] || wait_connectors "$dir" origin
  start_lb "$dir"
  wait_lb
  echo "$dir"
}

cmd_down() {
  local dir=${1:?usage: lab.sh down DIR}
  [ -f "$dir/lb/lb.pid" ] && kill "$(cat "$dir/lb/lb.pid")" 2>/dev/null || true
  [ -f "$dir/origin/mist/mist.pid" ] && "$MIST/stop.sh" "$dir/origin/mist"
  for node in "${NODES[@]}"; do
    local pid
    pid=$(cat "$dir/$node/mist/mist.pid" 2>/dev/null) && kill -TERM -- "-$pid" 2>/dev/null || true
    pid=$(cat "$dir/$node/redis.pid" 2>/dev/null) && kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 3
  for edge in "${EDGES[@]}"; do
    local pid
    pid=$(cat "$dir/$edge/mist/mist.pid" 2>/dev/null) && kill -KILL -- "-$pid" 2>/dev/null || true
    pid=$(cat "$dir/$edge/holder.pid" 2>/dev/null) && kill "$pid" 2>/dev/null || true
  done
  ip link del sc14lan 2>/dev/null || true
  for edge in "${EDGES[@]}"; do ip link del "r-$edge" 2>/dev/null || true; done
}

cmd_link() {
  local dir=${1:?} edge=${2:?} state=${3:?usage: lab.sh link DIR EDGE up|down}
  case "$edge" in edge1 | edge2) ;; *) die "link: edge1 or edge2, not $edge" ;; esac
  case "$state" in up | down) ;; *) die "link: up or down, not $state" ;; esac
  in_node "$dir" "$edge" ip link set repl0 "$state"
}

cmd_cut() {
  local dir=${1:?} edge=${2:?} state=${3:?usage: lab.sh cut DIR EDGE up|down}
  cmd_link "$dir" "$edge" "$state"
  if [ "$state" = down ]; then
    in_node "$dir" "$edge" ip route replace prohibit "${LAN[origin]}/32"
  else
    in_node "$dir" "$edge" ip route del prohibit "${LAN[origin]}/32" 2>/dev/null || true
  fi
}

cmd_api() {
  local dir=${1:?} edge=${2:?} state=${3:?usage: lab.sh api DIR EDGE up|down}
  case "$edge" in edge1 | edge2) ;; *) die "api: edge1 or edge2, not $edge" ;; esac
  case "$state" in
    up) in_node "$dir" "$edge" ip addr replace "${API_ADDR[$edge]}/24" dev lan0 ;;
    down) in_node "$dir" "$edge" ip addr del "${API_ADDR[$edge]}/24" dev lan0 2>/dev/null || true ;;
    *) die "api: up or down, not $state" ;;
  esac
}

api() { local dir=$1 node=$2 body=$3; in_node "$dir" "$node" curl -s -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:4242/api; }

# Milestone: plain MistServer configuration through the API (no streamctl): the origin takes a push
# on `live`, each edge pulls `live` from the origin's DTSC; HLS plays from both edges and through
# MistUtilLoad's 307, which keeps the query (?tkn=...).
cmd_smoke() {
  local dir=${1:?usage: lab.sh smoke DIR}
  cmd_up "$dir" >/dev/null; dir=$(cd "$dir" && pwd)
  local mark=$RANDOM$RANDOM
  redis-cli -s "$dir/origin/redis.sock" set sc:lab:smoke "$mark" >/dev/null
  for e in "${EDGES[@]}"; do
    local v=""
    for _ in $(seq 50); do v=$(redis-cli -s "$dir/$e/redis.sock" get sc:lab:smoke 2>/dev/null || true); [ "$v" = "$mark" ] && break; sleep 0.1; done
    echo "$e: replica reads ${v:-nothing} ($(redis-cli -s "$dir/$e/redis.sock" info replication | tr -d '\r' | grep master_link_status))"
    [ "$v" = "$mark" ] || die "$e's replica does not follow the origin"
  done
  api "$dir" origin '{"addstream":{"live":{"name":"live","source":"push://"}}}' >/dev/null
  for e in "${EDGES[@]}"; do api "$dir" "$e" "{\"addstream\":{\"live\":{\"name\":\"live\",\"source\":\"dtsc://${LAN[origin]}:4200\"}}}" >/dev/null; done
  ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc=size=160x120:rate=15 -f lavfi -i sine=frequency=440 \
    -t 60 -c:v libx264 -preset ultrafast -tune zerolatency -g 15 -pix_fmt yuv420p -c:a aac -b:a 32k \
    -f flv "rtmp://127.0.0.1/live/live" </dev/null >"$dir/push.log" 2>&1 &
  local ff=$!
  local ok=0
  for e in "${EDGES[@]}"; do
    local url="http://${LAN[$e]}:8080/hls/live/index.m3u8?tkn=abc123" got=""
    for _ in $(seq 40); do
      got=$(curl -s --max-time 8 "$url" | tr -d '\r' || true)
      if grep -q '^[^#].*m3u8' <<<"$got"; then break; fi
      sleep 0.5
    done
    local media; media=$(grep -m1 '^[^#]' <<<"$got" || true)
    local mediaurl="http://${LAN[$e]}:8080/hls/live/$media" list="" seg="" bytes=0
    for _ in $(seq 40); do
      list=$(curl -s --max-time 8 "$mediaurl" | tr -d '\r' || true)
      seg=$(grep -m1 '^[^#]' <<<"$list" || true)
      [ -n "$seg" ] && break
      sleep 0.5
    done
    [ -n "$seg" ] && bytes=$(curl -s --max-time 8 -o /dev/null -w '%{size_download}' "$(dirname "$mediaurl")/$seg")
    echo "$e: HLS via $url -> media ${media:-none}, first segment ${bytes} bytes"
    [ "${bytes:-0}" -gt 0 ] && ok=$((ok + 1))
  done
  # MistUtilLoad's proto= is a connector name as MistServer lists it (HLS, HTTPTS...): `proto=hls`
  # matches nothing and answers a 307 to "?proto=&tkn=..." (no host).
  local seen=""
  for _ in $(seq 4); do
    local loc; loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' 'http://127.0.0.1:8042/live?proto=HLS&tkn=abc123')
    local via; via=$(curl -s -L --max-time 8 'http://127.0.0.1:8042/live?proto=HLS&tkn=abc123' | grep -c 'index.m3u8?tkn=abc123' || true)
    echo "LB: $loc (playlist through it names tkn: $via)"
    case "$loc" in "307 http://10.14.0."[23]":8080/hls/live/index.m3u8?"*tkn=abc123*) [ "$via" -ge 1 ] && seen+=" ${loc#307 }" ;; esac
  done
  kill -INT "$ff" 2>/dev/null || true
  [ "$ok" -eq 2 ] && [ -n "$seen" ] || die "smoke failed (edges playing: $ok/2, LB redirects: ${seen:-none})"
  echo "smoke ok"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  exec) shift; d=${1:?}; n=${2:?}; shift 2; in_node "$d" "$n" "$@" ;;
  link) shift; cmd_link "$@" ;;
  cut) shift; cmd_cut "$@" ;;
  api) shift; cmd_api "$@" ;;
  smoke) shift; cmd_smoke "$@" ;;
  *) sed -n '2,15p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
