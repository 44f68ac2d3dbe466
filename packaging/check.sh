#!/usr/bin/env bash
# Builds the Debian packages, installs them with apt-get (so their dependencies resolve),
# checks the installed programs from outside the checkout (a real sync between them among it,
# packaging/sync-check.sh), then removes them and checks that
# nothing is left behind. Run as root (CI does). Usage: bash packaging/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash packaging/deb.sh "$out"
fail() { echo "packaging check: $*" >&2; exit 1; }

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$out"/fieldgate_*.deb "$out"/fieldgate-server_*.deb >/dev/null
elsewhere=$(mktemp -d)
(
  cd "$elsewhere"
  unset FIELDGATE_DEVICES
  installed=$(command -v fieldgate)
  [ "$installed" = /usr/bin/fieldgate ] || fail "fieldgate is not /usr/bin/fieldgate but $installed"
  echo "installed: $(fieldgate --version), size $(stat -c %s /usr/bin/fieldgate) bytes"
  links=$(ldd /usr/bin/fieldgate)
  for library in libumockdev libswiftCore libFoundation; do
    ! grep -q "$library" <<<"$links" || fail "the installed fieldgate links $library"
  done
  ! grep -q -a "Hummingbird" /usr/bin/fieldgate || fail "the installed fieldgate carries Hummingbird (the server)"
  ! grep -q -a "USBEmulation" /usr/bin/fieldgate || fail "the installed fieldgate carries the device emulation"
  # Data is found at run time: no path into the build's checkout may lead to the catalog or seeds.
  ! strings /usr/bin/fieldgate | grep -qE "^$checkout/(devices|seeds)(/|\$)" \
    || fail "the installed fieldgate has the checkout's data folders compiled in"
  fieldgate devices check | tee /dev/stderr | grep -q "in 1 folder(s)" || fail "devices check did not read one folder"
  fieldgate devices list --json | grep -q '"/usr/share/fieldgate/devices/' || fail "the catalog is not read from /usr/share/fieldgate"
  scan=$(fieldgate scan --json)
  [ "$(tr -d '[:space:]' <<<"$scan")" = "[]" ] || fail "scan --json with no devices printed $scan"
  fieldgate devices udev-rule | cmp - /lib/udev/rules.d/70-fieldgate.rules || fail "the installed udev rule is not the catalog's"
  getent group fieldgate >/dev/null || fail "the package made no fieldgate group"
  [ "$(id -gn fieldgate)" = fieldgate ] || fail "the package made no fieldgate user in group fieldgate"
  grep -q "^ExecStart=/usr/bin/fieldgate station" /lib/systemd/system/fieldgate-station.service \
    || fail "no fieldgate-station.service running fieldgate station"
  fieldgate station --help | grep -q "status page" || fail "fieldgate station --help says nothing of the status page"
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/fieldgate-station.service /lib/systemd/system/fieldgate-server.service \
      || fail "systemd-analyze finds fault with the units"
  fi
  man -w fieldgate >/dev/null || fail "no man page for fieldgate"
  [ -s /usr/share/bash-completion/completions/fieldgate ] || fail "no bash completion"
  fieldgate-server --version >/dev/null
  ! ldd /usr/bin/fieldgate-server | grep -q libswiftCore || fail "fieldgate-server links libswiftCore"
  [ -f /lib/systemd/system/fieldgate-server.service ] || fail "no fieldgate-server.service"
  getent passwd fieldgate-server >/dev/null || fail "the package made no fieldgate-server user"
  # The release builds really sync (no test runs them): enrol, collect, sync, receipts, bundles.
  bash "$checkout/packaging/sync-check.sh" || fail "the installed fieldgate and fieldgate-server do not sync"
)
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq fieldgate fieldgate-server >/dev/null
for path in /usr/bin/fieldgate /usr/bin/fieldgate-server /usr/share/fieldgate /lib/udev/rules.d/70-fieldgate.rules \
            /usr/share/man/man1/fieldgate.1.gz /lib/systemd/system/fieldgate-server.service \
            /lib/systemd/system/fieldgate-station.service; do
  [ ! -e "$path" ] || fail "$path is still there after apt-get remove"
done
rm -rf "$elsewhere"
echo "packaging check: both packages built, installed, ran from outside the checkout and removed cleanly"
