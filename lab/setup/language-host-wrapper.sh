#!/bin/sh
# The nodejs language host as this project runs it: .tools/bin/pulumi-language-nodejs with
# Pulumi.yaml's `runtime.options.typescript: false` applied. setup.sh installs it as
# .tools/project-bin/pulumi-language-nodejs, beside a hard link of the CLI, for the project's
# own runs (pulumi-env.js puts that folder first on PATH). Why: the host `npm run setup` builds
# (v3.68, lab/setup/build-language-host.sh) takes its options as command-line flags, and CLI
# v3.248 no longer passes them so (it sends them over RPC, which v3.68 ignores): every program
# run registered ts-node for a program that is compiled JavaScript (dist/); ~50 ms of CPU per
# program run, and no .ts hook in the way. A newer host (no `-typescript` flag; it reads the
# option itself) is run unchanged.
host=$(CDPATH= cd -- "$(dirname -- "$0")/../bin" && pwd)/pulumi-language-nodejs
if "$host" -help 2>&1 | grep -q -- '-typescript'; then
  exec "$host" -typescript=false "$@"
fi
exec "$host" "$@"
