#!/bin/sh
# Rebuild guests/linux/bzImage and guests/linux/initramfs.cpio from Debian's
# linux-source-6.1 (see README.md). CI never runs this; the outputs are
# committed. The same source package gives the same bytes: the build time,
# user and host that the kernel records are pinned below, and the initramfs
# has fixed owners and a fixed mtime.
#
#   apt-get install linux-source-6.1 gcc-multilib bc flex bison libelf-dev cpio lz4
#   guests/linux/build.sh [BUILD_DIR]      (default: guests/linux/build, not committed)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/build}
tarball=/usr/src/linux-source-6.1.tar.xz
jobs=${JOBS:-2}

export KBUILD_BUILD_TIMESTAMP='2026-01-01 00:00:00 UTC'
export KBUILD_BUILD_USER=mesovirt
export KBUILD_BUILD_HOST=mesovirt
export KBUILD_BUILD_VERSION=1
export SOURCE_DATE_EPOCH=1767225600
export LC_ALL=C TZ=UTC

[ -f "$tarball" ] || { echo "build.sh: $tarball not found (apt-get install linux-source-6.1)" >&2; exit 2; }
mkdir -p "$build"
src=$build/linux-source-6.1
if [ ! -d "$src" ]; then
  echo "build.sh: unpacking $tarball into $build"
  tar -C "$build" -xf "$tarball"
fi

# The kernel: tinyconfig, then our fragment on top.
make -C "$src" ARCH=i386 tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$here/mesovirt.config" >/dev/null
make -C "$src" ARCH=i386 olddefconfig >/dev/null
# Every line of the fragment must have survived olddefconfig.
missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) grep -qx "$line" "$src/.config" || { echo "build.sh: '$line' not in the final .config" >&2; missing=1; } ;;
    "# CONFIG_"*" is not set") name=${line#"# "}; name=${name%" is not set"}
      if grep -q "^$name=" "$src/.config"; then echo "build.sh: '$line' but the final .config sets it" >&2; missing=1; fi ;;
  esac
done < "$here/mesovirt.config"
[ "$missing" = 0 ] || exit 1
make -C "$src" ARCH=i386 -j"$jobs" bzImage

# /init: C with no libc, static, i486.
gcc -m32 -static -nostdlib -march=i486 -Os -fno-pic -fno-stack-protector \
  -fno-asynchronous-unwind-tables -ffreestanding -Wall -Wextra \
  -Wl,--build-id=none -o "$build/init" "$here/init.c"
strip "$build/init"
touch -d "@$SOURCE_DATE_EPOCH" "$build/init" # gen_init_cpio takes a file's own mtime

# The initramfs: /dev/console (init's console) and /init, owned by root,
# every mtime the pinned date.
make -C "$src" ARCH=i386 usr/gen_init_cpio >/dev/null
cat > "$build/initramfs.list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $build/init 0755 0 0
EOF
"$src/usr/gen_init_cpio" -t "$SOURCE_DATE_EPOCH" "$build/initramfs.list" > "$build/initramfs.cpio"

cp "$src/arch/x86/boot/bzImage" "$here/bzImage"
cp "$build/initramfs.cpio" "$here/initramfs.cpio"
sha256sum "$here/bzImage" "$here/initramfs.cpio"
