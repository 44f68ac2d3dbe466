#!/usr/bin/env bash
# Builds the Debian packages fieldgate_<version>_amd64.deb (the field gateway) and
# fieldgate-server_<version>_amd64.deb (the central server) into packaging/out/ (or $1).
# Release builds with the Swift runtime linked statically, so a field laptop needs no Swift
# toolchain; system libraries (libusb, libfprint, SQLite, ...) become package dependencies.
# Man pages come from the argument parser's generate-manual plugin, completions from
# --generate-completion-script. Needs dpkg-dev (dpkg-shlibdeps) and the build's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-packaging/out}")
scratch=.build-release
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== release build (static Swift runtime)"
for product in fieldgate fieldgate-server; do
  swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product"
done
bin=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)
version=$("$bin/fieldgate" --version)
arch=$(dpkg --print-architecture)

echo "== man pages (generate-manual plugin, from the debug build's command definitions)"
swift package plugin generate-manual --configuration debug --section 1 >"$work/manual.log" 2>&1 \
  || { cat "$work/manual.log" >&2; exit 1; }
manual_page() { find .build/plugins -name "$1.1" -path "*GenerateManual*" -print -quit; }

# stage NAME: lays out the binary, its man page and completions under $work/NAME.
stage() {
  local name=$1 root="$work/$1"
  install -D -m 0755 "$bin/$name" "$root/usr/bin/$name"
  strip --strip-unneeded "$root/usr/bin/$name"
  local page; page=$(manual_page "$name")
  [ -n "$page" ] || { echo "error: no man page generated for $name" >&2; exit 1; }
  install -D -m 0644 "$page" "$root/usr/share/man/man1/$name.1"
  gzip -9n "$root/usr/share/man/man1/$name.1"
  install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/doc/$name"
  "$root/usr/bin/$name" --generate-completion-script bash >"$root/usr/share/bash-completion/completions/$name"
  "$root/usr/bin/$name" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$name"
  "$root/usr/bin/$name" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$name.fish"
  install -m 0644 README.md "$root/usr/share/doc/$name/README.md"
  install -d "$root/DEBIAN"
}

# control NAME DESCRIPTION EXTRA-DEPENDS: DEBIAN/control with the shared-library dependencies
# dpkg-shlibdeps finds in the binary.
control() {
  local name=$1 description=$2 extra=$3 root="$work/$1"
  mkdir -p "$work/shlibs/debian"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" >"$work/shlibs/debian/control"
  local depends
  depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/$name" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
  [ -n "$depends" ] || { echo "error: dpkg-shlibdeps found no dependencies for $name" >&2; exit 1; }
  [ -z "$extra" ] || depends="$depends, $extra"
  cat >"$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: fieldgate developers <fieldgate@localhost>
Section: utils
Priority: optional
Depends: $depends
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Homepage: https://github.com/fieldgate/fieldgate
Description: $description
CONTROL
}

echo "== fieldgate $version"
stage fieldgate
root="$work/fieldgate"
install -d "$root/usr/share/fieldgate"
cp -r devices "$root/usr/share/fieldgate/devices"
install -D -m 0644 devices/udev/70-fieldgate.rules "$root/lib/udev/rules.d/70-fieldgate.rules"
# Installed, not enabled: a laptop used by hand needs no station (`systemctl enable --now fieldgate-station`).
install -D -m 0644 packaging/fieldgate-station.service "$root/lib/systemd/system/fieldgate-station.service"
control fieldgate "evidence gateway for body cameras, fingerprint pads and field printers
 fieldgate collects every recording from docked body-worn cameras (GA/T 947 and
 mass-storage) into a crash-safe, hash-chained evidence store, prints notices on
 ESC/POS printers, captures fingerprints through libfprint, and syncs the evidence in
 signed batches to a central fieldgate-server." "adduser"
install -m 0755 packaging/debian/fieldgate.postinst "$root/DEBIAN/postinst"
dpkg-deb --root-owner-group --build "$root" "$out/fieldgate_${version}_${arch}.deb"

echo "== fieldgate-server $version"
stage fieldgate-server
root="$work/fieldgate-server"
install -D -m 0644 packaging/fieldgate-server.service "$root/lib/systemd/system/fieldgate-server.service"
control fieldgate-server "central evidence server for fieldgate gateways
 fieldgate-server enrols gateways, takes their signed batch manifests and resumable
 tus uploads, checks every hash and answers with signed receipts." "adduser"
install -m 0755 packaging/debian/fieldgate-server.postinst "$root/DEBIAN/postinst"
dpkg-deb --root-owner-group --build "$root" "$out/fieldgate-server_${version}_${arch}.deb"

ls -l "$out"/*.deb
