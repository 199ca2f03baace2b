#!/usr/bin/env bash
# What each option of the one-shot recipe adds, one change at a time: the recipe of oneshot.sh and
# variants that each undo one option, all trained for the same number of steps (STEPS, default
# 600) on images_background_small1 and scored on the same 20-way test runs (Japanese (katakana)
# and Sanskrit). Writes $OUT/ablation.md, a table. OMNIGLOT=dir overrides the data folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/siamese/oneshot_recipe.sh
out="${OUT:-out/ablation}"
steps="${STEPS:-600}"
epochs=$(( (steps + 99) / 100 ))
mkdir -p "$out"
[ -d "$out/runs-test" ] || "${cli[@]}" make-oneshot-runs --alphabets "$small2/Japanese_(katakana)" --alphabets "$small2/Sanskrit" --runs 20 --seed 1 --out "$out/runs-test"

# name | what changes | the recipe's flags with that change
variants=(
  "recipe|the recipe (oneshot.sh)|${recipe[*]}"
  "no-augment|without --augment|--image-size 28 --tower deep --embedding-dim 64 --loss episode --batch-size 20 --lr-schedule cosine --warmup-steps 50"
  "contrastive|contrastive loss on random pairs (the tutorial's), batch 20|--image-size 28 --tower deep --embedding-dim 64 --loss contrastive --batch-size 20 --augment --lr-schedule cosine --warmup-steps 50"
  "tutorial-tower|the tutorial's tower (2 conv + 2 dense)|--image-size 28 --tower tutorial --embedding-dim 64 --loss episode --batch-size 20 --augment --lr-schedule cosine --warmup-steps 50"
  "embedding-2|a 2-d embedding (the tutorial's)|--image-size 28 --tower deep --embedding-dim 2 --loss episode --batch-size 20 --augment --lr-schedule cosine --warmup-steps 50"
)
table="$out/ablation.md"
{
  echo "| variant | change | 20-way accuracy (95% CI) | seconds of training steps |"
  echo "|---|---|---|---|"
} > "$table.tmp"
for v in "${variants[@]}"; do
  IFS='|' read -r name change flags <<< "$v"
  dir="$out/$name"
  # A variant already scored is kept; one interrupted continues from its last epoch's checkpoint.
  if [ ! -f "$dir/oneshot.json" ]; then
    resume=()
    [ -f "$dir/checkpoint.json" ] && resume=(--resume)
    # shellcheck disable=SC2086
    "${cli[@]}" train --train-dir "$data/images_background_small1" $flags --epochs "$epochs" --steps-per-epoch 100 --seed 1 --out "$dir" "${resume[@]}" >> "$dir.log" 2>&1
    "${cli[@]}" eval-oneshot --runs "$out/runs-test" --params "$dir/siamese.safetensors" --no-mhd --json "$dir/oneshot.json" > "$dir.eval.txt" 2>&1
  fi
  acc=$(node -e "const m=require('./$dir/oneshot.json').model; console.log((100*m.accuracy).toFixed(1)+'% ['+(100*m.ci[0]).toFixed(1)+', '+(100*m.ci[1]).toFixed(1)+']')")
  # Seconds of the training steps themselves (metrics.json), not of start-up or evaluation.
  seconds=$(node -e "const m=require('./$dir/metrics.json'); console.log(Math.round(m.steps.reduce((s,x)=>s+x.seconds,0)))")
  echo "| $name | $change | $acc | $seconds |" >> "$table.tmp"
  echo "$name: $acc in ${seconds}s"
done
mv "$table.tmp" "$table"
cat "$table"
