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
#                (default: the owner of a running MistController, else a "mistserver" user if one exists)
#   SKIP_BUILD=1 use the existing dist/ (e.g. when installing from a release tarball)
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

# --- prerequisites -----------------------------------------------------------------------------
NODE_BIN=$(command -v node || true)
[ -n "$NODE_BIN" ] || die "node is not on PATH; install Node.js 20 or newer first"
NODE_BIN=$(readlink -f "$NODE_BIN")
NODE_MAJOR=$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js 20 or newer is needed (found $("$NODE_BIN" -v))"
mkdir -p "$PREFIX" 2>/dev/null || true
[ -w "$PREFIX" ] || die "cannot write to $PREFIX; run as root, or choose PREFIX=\$HOME/.local"

# --- build -------------------------------------------------------------------------------------
cd "$SRC"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "==> installing dependencies (npm ci; better-sqlite3 compiles from source: needs python3, make, g++)"
    npm ci --no-audit --no-fund
  fi
  say "==> building"
  npm run --silent build
fi
[ -f dist/cli.js ] && [ -f dist/better_sqlite3.node ] || die "dist/ is incomplete; run without SKIP_BUILD=1"
[ -f assets/placeholder.mkv ] || die "assets/placeholder.mkv is missing from $SRC (the VoD placeholder)"

# --- install the programs ----------------------------------------------------------------------
say "==> installing into $APP"
mkdir -p "$APP/bin" "$PREFIX/bin"
rm -rf "$APP/dist.new"
cp -R dist "$APP/dist.new"
rm -rf "$APP/dist"
mv "$APP/dist.new" "$APP/dist"
# A minimal package.json: node reads the nearest one on every start to tell CommonJS from ESM.
printf '{"name":"streamctl","version":"%s","private":true,"type":"commonjs"}\n' "$("$NODE_BIN" -p 'require("./package.json").version')" >"$APP/package.json"
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
set_conf db "$DB"

# --- database ----------------------------------------------------------------------------------
say "==> database $DB"
mkdir -p "$STATE_DIR"
"$APP/bin/streamctl" db migrate

if [ -z "${MIST_USER:-}" ]; then
  MIST_USER=$(ps -o user= -C MistController 2>/dev/null | head -n 1 | tr -d ' ' || true)
  if [ -z "$MIST_USER" ] && id mistserver >/dev/null 2>&1; then MIST_USER=mistserver; fi
fi
# Recordings: MistServer writes them, streamctl catalogues and prunes them. Keep the operator's choice.
RECORDINGS=$("$APP/bin/streamctl" config get recordings-root)
if [ -z "$RECORDINGS" ]; then
  RECORDINGS=$STATE_DIR/recordings
  "$APP/bin/streamctl" config set recordings-root "$RECORDINGS" >/dev/null
fi
mkdir -p "$RECORDINGS"
if [ "$("$APP/bin/streamctl" config get vod-placeholder)" = /var/lib/streamctl/placeholder.mkv ] && [ "$STATE_DIR" != /var/lib/streamctl ]; then
  "$APP/bin/streamctl" config set vod-placeholder "$STATE_DIR/placeholder.mkv" >/dev/null
fi
# The VoD stream's source (`mist apply` configures it): what MistServer plays for vod+<id> when
# STREAM_SOURCE answers nothing. Ours is a 2 s black, silent clip (assets/placeholder.mkv, made
# once with ffmpeg); an operator's own file at that path is kept.
PLACEHOLDER=$("$APP/bin/streamctl" config get vod-placeholder)
if [ ! -e "$PLACEHOLDER" ]; then
  if [ -d "$(dirname "$PLACEHOLDER")" ]; then
    cp "$SRC/assets/placeholder.mkv" "$PLACEHOLDER.new"
    chmod 644 "$PLACEHOLDER.new"
    mv "$PLACEHOLDER.new" "$PLACEHOLDER"
  else
    say "    NOTE: the folder of vod-placeholder $PLACEHOLDER does not exist; no placeholder installed"
  fi
fi

if [ -n "${MIST_USER:-}" ] && [ "$(id -u)" = 0 ]; then
  MIST_GROUP=$(id -gn "$MIST_USER")
  # The group gets write access; setgid keeps the -wal/-shm files SQLite creates in that group.
  chgrp "$MIST_GROUP" "$STATE_DIR" "$DB" "$RECORDINGS"
  chmod 2770 "$STATE_DIR" "$RECORDINGS"
  chmod 660 "$DB"
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

# --- what to configure -------------------------------------------------------------------------
say ""
say "streamctl is installed: $PREFIX/bin/streamctl (database $DB)"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) say "    add $PREFIX/bin to PATH to run 'streamctl' by name" ;; esac
say ""
say "Next: set MistServer up (streams, triggers with refusing defaults, recording push) and check it:"
say "    $PREFIX/bin/streamctl mist apply --dry-run    # then without --dry-run"
say "    $PREFIX/bin/streamctl doctor"
say ""
say "MistServer trigger handlers (absolute paths), for configuring it by hand instead:"
"$APP/bin/streamctl" triggers
