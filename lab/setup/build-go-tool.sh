#!/usr/bin/env bash
# Builds one Go command from the Go module proxy and caches it; prints the folder of the binary.
# Why this way: machines here reach only npm, Debian and the Go proxy, no registry ships these
# tools as binaries, and some modules carry `replace` directives, so `go install pkg@version`
# is refused; building them as dependencies of a throw-away module works. The result is cached
# in $VPM_CACHE (default ~/.cache/vpm)/<name>-v<version>/bin, so a second run takes no time.
#
#   build-go-tool.sh NAME VERSION PACKAGE LDFLAGS MODULE@VERSION [MODULE@VERSION...]
set -euo pipefail

NAME=$1 VERSION=$2 PACKAGE=$3 LDFLAGS=$4
shift 4
CACHE="${VPM_CACHE:-$HOME/.cache/vpm}"
OUT="$CACHE/$NAME-v$VERSION/bin"
STAMP="$OUT/.complete"

if [ -f "$STAMP" ] && [ -x "$OUT/$NAME" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { echo "build-go-tool: 'go' is not on PATH; install Go (>= 1.22) to build $NAME" >&2; exit 1; }

MOD="$CACHE/$NAME-build-v$VERSION"
mkdir -p "$MOD" "$OUT"
cd "$MOD"
export GOFLAGS=-mod=mod
[ -f go.mod ] || go mod init "vpm.local/$NAME-build" >&2
printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "%s"\n)\n' "$PACKAGE" > tools.go
echo "build-go-tool: resolving $* from the Go module proxy" >&2
go get "$@" >&2
go mod tidy >&2 || true
echo "build-go-tool: compiling $NAME (minutes the first time)" >&2
go build -ldflags "$LDFLAGS" -o "$OUT/$NAME" "$PACKAGE" >&2
touch "$STAMP"
echo "$OUT"
