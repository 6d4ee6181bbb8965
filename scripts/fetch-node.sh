#!/usr/bin/env bash
# Prints the bin/ folder of a Node.js release of the given major version (24, 22), fetching it when the
# machine has none: the node on PATH if it is that major, else a copy unpacked under
# $STREAMCTL_NODE_CACHE/<major> (default /opt/streamctl-node as root, else ~/.cache/streamctl-node). The
# copy must be readable by every user: installed programs are pinned to the node that ran install.sh,
# and the tests run them as MistServer's and the site's users (so not under root's 0700 home). It comes
# from the npm registry's node-linux-<arch> package (a full Node distribution: bin/node and include/),
# so it needs npm and the registry only, the same place `npm ci` fetches from. Used by .ci/run; a user
# can do the same by hand (README, Install).
set -euo pipefail
major=${1:?usage: fetch-node.sh MAJOR}
if command -v node >/dev/null && [ "$(node --version | sed 's/^v\([0-9]*\).*/\1/')" = "$major" ]; then
  dirname "$(readlink -f "$(command -v node)")"
  exit 0
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "fetch-node.sh: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
if [ "$(id -u)" = 0 ]; then default_cache=/opt/streamctl-node; else default_cache=$HOME/.cache/streamctl-node; fi
cache=${STREAMCTL_NODE_CACHE:-$default_cache}/$major
if [ ! -x "$cache/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$major" >/dev/null)
  mkdir -p "$cache.new"
  chmod 755 "$(dirname "$cache")" "$cache.new"
  tar xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$cache.new" --strip-components=1
  rm -rf "$cache" && mv "$cache.new" "$cache"
fi
echo "$cache/bin"
