#!/usr/bin/env bash
# The benchmark on a machine with an NVIDIA GPU, in one go, into one JSON file:
#
#   bash bench/gpu.sh [out.json]
#
#   1. npm ci (SKIP_CI=1 keeps node_modules as they are)
#   2. the adapter Dawn picks (it must be the GPU: ALLOW_CPU=1 runs anyway, e.g. on lavapipe)
#   3. the kernel table (`npm run bench -- ops`) with the templates' default tuning and with
#      --tuning '{"subgroups":0}'
#   4. the cases (Siamese train step, forward, contrastive loss, cold start) for webgluon eager and
#      hybridized, tfjs-webgpu and pytorch-cpu (skipped without torch), with the per-kernel profile
#      of the Siamese step (each kernel's compile time included) and the adapter's ceilings
#   5. the Siamese train step again with subgroups off (WEBGLUON_SUBGROUPS=0)
#   6. the Siamese train step hybridized with the kernel tuner off and on (--tune both), on an
#      empty tuning cache, so that the on row's first step includes the search
#
# Knobs (environment): REPEAT (timed steps per case, default 5), RUNS (ops runs, default 5),
# CASES (default "siamese-train siamese-forward contrastive-loss cold-start"), SYSTEMS (default
# webgluon-eager,webgluon-hybrid,tfjs-webgpu,pytorch-cpu), OPS_ONLY (a substring: only those
# kernels), QUICK=1 (tiny: REPEAT=1, RUNS=1, one conv kernel, the loss case only; checks the
# script, measures nothing worth keeping).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-bench/results/gpu-$(date -u +%Y-%m-%dT%H-%M-%S).json}
if [ "${QUICK:-0}" = 1 ]; then
  REPEAT=${REPEAT:-1}; RUNS=${RUNS:-1}; OPS_ONLY=${OPS_ONLY:-conv2d 16x1x}
  CASES=${CASES:-contrastive-loss}; VARIANT=${VARIANT:-n16384xd128}
  SYSTEMS=${SYSTEMS:-webgluon-eager,webgluon-hybrid,pytorch-cpu}
  TRAIN_SYSTEMS=${TRAIN_SYSTEMS:-webgluon-hybrid}; TRAIN_CASE=${TRAIN_CASE:-contrastive-loss}
fi
REPEAT=${REPEAT:-5}
RUNS=${RUNS:-5}
OPS_ONLY=${OPS_ONLY:-}
CASES=${CASES:-siamese-train siamese-forward contrastive-loss cold-start}
VARIANT=${VARIANT:-}
SYSTEMS=${SYSTEMS:-webgluon-eager,webgluon-hybrid,tfjs-webgpu,pytorch-cpu}
TRAIN_SYSTEMS=${TRAIN_SYSTEMS:-webgluon-eager,webgluon-hybrid}
TRAIN_CASE=${TRAIN_CASE:-siamese-train}

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# onnxruntime-node (a test dependency) would fetch CUDA binaries from outside the npm registry.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"

log() { printf '\n=== gpu.sh: %s\n' "$*" >&2; }

if [ "${SKIP_CI:-0}" != 1 ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "adapter"
(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null || echo "no nvidia-smi") | tee "$tmp/nvidia-smi.txt" >&2
adapter=$(node scripts/probe.mjs || true)
echo "$adapter" | tee "$tmp/adapter.txt" >&2
if ! grep -qiE 'nvidia' "$tmp/adapter.txt"; then
  if [ "${ALLOW_CPU:-0}" != 1 ]; then
    echo "gpu.sh: Dawn's adapter is not an NVIDIA GPU ($adapter). Install the NVIDIA Vulkan driver" \
      "(the ICD in /usr/share/vulkan/icd.d/nvidia_icd.json, e.g. Debian's nvidia-vulkan-icd), or set ALLOW_CPU=1 to run anyway." >&2
    exit 1
  fi
  echo "gpu.sh: not an NVIDIA adapter; running anyway (ALLOW_CPU=1)" >&2
fi

ops_args=(--runs "$RUNS")
if [ -n "$OPS_ONLY" ]; then ops_args+=(--only "$OPS_ONLY"); fi

log "kernels, default tuning"
npm run --silent bench -- ops "${ops_args[@]}" --json "$tmp/ops-default.json"
log "kernels, subgroups off"
npm run --silent bench -- ops "${ops_args[@]}" --tuning '{"subgroups":0}' --json "$tmp/ops-subgroups0.json"

variant_args=()
if [ -n "$VARIANT" ]; then variant_args=(--variant "$VARIANT"); fi
log "cases: $CASES"
# shellcheck disable=SC2086
npm run --silent bench -- $CASES --systems "$SYSTEMS" --repeat "$REPEAT" ${variant_args[@]+"${variant_args[@]}"} --no-write --json "$tmp/cases-default.json"
log "$TRAIN_CASE with subgroups off (WEBGLUON_SUBGROUPS=0)"
WEBGLUON_SUBGROUPS=0 npm run --silent bench -- "$TRAIN_CASE" --systems "$TRAIN_SYSTEMS" --repeat "$REPEAT" ${variant_args[@]+"${variant_args[@]}"} \
  --no-write --no-profile --json "$tmp/cases-subgroups0.json"

log "$TRAIN_CASE with the kernel tuner off and on (--tune both, empty tuning cache)"
WEBGLUON_CACHE="$tmp/tuning-cache" npm run --silent bench -- "$TRAIN_CASE" --systems webgluon-hybrid --tune both --repeat "$REPEAT" \
  ${variant_args[@]+"${variant_args[@]}"} --no-write --no-profile --json "$tmp/cases-tune.json"

log "writing $OUT"
mkdir -p "$(dirname "$OUT")"
node - "$tmp" "$OUT" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const [dir, out] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const text = (f) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
const doc = {
  what: 'bench/gpu.sh: kernels and cases, default tuning, subgroups off, the kernel tuner off and on',
  date: new Date().toISOString(),
  machine: `${os.cpus().length}x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`,
  nvidiaSmi: text('nvidia-smi.txt'),
  adapter: text('adapter.txt'),
  env: Object.fromEntries(['REPEAT', 'RUNS', 'CASES', 'SYSTEMS', 'OPS_ONLY', 'VARIANT', 'QUICK'].map((k) => [k, process.env[k] ?? null])),
  ops: { default: read('ops-default.json'), subgroupsOff: read('ops-subgroups0.json') },
  cases: { default: read('cases-default.json'), subgroupsOff: read('cases-subgroups0.json'), tuner: read('cases-tune.json') },
};
fs.writeFileSync(out, `${JSON.stringify(doc, null, 1)}\n`);
const tables = [doc.cases.default.table, doc.cases.subgroupsOff.table, doc.cases.tuner.table].join('\n\n');
fs.writeFileSync(out.replace(/\.json$/, '') + '.md', `${tables}\n`);
console.error(`gpu.sh: wrote ${out} and ${out.replace(/\.json$/, '')}.md`);
EOF
