#!/usr/bin/env bash
# Builds the lab's tiny VM guest and the host helpers that libvirt needs here; prints the
# output directory. Idempotent and cached: rebuilds only when an input changed.
#
# Output in ${VPM_CACHE:-$HOME/.cache/vpm}/guest/:
#   vmlinux | bzImage   the Debian kernel; vmlinux (uncompressed ELF, PVH entry: boots in ~3 s
#                       under TCG) when it can be extracted from /boot/vmlinuz-*, else bzImage
#   kernel              symlink to the one above
#   initramfs.cpio.gz   busybox + /init (lab/guest/init) + udprelay + the virtio_net modules
#   udprelay            the relay (lab/guest/udprelay.c, static), also usable on hosts
#   vpm-subreaper       child-subreaper wrapper for libvirtd (lab/libvirt/subreaper.c)
#   vpm-tapwatch        timestamps the stream's datagrams on a VM's tap (lab/stream/tapwatch.c;
#                       the migration bench's split of a gap into the VM's part and the network's)
#   qemu-system-x86_64-vpm  <emulator> wrapper: +8 KiB guest RAM (QEMU 7.2 TCG migration fix)
#   manifest.json       paths and versions, read by lab/libvirt
#
# Inputs: VPM_CACHE, VPM_GUEST_KERNEL (a vmlinuz to use instead of the newest in /boot).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${VPM_CACHE:-$HOME/.cache/vpm}"
OUT="$CACHE/guest"
log() { printf 'build-guest: %s\n' "$*" >&2; }
die() { printf 'build-guest: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is missing: run \`npm run setup\` (Debian package: $2)"
}
need gcc gcc
need cpio cpio
need gzip gzip
need readelf binutils
need strip binutils
need flock util-linux
# gcc -static needs the C library's static archive.
[ "$(gcc -print-file-name=libc.a)" != libc.a ] || die "libc.a is missing (gcc -static): run \`npm run setup\` (Debian package: libc6-dev)"
[ -x /bin/busybox ] || die "/bin/busybox is missing: run \`npm run setup\` (Debian package: busybox-static)"
file_is_static() { ! readelf -l "$1" 2>/dev/null | grep -q 'INTERP'; }
file_is_static /bin/busybox || die "/bin/busybox is not static: install busybox-static (npm run setup)"
QEMU_BIN="$(command -v qemu-system-x86_64 || true)"
[ -n "$QEMU_BIN" ] || die "qemu-system-x86_64 is missing: run \`npm run setup\` (Debian package: qemu-system-x86)"

# --- the kernel -----------------------------------------------------------------------
if [ -n "${VPM_GUEST_KERNEL:-}" ]; then
  VMLINUZ="$VPM_GUEST_KERNEL"
else
  VMLINUZ="$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)"
fi
[ -n "$VMLINUZ" ] && [ -r "$VMLINUZ" ] ||
  die "no readable kernel in /boot (vmlinuz-*): run \`npm run setup\` (Debian package: linux-image-amd64)"
KVER="${VMLINUZ##*/vmlinuz-}"
MODDIR="/lib/modules/$KVER"
[ -f "$MODDIR/modules.dep" ] || die "no modules for kernel $KVER in $MODDIR (linux-image-amd64 incomplete?)"

# Load order from LAB-NOTES: dependencies first.
MODULES=(failover net_failover virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_net)
MODFILES=()
for m in "${MODULES[@]}"; do
  rel="$(grep -E "(^|/)$m\.ko(\.xz|\.zst|\.gz)?:" "$MODDIR/modules.dep" | head -n 1 | cut -d: -f1 || true)"
  [ -n "$rel" ] || die "module $m not found in $MODDIR/modules.dep (built in? then drop it from the list)"
  MODFILES+=("$MODDIR/$rel")
done

SOURCES=("$HERE/build-guest.sh" "$ROOT/lab/guest/init" "$ROOT/lab/guest/udprelay.c" "$ROOT/lab/libvirt/subreaper.c" "$ROOT/lab/stream/tapwatch.c")
for s in "${SOURCES[@]}"; do [ -f "$s" ] || die "missing source $s"; done

# --- the cache key: every input's content (and the kernel's identity) -------------------
stamp_of() {
  {
    echo "v1 $KVER $QEMU_BIN"
    sha256sum "${SOURCES[@]}" "$VMLINUZ" /bin/busybox "${MODFILES[@]}" | cut -d' ' -f1
    gcc -dumpfullversion
  } | sha256sum | cut -d' ' -f1
}
STAMP="$(stamp_of)"

mkdir -p "$OUT"
exec 9>"$CACHE/guest.lock"
flock 9   # one build at a time (parallel tests, lab up)

if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ] && [ -f "$OUT/manifest.json" ]; then
  echo "$OUT"
  exit 0
fi
log "building the guest for kernel $KVER in $OUT"

WORK="$(mktemp -d "$CACHE/guest-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Moves a freshly built file into OUT only if it differs (keeps mtime/ctime stable: libvirt's
# capability cache is keyed on the emulator's ctime, so the wrapper must not be rewritten).
install_if_changed() { # SRC DEST
  if ! cmp -s "$1" "$2"; then mv -f "$1" "$2"; fi
}

# --- helpers compiled here -------------------------------------------------------------
gcc -static -O2 -Wall -Wextra -o "$WORK/udprelay" "$ROOT/lab/guest/udprelay.c"
strip "$WORK/udprelay"
gcc -O2 -Wall -Wextra -o "$WORK/vpm-subreaper" "$ROOT/lab/libvirt/subreaper.c"
strip "$WORK/vpm-subreaper"
gcc -O2 -Wall -Wextra -o "$WORK/vpm-tapwatch" "$ROOT/lab/stream/tapwatch.c"
strip "$WORK/vpm-tapwatch"

# --- kernel: uncompressed vmlinux (PVH entry) if we can, bzImage otherwise -------------
# bzImage header: setup_sects at 0x1f1, payload_offset at 0x248, payload_length at 0x24c;
# the compressed payload starts (setup_sects+1)*512 + payload_offset bytes into the file.
extract_vmlinux() { # VMLINUZ DEST
  local z="$1" dest="$2" sects off len start magic
  sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$z" | tr -d ' ')
  [ "$sects" = 0 ] && sects=4
  off=$(od -An -tu4 -j $((0x248)) -N4 "$z" | tr -d ' ')
  len=$(od -An -tu4 -j $((0x24c)) -N4 "$z" | tr -d ' ')
  [ -n "$off" ] && [ -n "$len" ] && [ "$len" -gt 0 ] || return 1
  start=$(((sects + 1) * 512 + off))
  tail -c +$((start + 1)) "$z" | head -c "$len" > "$WORK/payload"
  magic=$(od -An -tx1 -N6 "$WORK/payload" | tr -d ' ')
  case "$magic" in
    fd377a585a00*) command -v xz >/dev/null && xz -dc --single-stream < "$WORK/payload" > "$dest" 2>/dev/null || true ;;
    1f8b*) gzip -dc < "$WORK/payload" > "$dest" 2>/dev/null || true ;;
    28b52ffd*) command -v zstd >/dev/null && zstd -dcq < "$WORK/payload" > "$dest" 2>/dev/null || true ;;
    *) return 1 ;;
  esac
  [ -s "$dest" ] || return 1
  [ "$(od -An -tx1 -N4 "$dest" | tr -d ' ')" = 7f454c46 ] || return 1
  # The PVH entry point is the Xen ELF note PHYS32_ENTRY (type 0x12): QEMU needs it.
  readelf -n "$dest" 2>/dev/null | grep -q 'Xen.*0x00000012\|PHYS32_ENTRY\|Unknown note type: (0x00000012)' || return 1
}
KERNEL_KIND=bzImage
if extract_vmlinux "$VMLINUZ" "$WORK/vmlinux"; then
  KERNEL_KIND=vmlinux
else
  log "could not extract an uncompressed PVH vmlinux from $VMLINUZ; using the bzImage (slower boot)"
  cp "$VMLINUZ" "$WORK/bzImage"
fi

# --- initramfs ----------------------------------------------------------------------------
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,lib/modules}
cp /bin/busybox "$R/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ -e "$R/$applet" ] || ln -s /bin/busybox "$R/$applet"
done
cp "$WORK/udprelay" "$R/bin/udprelay"
install -m 0755 "$ROOT/lab/guest/init" "$R/init"
for f in "${MODFILES[@]}"; do
  name="${f##*/}"
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$R/lib/modules/${name%.xz}" ;;   # busybox insmod reads plain ELF only
    *.ko.zst) zstd -dcq "$f" > "$R/lib/modules/${name%.zst}" ;;
    *.ko.gz) gzip -dc "$f" > "$R/lib/modules/${name%.gz}" ;;
    *) cp "$f" "$R/lib/modules/$name" ;;
  esac
done
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo "root:x:0:" > "$R/etc/group"
# The kernel opens /dev/console before /init runs (devtmpfs is mounted only by /init).
if [ "$(id -u)" = 0 ]; then
  mknod -m 600 "$R/dev/console" c 5 1
  mknod -m 666 "$R/dev/null" c 1 3
fi
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner 0:0 --quiet) | gzip -9n > "$WORK/initramfs.cpio.gz"

# --- emulator wrapper ----------------------------------------------------------------------
cat > "$WORK/qemu-system-x86_64-vpm" <<EOF
#!/bin/sh
# <emulator> for VPM lab domains (generated by lab/setup/build-guest.sh).
# QEMU 7.2 under TCG corrupts guest memory on live migration when the RAM size is a multiple
# of 256 KiB (fixed upstream in QEMU 9.0: "physmem: Fix migration dirty bitmap coherency with
# TCG memory access"); libvirt always gives whole MiB. This adds 8 KiB to the guest RAM: the
# "-m" size and the size of the main RAM backend object libvirt pairs with it.
# Capability probes (no -m) pass through untouched. Both migration ends use this wrapper,
# so their RAM sizes agree.
QEMU=$QEMU_BIN
EXTRA_KIB=8
EOF
cat >> "$WORK/qemu-system-x86_64-vpm" <<'EOF'
n=$#
mem_kib=
# First pass: find the RAM size (-m size=NNNk | -m NNN[M] | -m size=NNN[M|G]).
prev=
for a in "$@"; do
  if [ "$prev" = "-m" ]; then
    v=${a%%,*}
    v=${v#size=}
    case "$v" in
      *k|*K) mem_kib=${v%?} ;;
      *m|*M) mem_kib=$((${v%?} * 1024)) ;;
      *g|*G) mem_kib=$((${v%?} * 1048576)) ;;
      *[!0-9]*|'') mem_kib= ;;
      *) mem_kib=$((v * 1024)) ;;
    esac
  fi
  prev=$a
done
if [ -z "$mem_kib" ]; then
  exec "$QEMU" "$@"
fi
new_kib=$((mem_kib + EXTRA_KIB))
old_bytes=$((mem_kib * 1024))
new_bytes=$((new_kib * 1024))
prev=
i=0
while [ $i -lt $n ]; do
  a=$1
  orig=$1
  shift
  i=$((i + 1))
  if [ "$prev" = "-m" ]; then
    rest=
    case "$a" in *,*) rest=,${a#*,} ;; esac
    a="size=${new_kib}k$rest"
  elif [ "$prev" = "-object" ]; then
    case "$a" in
      *memory-backend*) a=$(printf '%s' "$a" | sed "s/\"size\":$old_bytes\([,}]\)/\"size\":$new_bytes\1/; s/\([,=]size=\)$old_bytes\([,]\|\$\)/\1$new_bytes\2/") ;;
    esac
  fi
  set -- "$@" "$a"
  prev=$orig
done
exec "$QEMU" "$@"
EOF
chmod 0755 "$WORK/qemu-system-x86_64-vpm"

# --- install ---------------------------------------------------------------------------------
for f in udprelay vpm-subreaper vpm-tapwatch qemu-system-x86_64-vpm initramfs.cpio.gz; do
  install_if_changed "$WORK/$f" "$OUT/$f"
done
if [ "$KERNEL_KIND" = vmlinux ]; then
  install_if_changed "$WORK/vmlinux" "$OUT/vmlinux"
  rm -f "$OUT/bzImage"
else
  install_if_changed "$WORK/bzImage" "$OUT/bzImage"
  rm -f "$OUT/vmlinux"
fi
ln -sfn "$KERNEL_KIND" "$OUT/kernel"
cat > "$WORK/manifest.json" <<EOF
{
  "kernelVersion": "$KVER",
  "kernelKind": "$KERNEL_KIND",
  "kernel": "$OUT/$KERNEL_KIND",
  "initrd": "$OUT/initramfs.cpio.gz",
  "udprelay": "$OUT/udprelay",
  "subreaper": "$OUT/vpm-subreaper",
  "tapwatch": "$OUT/vpm-tapwatch",
  "emulator": "$OUT/qemu-system-x86_64-vpm",
  "qemu": "$QEMU_BIN",
  "stamp": "$STAMP"
}
EOF
mv -f "$WORK/manifest.json" "$OUT/manifest.json"
echo "$STAMP" > "$OUT/.stamp"
log "kernel $KERNEL_KIND $(du -k "$OUT/$KERNEL_KIND" | cut -f1) KiB, initramfs $(du -k "$OUT/initramfs.cpio.gz" | cut -f1) KiB"
echo "$OUT"
