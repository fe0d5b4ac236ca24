#!/usr/bin/env bash
# actionlint (the GitHub Actions workflow linter the test suite runs on .github/workflows/),
# built from the Go module proxy (build-go-tool.sh), cached; prints the folder of the binary.
set -euo pipefail
V="${ACTIONLINT_VERSION:-1.7.12}"
exec bash "$(dirname "$0")/build-go-tool.sh" actionlint "$V" github.com/rhysd/actionlint/cmd/actionlint "-s -w" \
  "github.com/rhysd/actionlint@v$V"
