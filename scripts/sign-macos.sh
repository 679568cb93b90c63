#!/bin/sh
# Sign a macOS executable for the hardened runtime with one of jitbuf's
# entitlement files, then show what was embedded. Runs on macOS only.
#
#   scripts/sign-macos.sh BINARY [PLIST] [IDENTITY]
#
# PLIST defaults to entitlements/jit.plist; IDENTITY to "-" (ad hoc, for
# local runs; use your Developer ID for distribution and notarisation).
# Never add allow-unsigned-executable-memory or
# disable-executable-page-protection to make a JIT work: jitbuf needs only
# allow-jit (and, by choice, the allowlist entitlements).
set -eu
bin=${1:?usage: sign-macos.sh BINARY [PLIST] [IDENTITY]}
plist=${2:-$(dirname "$0")/../entitlements/jit.plist}
identity=${3:--}
codesign --force --options runtime --entitlements "$plist" --sign "$identity" "$bin"
codesign --verify --strict --verbose=2 "$bin"
codesign -d --entitlements - "$bin"
