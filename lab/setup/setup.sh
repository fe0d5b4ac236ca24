#!/usr/bin/env bash
# One idempotent set-up for everything VPM needs on this machine: Debian packages, npm
# dependencies, the Pulumi CLI (built from the Go module proxy and cached), the lab's guest
# image. Fast when everything is already there: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
log() { printf 'setup: %s\n' "$*" >&2; }

# --- 1. Debian packages -----------------------------------------------------------------
PACKAGES=(openvswitch-switch iproute2 openssh-server openssh-client socat iperf3
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  libvirt-daemon-system libvirt-clients qemu-system-x86 linux-image-amd64 busybox-static
  cpio procps ethtool iputils-ping gcc libc6-dev binutils xz-utils chromium ansible)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# --- 2. npm dependencies (npm ci only when the lock file changed) ------------------------
LOCK_SUM=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.vpm-lock-sum ] || [ "$(cat node_modules/.vpm-lock-sum)" != "$LOCK_SUM" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >&2
  echo "$LOCK_SUM" > node_modules/.vpm-lock-sum
fi

# --- 3. Pulumi CLI ----------------------------------------------------------------------
PULUMI_VERSION=$(node -p "require('./node_modules/@pulumi/pulumi/package.json').version")
if command -v pulumi >/dev/null 2>&1 && pulumi version 2>/dev/null | grep -qx "v$PULUMI_VERSION"; then
  PULUMI_BIN=$(dirname "$(command -v pulumi)")
else
  log "Pulumi CLI v$PULUMI_VERSION (cached build, or built once from the Go module proxy)"
  PULUMI_BIN=$(PULUMI_VERSION=$PULUMI_VERSION bash lab/setup/build-pulumi.sh)
fi
# The dynamic-provider launcher ships in @pulumi/pulumi; the CLI finds plugins on PATH.
# The CLI looks for bundled plugins beside its own (symlink-resolved) executable, so the
# binary is hard-linked (or copied) into .tools/bin rather than symlinked.
mkdir -p .tools/bin
if [ -L .tools/bin/pulumi ] || ! cmp -s "$PULUMI_BIN/pulumi" .tools/bin/pulumi; then
  rm -f .tools/bin/pulumi
  ln "$PULUMI_BIN/pulumi" .tools/bin/pulumi 2>/dev/null || cp "$PULUMI_BIN/pulumi" .tools/bin/pulumi
fi
ln -sfn "$ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" .tools/bin/pulumi-resource-pulumi-nodejs

# --- 3b. The nodejs language host, which lets the plain CLI run programs (`pulumi up`) ------
if command -v pulumi-language-nodejs >/dev/null 2>&1 && [ "$(command -v pulumi-language-nodejs)" != "$ROOT/.tools/bin/pulumi-language-nodejs" ]; then
  HOST_BIN=$(dirname "$(command -v pulumi-language-nodejs)")
else
  HOST_BIN=$(bash lab/setup/build-language-host.sh)
fi
if ! cmp -s "$HOST_BIN/pulumi-language-nodejs" .tools/bin/pulumi-language-nodejs; then
  rm -f .tools/bin/pulumi-language-nodejs
  ln "$HOST_BIN/pulumi-language-nodejs" .tools/bin/pulumi-language-nodejs 2>/dev/null || cp "$HOST_BIN/pulumi-language-nodejs" .tools/bin/pulumi-language-nodejs
fi
# The project's own runs (pulumi-env.js) use .tools/project-bin: the same CLI (hard link) with
# lab/setup/language-host-wrapper.sh as the host beside it, which applies this project's
# `typescript: false` (the script says why). Beside the CLI, not only earlier on PATH: the CLI
# warns on every run when the host it finds on PATH is not the one beside it. .tools/bin stays
# plain for other projects (a TypeScript program needs the host as it is).
mkdir -p .tools/project-bin
if ! cmp -s .tools/bin/pulumi .tools/project-bin/pulumi; then
  rm -f .tools/project-bin/pulumi
  ln .tools/bin/pulumi .tools/project-bin/pulumi 2>/dev/null || cp .tools/bin/pulumi .tools/project-bin/pulumi
fi
if ! cmp -s lab/setup/language-host-wrapper.sh .tools/project-bin/pulumi-language-nodejs; then
  install -m 0755 lab/setup/language-host-wrapper.sh .tools/project-bin/pulumi-language-nodejs
fi
ln -sfn "$ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" .tools/project-bin/pulumi-resource-pulumi-nodejs

# --- 4. Lab guest image (kernel + busybox initramfs) ------------------------------------
# actionlint: the test suite lints .github/workflows/ with it (test/unit/workflow.test.ts).
LINT_BIN=$(bash lab/setup/build-actionlint.sh)
if ! cmp -s "$LINT_BIN/actionlint" .tools/bin/actionlint; then
  rm -f .tools/bin/actionlint
  ln "$LINT_BIN/actionlint" .tools/bin/actionlint 2>/dev/null || cp "$LINT_BIN/actionlint" .tools/bin/actionlint
fi
if [ -f lab/setup/build-guest.sh ]; then
  bash lab/setup/build-guest.sh >&2
fi
log "ready (pulumi v$PULUMI_VERSION and its nodejs language host in .tools/bin: export PATH=\"$ROOT/.tools/bin:\$PATH\")"
