#!/bin/sh
# Runs "$@" under Node.js >= 22.19. When the node on PATH is older (this project's
# dependencies need Node 22), Node 22 is installed once from the npm registry's
# `node` package into ~/.cache/node22 and put first on PATH.
# Usage: sh scripts/node22.sh <command> [args...]   (or `. scripts/node22.sh` to only set PATH)
set -e

node_is_recent() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if ! node_is_recent; then
  prefix="${ACTBATCH_NODE22_PREFIX:-$HOME/.cache/node22}"
  if [ ! -x "$prefix/node_modules/.bin/node" ]; then
    echo "actbatch: node $(node --version 2>/dev/null || echo missing) is older than 22.19; installing Node 22 into $prefix (once)" >&2
    npm install --silent --no-audit --no-fund --prefix "$prefix" node@22 >&2
  fi
  PATH="$prefix/node_modules/.bin:$PATH"
  export PATH
  node_is_recent || { echo "actbatch: could not provide Node >= 22.19" >&2; exit 1; }
fi

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
