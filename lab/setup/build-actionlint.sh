#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter the test suite runs on
# .github/workflows/) from the Go module proxy, the way build-pulumi.sh builds the CLI: as a
# dependency of a throw-away module, cached in $VPM_CACHE (default ~/.cache/vpm), so a second
# run takes no time. Prints the binary's directory.
set -euo pipefail

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-1.7.12}"
CACHE="${VPM_CACHE:-$HOME/.cache/vpm}"
OUT="$CACHE/actionlint-v$ACTIONLINT_VERSION/bin"
STAMP="$OUT/.complete"

if [ -f "$STAMP" ] && [ -x "$OUT/actionlint" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { echo "build-actionlint: 'go' is not on PATH; install Go (>= 1.22) to build actionlint" >&2; exit 1; }

MOD="$CACHE/actionlint-build-v$ACTIONLINT_VERSION"
mkdir -p "$MOD" "$OUT"
cd "$MOD"
export GOFLAGS=-mod=mod
if [ ! -f go.mod ]; then
  go mod init vpm.local/actionlint-build >&2
fi
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
GO
echo "build-actionlint: resolving github.com/rhysd/actionlint v$ACTIONLINT_VERSION from the Go module proxy" >&2
go get "github.com/rhysd/actionlint@v$ACTIONLINT_VERSION" >&2
go mod tidy >&2 || true
go build -ldflags "-s -w" -o "$OUT/actionlint" github.com/rhysd/actionlint/cmd/actionlint >&2
touch "$STAMP"
echo "$OUT"
