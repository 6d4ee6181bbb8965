#!/usr/bin/env bash
# Installs streamctl from this source tree. Idempotent: run it again to upgrade; the database and
# its data are kept and migrated.
#
#   sudo ./install.sh                     # system-wide: /usr/local/lib/streamctl, /var/lib/streamctl
#   PREFIX=$HOME/.local ./install.sh      # no root needed: ~/.local/lib/streamctl, ~/.local/var/lib/streamctl
#
# Environment:
#   PREFIX       install prefix (default /usr/local)
#   STATE_DIR    where the database lives (default /var/lib/streamctl for /usr and /usr/local,
#                else $PREFIX/var/lib/streamctl)
#   MIST_USER    the user MistServer runs as; it gets write access to the database
#                (unset: the owner of a running MistController, else a "mistserver" user if one
#                exists; set but empty: none, nothing is detected)
#   SITE_USER    the user the site's backend runs as (e.g. www-data); needs root. A group
#                (STREAMCTL_GROUP, default streamctl) then holds MistServer's user and this one, and
#                the database, its folder and the recordings folder are writable by that group.
#                Without it, nothing changes.
#   SKIP_BUILD=1 use the existing dist/ (e.g. when installing from a release tarball)
#   SCHEDULE     how the scheduled jobs (status --reconcile, recordings prune, events prune) run:
#                systemd (timers), cron (/etc/cron.d/streamctl), print (show crontab lines), none;
#                default for a system install (root, PREFIX /usr or /usr/local): systemd when it
#                runs this host, else cron; any other install: print
#   SYSTEMD_DIR  where the unit files go (default /etc/systemd/system; given: units are written
#                there but not enabled)
#   CRON_DIR     where the cron file goes (default /etc/cron.d)
#   EVENTS_RETENTION  how long `events prune` keeps the audit log (default 90d)
#   METRICS_FILE also schedule `streamctl metrics -o METRICS_FILE` every minute (node_exporter's
#                textfile collector folder, e.g. /var/lib/node_exporter/textfile_collector/streamctl.prom)
#   ROLE         single (default: one box), origin (takes the pushes, records, publishes admission
#                data to Redis) or edge (pulls the origin's streams, admits viewers from a Redis
#                replica); see docs/deployment.md. Written to streamctl.conf (role=), which
#                `mist apply` and `doctor` read.
#   ORIGIN       an edge's origin: host (or host:port of its DTSC output); needed for ROLE=edge
#   RECORDINGS_ROOT  an edge's view of the origin's recordings folder (shared storage: NFS, or object
#                storage through a mount, at this path on the edge); the edge plays recordings from
#                it (streamctl.conf recordings_root=). Without it the edge plays the placeholder
#                for every recording. ROLE=edge only (one box and the origin: `config set recordings-root`)
#   REDIS_REPLICA  an edge's replica socket (default /run/redis/redis-server.sock)
#   REDIS_PRIMARY  the origin's Redis (default: the socket above on the origin, ORIGIN's host:6379 on an edge)
#   REDIS_BIND   the addresses the origin's Redis listens on (default "127.0.0.1 -::1": add the
#                address the edges reach)
#   REDIS_PASSWORD_FILE  a file holding the Redis password (requirepass; masterauth on an edge).
#                Redis refuses other hosts without one (protected mode). An origin whose Redis
#                config is included from redis.conf makes one in STATE_DIR/redis-password when
#                none is given; give every edge a copy
#   REDIS_CONF_DIR  where the rendered Redis config goes (default /etc/redis for a system install,
#                else $PREFIX/lib/streamctl/etc/redis); an `include` line is appended to the
#                redis.conf there (a system install), else printed
#
#   ./install.sh --uninstall              # removes the programs, scheduled jobs, man page and
#                                         # completions of that PREFIX; keeps the database and recordings
set -euo pipefail

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# The installed database is the one in STATE_DIR, whatever this shell points streamctl at.
unset STREAMCTL_DB STREAMCTL_CONF
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=${PREFIX:-/usr/local}
case "$PREFIX" in
  /usr | /usr/local) DEFAULT_STATE=/var/lib/streamctl ;;
  *) DEFAULT_STATE=$PREFIX/var/lib/streamctl ;;
esac
STATE_DIR=${STATE_DIR:-$DEFAULT_STATE}
APP=$PREFIX/lib/streamctl
DB=$STATE_DIR/streamctl.db
SHARE=$PREFIX/share
# Names of every scheduled job, its streamctl arguments and when it runs (systemd OnCalendar).
ALL_JOBS=(reconcile recordings-prune events-prune metrics)
JOBS=(reconcile recordings-prune events-prune)
EVENTS_RETENTION=${EVENTS_RETENTION:-90d}
METRICS_FILE=${METRICS_FILE:-}
[ -z "$METRICS_FILE" ] || JOBS+=(metrics)
job_args() {
  case $1 in
    reconcile) echo "status --reconcile" ;;
    metrics) echo "metrics -o $METRICS_FILE" ;;
    recordings-prune) echo "recordings prune" ;;
    events-prune) echo "events prune --older-than $EVENTS_RETENTION" ;;
  esac
}
job_what() {
  case $1 in
    reconcile) echo "close broadcasts MistServer no longer has" ;;
    recordings-prune) echo "delete recordings past their retention or the size cap" ;;
    events-prune) echo "delete audit events older than $EVENTS_RETENTION" ;;
    metrics) echo "write metrics for node_exporter's textfile collector" ;;
  esac
}
job_calendar() { # systemd OnCalendar
  case $1 in
    reconcile | metrics) echo "minutely" ;;
    recordings-prune) echo "*-*-* 04:15:00" ;;
    events-prune) echo "*-*-* 04:45:00" ;;
  esac
}
job_cron() { # the same, as cron's five fields
  case $1 in
    reconcile | metrics) echo "*    *  *   *   *" ;;
    recordings-prune) echo "15   4  *   *   *" ;;
    events-prune) echo "45   4  *   *   *" ;;
  esac
}
SYSTEMD_DIR_GIVEN=${SYSTEMD_DIR:+1}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
CRON_DIR_GIVEN=${CRON_DIR:+1}
CRON_DIR=${CRON_DIR:-/etc/cron.d}
CRON_FILE=$CRON_DIR/streamctl

# Removes the scheduled jobs recorded in streamctl.conf (schedule=, schedule_dir=) and, for systemd,
# stops their timers first. Also used on reinstall, when the kind of schedule changes.
remove_schedule() {
  local conf=$APP/streamctl.conf kind dir job
  [ -f "$conf" ] || return 0
  kind=$(sed -n 's/^schedule=//p' "$conf" | tail -n 1)
  dir=$(sed -n 's/^schedule_dir=//p' "$conf" | tail -n 1)
  case $kind in
    systemd)
      if [ "$dir" = /etc/systemd/system ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        for job in "${ALL_JOBS[@]}"; do systemctl disable --now "streamctl-$job.timer" >/dev/null 2>&1 || true; done
        systemctl disable --now streamctl-relay.service >/dev/null 2>&1 || true
        systemctl disable --now streamctl-webhooks.service >/dev/null 2>&1 || true
      fi
      for job in "${ALL_JOBS[@]}"; do rm -f "$dir/streamctl-$job.service" "$dir/streamctl-$job.timer"; done
      rm -f "$dir/streamctl-relay.service" "$dir/streamctl-webhooks.service"
      if [ "$dir" = /etc/systemd/system ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
      ;;
    cron) rm -f "$dir/streamctl" ;;
  esac
}

# Removes the rendered Redis config recorded in streamctl.conf (redis_conf=) and its include line.
remove_redis_conf() {
  local conf=$APP/streamctl.conf file main
  [ -f "$conf" ] || return 0
  file=$(sed -n 's/^redis_conf=//p' "$conf" | tail -n 1)
  [ -n "$file" ] || return 0
  main=$(dirname "$file")/redis.conf
  if [ -f "$main" ] && grep -qxF "include $file" "$main"; then
    grep -vxF "include $file" "$main" | grep -vxF '# streamctl (install.sh): its role'"'"'s settings, last so they win' >"$main.new" || true
    cat "$main.new" >"$main" && rm -f "$main.new"
  fi
  rm -f "$file"
}

if [ "${1:-}" = --uninstall ]; then
  [ -d "$APP" ] || die "nothing installed at $APP (give the PREFIX you installed with)"
  say "==> removing scheduled jobs, programs, man page and completions from $PREFIX"
  remove_schedule
  remove_redis_conf
  [ "$(readlink "$PREFIX/bin/streamctl" 2>/dev/null)" = "$APP/bin/streamctl" ] && rm -f "$PREFIX/bin/streamctl"
  rm -f "$SHARE/man/man1/streamctl.1" "$SHARE/bash-completion/completions/streamctl" \
    "$SHARE/zsh/site-functions/_streamctl" "$SHARE/fish/vendor_completions.d/streamctl.fish"
  rm -rf "$APP"
  for d in man/man1 man bash-completion/completions bash-completion zsh/site-functions zsh fish/vendor_completions.d fish; do
    rmdir "$SHARE/$d" 2>/dev/null || true # only when empty: other programs' files stay
  done
  say "removed. Kept: the database and recordings in $STATE_DIR (delete them yourself if you mean to)."
  say "MistServer still has streamctl's triggers and streams configured: remove them in its interface,"
  say "or it refuses every push and viewer (the triggers' refusing defaults)."
  exit 0
fi
[ $# -eq 0 ] || die "unknown argument $1 (only --uninstall)"

# --- prerequisites -----------------------------------------------------------------------------
NODE_BIN=$(command -v node || true)
[ -n "$NODE_BIN" ] || die "node is not on PATH; install Node.js 24 LTS (or 22.12 or newer) first (README: Install)"
NODE_BIN=$(readlink -f "$NODE_BIN")
# `node --version` (v24.11.0), not `node -p`: a tenth of the start-up.
NODE_VERSION=$("$NODE_BIN" --version)
NODE_MAJOR=${NODE_VERSION#v}
NODE_MINOR=${NODE_MAJOR#*.}
NODE_MINOR=${NODE_MINOR%%.*}
NODE_MAJOR=${NODE_MAJOR%%.*}
# 22.12 is the floor: commander 15 needs require() of ES modules, and better-sqlite3 13's prebuilt addon
# (N-API 10) crashes Node 20 with a segmentation fault, which for a trigger is a refused viewer.
if [ "$NODE_MAJOR" -lt 22 ] || { [ "$NODE_MAJOR" = 22 ] && [ "$NODE_MINOR" -lt 12 ]; }; then
  die "Node.js 24 LTS (or 22.12 or newer) is needed (found $NODE_VERSION; README: Install)"
fi
mkdir -p "$PREFIX" 2>/dev/null || true
[ -w "$PREFIX" ] || die "cannot write to $PREFIX; run as root, or choose PREFIX=\$HOME/.local"
SITE_GROUP=${STREAMCTL_GROUP:-streamctl}
if [ -n "${SITE_USER:-}" ]; then
  [ "$(id -u)" = 0 ] || die "SITE_USER needs root (it creates the $SITE_GROUP group and changes the database's group)"
  id "$SITE_USER" >/dev/null 2>&1 || die "no user $SITE_USER (SITE_USER)"
  case "$SITE_GROUP" in [a-z_][a-z0-9_-]*) ;; *) die "invalid STREAMCTL_GROUP $SITE_GROUP" ;; esac
fi

# The server's role (docs/deployment.md): checked before anything is built or written.
ROLE=${ROLE:-single}
ORIGIN=${ORIGIN:-}
case $ROLE in
  single | origin) [ -z "$ORIGIN" ] || die "ORIGIN is for ROLE=edge (this is ROLE=$ROLE)" ;;
  edge)
    [ -n "$ORIGIN" ] || die "ROLE=edge needs ORIGIN=<origin host> (where the edge pulls streams and replicates from)"
    # It goes into MistServer's and Redis's config: a host name or address, optionally :port.
    printf '%s' "$ORIGIN" | grep -Eqx '(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[0-9a-fA-F:]+)(:[0-9]{1,5})?' || die "invalid ORIGIN $ORIGIN (a host name or address, optionally :port)"
    ;;
  *) die "ROLE must be single, origin or edge (got $ROLE)" ;;
esac
if [ -n "${RECORDINGS_ROOT:-}" ]; then
  [ "$ROLE" = edge ] || die "RECORDINGS_ROOT is for ROLE=edge (this is ROLE=$ROLE: streamctl config set recordings-root <folder>)"
  case $RECORDINGS_ROOT in /*) ;; *) die "RECORDINGS_ROOT must be an absolute folder (got $RECORDINGS_ROOT)" ;; esac
fi
REDIS_SOCKET=/run/redis/redis-server.sock
if [ "$ROLE" != single ]; then
  REDIS_REPLICA=${REDIS_REPLICA:-$REDIS_SOCKET}
  # The Redis host of an edge's origin: ORIGIN without a DTSC port (brackets kept for IPv6).
  ORIGIN_HOST=$ORIGIN
  case $ORIGIN in
    \[*\]:*) ORIGIN_HOST=${ORIGIN%:*} ;;
    *:*:*) ;;
    *:*) ORIGIN_HOST=${ORIGIN%:*} ;;
  esac
  if [ "$ROLE" = origin ]; then REDIS_PRIMARY=${REDIS_PRIMARY:-$REDIS_SOCKET}; else REDIS_PRIMARY=${REDIS_PRIMARY:-$ORIGIN_HOST:6379}; fi
  REDIS_BIND=${REDIS_BIND:-127.0.0.1 -::1}
  # A re-install keeps the password file an earlier one (or the operator) named.
  if [ -z "${REDIS_PASSWORD_FILE:-}" ] && [ -f "$APP/streamctl.conf" ]; then REDIS_PASSWORD_FILE=$(sed -n 's/^redis_password_file=//p' "$APP/streamctl.conf" | tail -n 1); fi
  case $REDIS_REPLICA in /*) ;; *) die "REDIS_REPLICA must be a unix socket path (got $REDIS_REPLICA)" ;; esac
  if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then [ -r "$REDIS_PASSWORD_FILE" ] || die "cannot read REDIS_PASSWORD_FILE $REDIS_PASSWORD_FILE"; fi
  # Redis 7 in protected mode answers other hosts only when a password is set: the edge's replica
  # and its viewer-cap calls reach the origin's Redis from another host. Said, not enforced: an
  # operator may run the origin's Redis with protected mode off on a private network.
  if [ "$ROLE" = edge ] && [ -z "${REDIS_PASSWORD_FILE:-}" ]; then
    say "NOTE: no REDIS_PASSWORD_FILE: the origin's Redis refuses this edge unless it has no password and protected mode off (docs/deployment.md)"
  fi
fi

# --- build -------------------------------------------------------------------------------------
cd "$SRC"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "==> installing dependencies (npm ci; nothing is compiled: better-sqlite3 ships prebuilt addons)"
    npm ci --no-audit --no-fund
  fi
  say "==> building"
  npm run --silent build
fi
[ -f dist/cli.js ] && [ -f dist/better_sqlite3.node ] && [ -f dist/streamctl.1 ] || die "dist/ is incomplete; run without SKIP_BUILD=1"
[ -f assets/placeholder.mkv ] || die "assets/placeholder.mkv is missing from $SRC (the VoD placeholder)"

# --- install the programs ----------------------------------------------------------------------
say "==> installing into $APP"
mkdir -p "$APP/bin" "$PREFIX/bin"
rm -rf "$APP/dist.new"
cp -R dist "$APP/dist.new"
rm -rf "$APP/dist"
mv "$APP/dist.new" "$APP/dist"
# A minimal package.json: node reads the nearest one on every start to tell CommonJS from ESM. Its
# main/types make the installed copy the Node entry too (require('/usr/local/lib/streamctl')).
# The version is read with sed, not a node start: package.json's top-level "version" line.
VERSION=$(sed -n 's/^  "version": *"\([^"]*\)",*$/\1/p' package.json)
[ -n "$VERSION" ] || die "no version in $SRC/package.json"
printf '{"name":"streamctl","version":"%s","private":true,"type":"commonjs","main":"dist/index.js","types":"dist/types/src/index.d.ts"}\n' "$VERSION" >"$APP/package.json"
# The JSON Schemas of what the CLI reads and prints, for sites in any language.
rm -rf "$APP/schemas"
cp -R schemas "$APP/schemas"
# Every program file in dist/ runs by itself. Its shebang is pinned to this node binary (MistServer
# runs triggers with its own PATH, which may not contain node, and skipping /usr/bin/env saves an
# exec per viewer), and bin/<program> is a link to it: one file for node to load per trigger run.
for file in "$APP"/dist/*.js; do
  if head -n 1 "$file" | grep -q '^#!/usr/bin/env node$'; then
    sed -i "1s|.*|#!$NODE_BIN|" "$file"
  fi
done
for shim in bin/*; do
  name=$(basename "$shim")
  target=$(sed -n "s|^require('../dist/\(.*\)').*|\1|p" "$shim")
  [ -n "$target" ] && [ -x "$APP/dist/$target" ] || die "unexpected program $shim (run the build again)"
  # An asynchronous trigger's program runs behind its wrapper (dist/<program>.sh: detached, so the
  # MistServer process that fired it cannot SIGINT it as it exits; see scripts/build.ts).
  if [ -x "$APP/dist/${target%.js}.sh" ]; then target=${target%.js}.sh; fi
  ln -sfn "../dist/$target" "$APP/bin/$name"
done
ln -sfn "$APP/bin/streamctl" "$PREFIX/bin/streamctl"

# The installed programs find the database through this file (MistServer passes no arguments).
# Only the keys install.sh owns are rewritten; lines the operator added (mist_api_user=, ...) stay.
set_conf() { # key value
  local conf=$APP/streamctl.conf
  [ -f "$conf" ] || printf '# streamctl installation config (key=value); install.sh keeps lines it does not own\n' >"$conf"
  grep -v "^$1=" "$conf" >"$conf.new" || true
  printf '%s=%s\n' "$1" "$2" >>"$conf.new"
  mv "$conf.new" "$conf"
}
unset_conf() { # key: the line goes (a key of another role)
  local conf=$APP/streamctl.conf
  [ -f "$conf" ] || return 0
  grep -v "^$1=" "$conf" >"$conf.new" || true
  mv "$conf.new" "$conf"
}
set_conf db "$DB"
# The role and how it reaches Redis: keys of another role are removed, so a re-install changes roles.
set_conf role "$ROLE"
if [ "$ROLE" = edge ]; then set_conf origin "$ORIGIN"; else unset_conf origin; fi
if [ "$ROLE" = edge ]; then set_conf redis_replica "$REDIS_REPLICA"; else unset_conf redis_replica; fi
if [ "$ROLE" = single ]; then unset_conf redis_primary; else set_conf redis_primary "$REDIS_PRIMARY"; fi
# An edge plays recordings from the origin's folder, mounted here; a re-install keeps the one set before.
if [ "$ROLE" = edge ]; then
  if [ -z "${RECORDINGS_ROOT:-}" ] && [ -f "$APP/streamctl.conf" ]; then RECORDINGS_ROOT=$(sed -n 's/^recordings_root=//p' "$APP/streamctl.conf" | tail -n 1); fi
  if [ -n "${RECORDINGS_ROOT:-}" ]; then
    set_conf recordings_root "$RECORDINGS_ROOT"
    [ -d "$RECORDINGS_ROOT" ] || say "NOTE: RECORDINGS_ROOT $RECORDINGS_ROOT does not exist (yet): mount the origin's recordings folder there"
  else
    say "NOTE: no RECORDINGS_ROOT: this edge plays the placeholder for every recording (docs/deployment.md, VoD on edges)"
  fi
else
  unset_conf recordings_root
fi
if [ "$ROLE" = single ]; then unset_conf redis_password_file; elif [ -n "${REDIS_PASSWORD_FILE:-}" ]; then set_conf redis_password_file "$REDIS_PASSWORD_FILE"; fi

# --- database ----------------------------------------------------------------------------------
say "==> database $DB"
mkdir -p "$STATE_DIR"
# One start of the installed CLI (`streamctl db setup`) creates and migrates the database, makes
# the HS256 secret the site signs playback tokens with (once, so `token issue` works at once; never
# on an edge, never printed: install logs are not the place for secrets), sets an unset
# recordings-root to $STATE_DIR/recordings and moves the default VoD placeholder into $STATE_DIR.
# It prints key=value lines, read here as text (never evaluated).
SETUP=$("$APP/bin/streamctl" db setup --state-dir "$STATE_DIR" --role "$ROLE")
DB_PATH='' SCHEMA_VERSION='' APPLIED=0 TOKEN_SECRET='' RECORDINGS='' PLACEHOLDER=''
while IFS= read -r line; do
  case $line in
    path=*) DB_PATH=${line#*=} ;;
    schema_version=*) SCHEMA_VERSION=${line#*=} ;;
    applied=*) say "applied ${line#*=}"; APPLIED=1 ;;
    token_secret=*) TOKEN_SECRET=${line#*=} ;;
    recordings_root=*) RECORDINGS=${line#*=} ;;
    vod_placeholder=*) PLACEHOLDER=${line#*=} ;;
  esac
done <<<"$SETUP"
[ -n "$DB_PATH" ] && [ -n "$RECORDINGS" ] && [ -n "$PLACEHOLDER" ] || die "streamctl db setup did not say where the database, recordings and placeholder are"
if [ "$APPLIED" = 1 ]; then say "$DB_PATH: schema version $SCHEMA_VERSION"; else say "$DB_PATH: schema version $SCHEMA_VERSION (up to date)"; fi
case $TOKEN_SECRET in
  # The site signs with the origin's secret; an edge verifies with the keys its replica holds.
  none) say "    token secret: none on an edge (the origin's keys reach it through Redis)" ;;
  kept) say "    token secret: kept the existing one" ;;
  created)
    say "    created the HS256 token secret playback tokens are signed with; the site reads it with:"
    say "        $PREFIX/bin/streamctl token secret --show"
    ;;
  *) die "streamctl db setup said token_secret=$TOKEN_SECRET" ;;
esac

# Detected only when not given at all: MIST_USER= (empty) says there is none, so an install never
# depends on whatever MistController happens to run on the host (scripted installs, the tests).
if [ -z "${MIST_USER+given}" ]; then
  MIST_USER=$(ps -o user= -C MistController 2>/dev/null | head -n 1 | tr -d ' ' || true)
  if [ -z "$MIST_USER" ] && id mistserver >/dev/null 2>&1; then MIST_USER=mistserver; fi
fi
# Recordings: MistServer writes them, streamctl catalogues and prunes them (the operator's
# recordings-root is kept; db setup above chose the folder only when none was set).
mkdir -p "$RECORDINGS"
# The VoD stream's source (`mist apply` configures it): what MistServer plays for vod+<id> when
# STREAM_SOURCE answers nothing. Ours is a 2 s black, silent clip (assets/placeholder.mkv, made
# once with ffmpeg); an operator's own file at that path is kept.
if [ ! -e "$PLACEHOLDER" ]; then
  if [ -d "$(dirname "$PLACEHOLDER")" ]; then
    cp "$SRC/assets/placeholder.mkv" "$PLACEHOLDER.new"
    chmod 644 "$PLACEHOLDER.new"
    mv "$PLACEHOLDER.new" "$PLACEHOLDER"
  else
    say "    NOTE: the folder of vod-placeholder $PLACEHOLDER does not exist; no placeholder installed"
  fi
fi

# share_with GROUP: the database, its -wal/-shm, its folder and the recordings folder become
# writable by GROUP; setgid on the folders keeps the -wal/-shm files SQLite creates in that group.
share_with() {
  local f
  chgrp "$1" "$STATE_DIR" "$RECORDINGS"
  chmod 2770 "$STATE_DIR" "$RECORDINGS"
  for f in "$DB" "$DB-wal" "$DB-shm"; do
    [ -e "$f" ] || continue
    chgrp "$1" "$f"
    chmod 660 "$f"
  done
  # A database the CLI creates later (after a restore, say) gets mode 660 too, not 600.
  set_conf db_group "$1"
  SHARED_GROUP=$1
}
if [ -n "${SITE_USER:-}" ]; then
  getent group "$SITE_GROUP" >/dev/null || groupadd --system "$SITE_GROUP"
  for member in ${MIST_USER:-} "$SITE_USER"; do
    id "$member" >/dev/null 2>&1 || die "no user $member (MIST_USER)"
    id -nG "$member" | tr ' ' '\n' | grep -qx "$SITE_GROUP" || usermod -a -G "$SITE_GROUP" "$member"
  done
  share_with "$SITE_GROUP"
  set_conf site_user "$SITE_USER"
  if [ -n "${MIST_USER:-}" ]; then
    set_conf mist_user "$MIST_USER"
    say "    writable by group $SITE_GROUP: MistServer's user $MIST_USER and the site's user $SITE_USER"
  else
    say "    writable by group $SITE_GROUP: the site's user $SITE_USER"
    say "    NOTE: MistServer's user is not known; re-run with MIST_USER=<user> to add it to $SITE_GROUP"
  fi
  say "    restart MistServer and the site's backend so their processes run with the $SITE_GROUP group"
elif [ -n "${MIST_USER:-}" ] && [ "$(id -u)" = 0 ]; then
  MIST_GROUP=$(id -gn "$MIST_USER")
  share_with "$MIST_GROUP"
  set_conf mist_user "$MIST_USER"
  say "    writable by MistServer's user $MIST_USER (group $MIST_GROUP)"
elif [ -n "${MIST_USER:-}" ] && [ "$MIST_USER" != "$(id -un)" ]; then
  say "    NOTE: MistServer runs as $MIST_USER; as root, re-run to give it write access to $STATE_DIR"
else
  chmod 700 "$STATE_DIR"
  chmod 600 "$DB"
  say "    owned by $(id -un) (MistServer must run as this user, or set MIST_USER and re-run as root)"
fi
say "    recordings under $RECORDINGS"
say "    VoD placeholder $PLACEHOLDER"

# --- Redis (origin: the primary; edge: a replica of it) -------------------------------------------
if [ "$ROLE" = single ]; then
  remove_redis_conf # a previous origin's or edge's
  unset_conf redis_conf
else
  if [ -z "${REDIS_CONF_DIR:-}" ]; then
    if [ "$(id -u)" = 0 ] && [ "$DEFAULT_STATE" = /var/lib/streamctl ]; then REDIS_CONF_DIR=/etc/redis; else REDIS_CONF_DIR=$APP/etc/redis; fi
  fi
  if [ "$ROLE" = origin ]; then KIND=primary; else KIND=replica; fi
  REDIS_CONF=$REDIS_CONF_DIR/streamctl-$KIND.conf
  say "==> Redis $KIND config $REDIS_CONF"
  remove_redis_conf # a previous role's file (and its include line)
  mkdir -p "$REDIS_CONF_DIR"
  # Only when Redis will read it (included from redis.conf below): a password Redis does not have
  # would make every AUTH fail.
  if [ "$ROLE" = origin ] && [ -z "${REDIS_PASSWORD_FILE:-}" ] && [ -f "$REDIS_CONF_DIR/redis.conf" ]; then
    # Made once and kept: the edges hold copies. Readable by MistServer's group (the relay runs as it).
    REDIS_PASSWORD_FILE=$STATE_DIR/redis-password
    (umask 027 && head -c 30 /dev/urandom | base64 | tr -d '/+=\n' >"$REDIS_PASSWORD_FILE")
    if [ -n "${SHARED_GROUP:-}" ]; then chgrp "$SHARED_GROUP" "$REDIS_PASSWORD_FILE"; fi
    set_conf redis_password_file "$REDIS_PASSWORD_FILE"
    say "    made the Redis password $REDIS_PASSWORD_FILE: copy it to every edge (REDIS_PASSWORD_FILE=<copy>)"
  fi
  if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
    PW=$(head -n 1 "$REDIS_PASSWORD_FILE")
    if [ "$KIND" = primary ]; then AUTH="requirepass $PW"; else AUTH="masterauth $PW"$'\n'"requirepass $PW"; fi
  else
    AUTH="# No password: in protected mode Redis then answers this host only."
  fi
  # Rendered with awk, not sed: the password may hold any character sed treats specially.
  awk -v conf="$REDIS_CONF" -v bind="$REDIS_BIND" -v socket="$REDIS_REPLICA" -v origin="${ORIGIN_HOST:-}" -v auth="$AUTH" '
    { gsub(/@CONF@/, conf); gsub(/@BIND@/, bind); gsub(/@SOCKET@/, socket); gsub(/@ORIGIN@/, origin) }
    $0 == "@AUTH@" { print auth; next }
    { print }' "$SRC/etc/redis/$KIND.conf" >"$REDIS_CONF.new"
  # It may hold the password: readable by root and the redis group only.
  chmod 640 "$REDIS_CONF.new"
  if [ "$(id -u)" = 0 ] && getent group redis >/dev/null; then chgrp redis "$REDIS_CONF.new"; fi
  mv "$REDIS_CONF.new" "$REDIS_CONF"
  set_conf redis_conf "$REDIS_CONF"
  if [ -f "$REDIS_CONF_DIR/redis.conf" ]; then
    if ! grep -qxF "include $REDIS_CONF" "$REDIS_CONF_DIR/redis.conf"; then
      printf '# streamctl (install.sh): its role'"'"'s settings, last so they win\ninclude %s\n' "$REDIS_CONF" >>"$REDIS_CONF_DIR/redis.conf"
    fi
    say "    included from $REDIS_CONF_DIR/redis.conf; restart Redis: systemctl restart redis-server"
  else
    say "    add this line at the end of your redis.conf, then restart Redis: include $REDIS_CONF"
    if [ -z "${REDIS_PASSWORD_FILE:-}" ]; then
      say "    NOTE: no Redis password: Redis refuses the edges (protected mode); re-run with REDIS_PASSWORD_FILE=<file>"
    fi
  fi
  # The edge's programs (and the origin's relay) run as MistServer's user and use the local Redis
  # socket (mode 770, group redis).
  if [ -n "${MIST_USER:-}" ] && [ "$(id -u)" = 0 ] && id "$MIST_USER" >/dev/null 2>&1 && getent group redis >/dev/null; then
    id -nG "$MIST_USER" | tr ' ' '\n' | grep -qx redis || usermod -a -G redis "$MIST_USER"
    say "    MistServer's user $MIST_USER is in group redis (restart MistServer so its triggers get it)"
  fi
fi

# --- man page and shell completion (printed by the installed program's build: they match its commands) ---
# The build wrote them into dist/ (scripts/build.ts, writeManAndCompletions): copied, not generated
# again by four starts of streamctl on every install.
mkdir -p "$SHARE/man/man1" "$SHARE/bash-completion/completions" "$SHARE/zsh/site-functions" "$SHARE/fish/vendor_completions.d"
cp "$APP/dist/streamctl.1" "$SHARE/man/man1/streamctl.1"
cp "$APP/dist/completion.bash" "$SHARE/bash-completion/completions/streamctl"
cp "$APP/dist/completion.zsh" "$SHARE/zsh/site-functions/_streamctl"
cp "$APP/dist/completion.fish" "$SHARE/fish/vendor_completions.d/streamctl.fish"

# --- scheduled jobs -----------------------------------------------------------------------------
# They run as MistServer's user: it can write the database and the recordings folder, and the
# `offline` hook then runs as the same user the triggers run it as.
JOB_USER=$(id -un)
if [ -n "${MIST_USER:-}" ] && [ "$(id -u)" = 0 ]; then JOB_USER=$MIST_USER; fi
SYSTEMD_RUNNING=0
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then SYSTEMD_RUNNING=1; fi
# Only a system install (PREFIX /usr or /usr/local, as root) touches the system's scheduler by
# default; any other PREFIX prints the crontab lines unless SCHEDULE, SYSTEMD_DIR or CRON_DIR says otherwise.
SYSTEM_INSTALL=0
if [ "$(id -u)" = 0 ] && [ "$DEFAULT_STATE" = /var/lib/streamctl ]; then SYSTEM_INSTALL=1; fi
if [ -z "${SCHEDULE:-}" ]; then
  if [ -n "$SYSTEMD_DIR_GIVEN" ] || { [ "$SYSTEMD_RUNNING" = 1 ] && [ "$SYSTEM_INSTALL" = 1 ]; }; then SCHEDULE=systemd
  elif [ -n "$CRON_DIR_GIVEN" ] || { [ "$SYSTEM_INSTALL" = 1 ] && [ -d "$CRON_DIR" ]; }; then SCHEDULE=cron
  else SCHEDULE=print
  fi
fi
remove_schedule
STREAMCTL=$PREFIX/bin/streamctl
# The sender's failed attempts (one line each) go to a log, not to cron's mail every minute.
WEBHOOKS_OUT=">/dev/null 2>>$STATE_DIR/webhooks.log"
case $SCHEDULE in
  systemd)
    say "==> scheduled jobs: systemd timers in $SYSTEMD_DIR, as $JOB_USER"
    mkdir -p "$SYSTEMD_DIR"
    for job in "${JOBS[@]}"; do
      cat >"$SYSTEMD_DIR/streamctl-$job.service" <<UNIT
# Installed by streamctl's install.sh (removed by install.sh --uninstall); edits are overwritten.
[Unit]
Description=streamctl: $(job_what "$job")
Documentation=man:streamctl(1)
After=network-online.target

[Service]
Type=oneshot
User=$JOB_USER
ExecStart=$STREAMCTL $(job_args "$job")
# No PrivateTmp: reconcile runs the site's offline hook, which must see the same /tmp as when
# MistServer's trigger runs it.
NoNewPrivileges=yes
ProtectSystem=full
UNIT
      [ "$job" = reconcile ] && printf 'StandardOutput=null\n' >>"$SYSTEMD_DIR/streamctl-$job.service"
      # ProtectSystem=full leaves /var writable, where textfile collectors live; a file elsewhere needs ReadWritePaths.
      [ "$job" = metrics ] && printf 'ReadWritePaths=%s\n' "$(dirname "$METRICS_FILE")" >>"$SYSTEMD_DIR/streamctl-$job.service"
      cat >"$SYSTEMD_DIR/streamctl-$job.timer" <<UNIT
# Installed by streamctl's install.sh (removed by install.sh --uninstall); edits are overwritten.
[Unit]
Description=streamctl: $(job_what "$job") ($(job_calendar "$job"))

[Timer]
OnCalendar=$(job_calendar "$job")
Persistent=true

[Install]
WantedBy=timers.target
UNIT
    done
    if [ "$ROLE" = origin ]; then
      # The relay publishes every SQLite change to Redis: long-running, restarted when it stops.
      cat >"$SYSTEMD_DIR/streamctl-relay.service" <<UNIT
# Installed by streamctl's install.sh (removed by install.sh --uninstall); edits are overwritten.
[Unit]
Description=streamctl: publish admission changes to Redis for the edges (edge relay)
Documentation=man:streamctl(1)
After=network-online.target redis-server.service
Wants=redis-server.service

[Service]
Type=simple
User=$JOB_USER
ExecStart=$STREAMCTL edge relay
Restart=always
RestartSec=1
NoNewPrivileges=yes
ProtectSystem=full

[Install]
WantedBy=multi-user.target
UNIT
    fi
    if [ "$ROLE" != edge ]; then
      # The webhook sender drains what the triggers queued: long-running (new events go out within
      # a second), restarted when it stops; a killed one loses nothing (docs/webhooks.md).
      cat >"$SYSTEMD_DIR/streamctl-webhooks.service" <<UNIT
# Installed by streamctl's install.sh (removed by install.sh --uninstall); edits are overwritten.
[Unit]
Description=streamctl: send signed webhooks to the site (webhook deliver)
Documentation=man:streamctl(1)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$JOB_USER
ExecStart=$STREAMCTL webhook deliver
Restart=always
RestartSec=1
NoNewPrivileges=yes
ProtectSystem=full

[Install]
WantedBy=multi-user.target
UNIT
    fi
    chmod 644 "$SYSTEMD_DIR"/streamctl-*.service "$SYSTEMD_DIR"/streamctl-*.timer
    set_conf schedule systemd
    set_conf schedule_dir "$SYSTEMD_DIR"
    if [ -z "$SYSTEMD_DIR_GIVEN" ] && [ "$SYSTEMD_RUNNING" = 1 ]; then
      systemctl daemon-reload
      for job in "${JOBS[@]}"; do systemctl enable --now "streamctl-$job.timer" >/dev/null; done
      say "    enabled: systemctl list-timers 'streamctl-*'"
      if [ "$ROLE" = origin ]; then
        systemctl enable --now streamctl-relay.service >/dev/null
        say "    enabled: streamctl-relay.service (streamctl edge relay)"
      fi
      if [ "$ROLE" != edge ]; then
        systemctl enable streamctl-webhooks.service >/dev/null
        # restart, not start: an upgrade's sender runs the new code
        systemctl restart streamctl-webhooks.service
        say "    enabled: streamctl-webhooks.service (streamctl webhook deliver)"
      fi
    else
      say "    not enabled (SYSTEMD_DIR given): systemctl daemon-reload && systemctl enable --now $(printf 'streamctl-%s.timer ' "${JOBS[@]}")$([ "$ROLE" = origin ] && printf 'streamctl-relay.service ')$([ "$ROLE" != edge ] && printf 'streamctl-webhooks.service')"
    fi
    ;;
  cron)
    say "==> scheduled jobs: $CRON_FILE, as $JOB_USER"
    mkdir -p "$CRON_DIR"
    {
      printf '# Installed by streamctl install.sh (removed by install.sh --uninstall); edits are overwritten.\n'
      printf '# m  h  dom mon dow  user  command\n'
      for job in "${JOBS[@]}"; do
        out='>/dev/null'
        [ "$job" = recordings-prune ] && out=">>$STATE_DIR/prune.log 2>&1"
        printf '%s  %s  %s %s %s\n' "$(job_cron "$job")" "$JOB_USER" "$STREAMCTL" "$(job_args "$job")" "$out"
      done
      # Cron's minute is the sender's pace here: what is due goes out once a minute (systemd runs it as a service).
      [ "$ROLE" = edge ] || printf '%s  %s  %s %s %s\n' "*    *  *   *   *" "$JOB_USER" "$STREAMCTL" "webhook deliver --once" "$WEBHOOKS_OUT"
    } >"$CRON_FILE.new"
    chmod 644 "$CRON_FILE.new"
    mv "$CRON_FILE.new" "$CRON_FILE"
    set_conf schedule cron
    set_conf schedule_dir "$CRON_DIR"
    ;;
  print)
    set_conf schedule none
    say "==> scheduled jobs: add these lines to the crontab of $JOB_USER (crontab -e):"
    for job in "${JOBS[@]}"; do
      out='>/dev/null'
      [ "$job" = recordings-prune ] && out=">>$STATE_DIR/prune.log 2>&1"
      say "    $(job_cron "$job")  $STREAMCTL $(job_args "$job") $out"
    done
    [ "$ROLE" = edge ] || say "    *    *  *   *   *  $STREAMCTL webhook deliver --once $WEBHOOKS_OUT"
    ;;
  none) set_conf schedule none; say "==> scheduled jobs: none installed (SCHEDULE=none); see docs/operations.md" ;;
  *) die "SCHEDULE must be systemd, cron, print or none (got $SCHEDULE)" ;;
esac

if [ "$ROLE" = origin ] && [ "$SCHEDULE" != systemd ]; then
  say "==> the relay: run '$STREAMCTL edge relay' as $JOB_USER under your service manager (it runs until stopped;"
  say "    without it no change reaches the edges). 'streamctl edge relay --once' publishes what is pending and exits."
fi

# --- what to configure -------------------------------------------------------------------------
say ""
say "streamctl is installed: $PREFIX/bin/streamctl (database $DB)"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) say "    add $PREFIX/bin to PATH to run 'streamctl' by name" ;; esac
say ""
say "Next: set MistServer up (streams, triggers with refusing defaults, recording push) and check it:"
say "    $PREFIX/bin/streamctl mist apply --dry-run    # then without --dry-run (role $ROLE, from streamctl.conf)"
say "    $PREFIX/bin/streamctl doctor"
say ""
say "MistServer trigger handlers (absolute paths), for configuring it by hand instead:"
"$APP/bin/streamctl" triggers
