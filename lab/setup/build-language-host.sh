#!/usr/bin/env bash
# Builds Pulumi's nodejs language host (pulumi-language-nodejs), which the plain `pulumi` CLI
# needs to run a TypeScript/JavaScript program (`pulumi up`, `preview`, ...).
# Why this version: no registry here ships the binary, and from about v3.90 the package lives in
# an untagged module of its own that the Go module proxy refuses; module
# github.com/pulumi/pulumi/sdk/v3 at v3.68.0 is the last served version that still holds it.
# That host speaks the language-host protocol the CLI v3.248 uses for nodejs programs (checked
# with up, preview --diff, refresh, destroy; the CLI warns it is used "from $PATH": harmless).
# Built as a dependency of a throw-away module (like build-pulumi.sh) and cached in $VPM_CACHE.
set -euo pipefail

HOST_VERSION="${PULUMI_LANGUAGE_NODEJS_VERSION:-3.68.0}"
CACHE="${VPM_CACHE:-$HOME/.cache/vpm}"
OUT="$CACHE/pulumi-language-nodejs-v$HOST_VERSION/bin"
STAMP="$OUT/.complete"

if [ -f "$STAMP" ] && [ -x "$OUT/pulumi-language-nodejs" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { echo "build-language-host: 'go' is not on PATH; install Go (>= 1.22) to build pulumi-language-nodejs" >&2; exit 1; }

MOD="$CACHE/language-nodejs-build-v$HOST_VERSION"
mkdir -p "$MOD" "$OUT"
cd "$MOD"
export GOFLAGS=-mod=mod
[ -f go.mod ] || go mod init vpm.local/language-nodejs-build >&2
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
)
GO
echo "build-language-host: resolving github.com/pulumi/pulumi/sdk/v3 v$HOST_VERSION from the Go module proxy" >&2
go get "github.com/pulumi/pulumi/sdk/v3@v$HOST_VERSION" >&2
go mod tidy >&2
LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$HOST_VERSION"
echo "build-language-host: compiling pulumi-language-nodejs (about 2 minutes the first time)" >&2
go build -ldflags "$LDFLAGS" -o "$OUT/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs >&2
touch "$STAMP"
echo "$OUT"
