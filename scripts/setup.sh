#!/usr/bin/env bash
# Sets up webgluon on a fresh Debian/Ubuntu machine: npm dependencies, then a Vulkan driver
# (Mesa's lavapipe) only when Dawn finds no WebGPU adapter. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# onnxruntime-node (a test dependency) would fetch CUDA binaries from outside the npm registry;
# its CPU build ships in the package, which is all the ONNX tests need.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"

if [ ! -d node_modules/webgpu ] || [ package.json -nt node_modules/.package-lock.json ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

# The browser test runs the demo page in Debian's chromium, driven by playwright-core; where apt
# cannot provide it, that test is skipped with a message.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium for the browser test" >&2
  { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium; } ||
    echo "setup: chromium could not be installed; the browser test will be skipped" >&2
fi

if node scripts/probe.mjs; then exit 0; fi

echo "setup: no WebGPU adapter; installing Mesa's lavapipe Vulkan driver" >&2
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  # Dawn refuses bookworm's Mesa 22 lavapipe; backports has Mesa 25. Reuse the URIs of the
  # Debian source already configured so that the machine's own mirror serves it.
  uris=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uris" ]; then
    uris=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  fi
  if [ -z "$uris" ]; then
    echo "setup: found no Debian source to reuse for bookworm-backports" >&2
    exit 1
  fi
  if [ ! -f /etc/apt/sources.list.d/webgluon-backports.sources ]; then
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$uris" | $sudo_cmd tee /etc/apt/sources.list.d/webgluon-backports.sources >/dev/null
  fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1
else
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq mesa-vulkan-drivers libvulkan1
fi

node scripts/probe.mjs
