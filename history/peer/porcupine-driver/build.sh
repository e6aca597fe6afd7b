#!/bin/sh
# Builds the Porcupine driver against a Porcupine checkout the user provides.
# Usage: PORCUPINE_SRC=/path/to/porcupine history/peer/porcupine-driver/build.sh [OUTPUT]
# The checkout is named in a temporary module file (go build -modfile), never in go.mod.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${PORCUPINE_SRC:?set PORCUPINE_SRC to a Porcupine checkout (the directory holding its go.mod)}
src=$(cd "$src" && pwd)
[ -f "$src/go.mod" ] || { echo "build.sh: $src/go.mod not found; PORCUPINE_SRC must be a Porcupine checkout" >&2; exit 1; }
out=${1:-$here/porcupine-driver}
case "$out" in /*) ;; *) out=$(pwd)/$out ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/go.mod" "$work/go.mod"
printf '\nreplace github.com/anishathalye/porcupine => %s\n' "$src" >> "$work/go.mod"
: > "$work/go.sum"
cd "$here"
GOFLAGS=-mod=mod GOPROXY=off go build -modfile="$work/go.mod" -o "$out" .
echo "built $out"
