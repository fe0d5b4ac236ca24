#!/usr/bin/env bash
# The Pulumi CLI at $PULUMI_VERSION (the @pulumi/pulumi version pinned for development),
# built from the Go module proxy (build-go-tool.sh); prints the folder of the binary.
# pkg/go.mod has `replace` directives, hence the throw-away module.
set -euo pipefail
V="${PULUMI_VERSION:-3.248.0}"
exec bash "$(dirname "$0")/build-go-tool.sh" pulumi "$V" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$V" \
  "github.com/pulumi/pulumi/pkg/v3@v$V" "github.com/pulumi/pulumi/sdk/v3@v$V"
