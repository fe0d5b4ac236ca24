#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go module proxy.
# Why: machines here reach only npm, Debian and the Go proxy, and no registry ships
# the Pulumi CLI as a binary. pkg/go.mod has `replace` directives, so `go install
# pkg@version` is refused; we build it as a dependency of a throw-away module instead.
# The result is cached in $VPM_CACHE (default ~/.cache/vpm) so a second run takes seconds.
set -euo pipefail

PULUMI_VERSION="${PULUMI_VERSION:-3.248.0}"
CACHE="${VPM_CACHE:-$HOME/.cache/vpm}"
OUT="$CACHE/pulumi-v$PULUMI_VERSION/bin"
STAMP="$OUT/.complete"

if [ -f "$STAMP" ] && [ -x "$OUT/pulumi" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { echo "build-pulumi: 'go' is not on PATH; install Go (>= 1.22) to build the Pulumi CLI" >&2; exit 1; }

MOD="$CACHE/pulumi-build-v$PULUMI_VERSION"
mkdir -p "$MOD" "$OUT"
cd "$MOD"
export GOFLAGS=-mod=mod
if [ ! -f go.mod ]; then
  go mod init vpm.local/pulumi-build >&2
fi
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
GO
echo "build-pulumi: resolving github.com/pulumi/pulumi v$PULUMI_VERSION from the Go module proxy" >&2
go get "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" >&2
# The nodejs language host is built separately (build-language-host.sh).
go mod tidy >&2 || true
LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
echo "build-pulumi: compiling pulumi (several minutes the first time)" >&2
go build -ldflags "$LDFLAGS" -o "$OUT/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
touch "$STAMP"
echo "$OUT"
