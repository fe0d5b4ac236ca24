#!/usr/bin/env bash
# Pulumi's nodejs language host (pulumi-language-nodejs), which the plain `pulumi` CLI needs to
# run a TypeScript/JavaScript program; built from the Go module proxy (build-go-tool.sh),
# prints the folder of the binary.
# Why this version: from about v3.90 the package lives in an untagged module of its own that
# the proxy refuses; module github.com/pulumi/pulumi/sdk/v3 at v3.68.0 is the last served
# version that still holds it. That host runs nodejs programs with CLI v3.248 (up, preview
# --diff, refresh, destroy). The project's own runs go through lab/setup/language-host-wrapper.sh.
set -euo pipefail
V="${PULUMI_LANGUAGE_NODEJS_VERSION:-3.68.0}"
exec bash "$(dirname "$0")/build-go-tool.sh" pulumi-language-nodejs "$V" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
  "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$V" \
  "github.com/pulumi/pulumi/sdk/v3@v$V"
