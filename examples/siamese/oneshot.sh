#!/usr/bin/env bash
# `npm run oneshot`: the one-shot recipe of the README. Trains on images_background_small1 only,
# picks the epoch by 17-way runs on Tagalog (held out), and scores 20-way runs on Japanese (katakana)
# and Sanskrit, with Lake's MHD baseline on the same runs. small2's Greek and Latin are copies of
# small1's, so they are neither validation nor test alphabets. OMNIGLOT=dir overrides the data folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/siamese/oneshot_recipe.sh
out="${OUT:-out/oneshot}"
"${cli[@]}" make-oneshot-runs --alphabets "$small2/Tagalog" --ways 17 --runs 10 --seed 7 --out "$out/runs-val"
"${cli[@]}" make-oneshot-runs --alphabets "$small2/Japanese_(katakana)" --alphabets "$small2/Sanskrit" --runs 20 --seed 1 --out "$out/runs-test"
"${cli[@]}" train --train-dir "$data/images_background_small1" --test-dir "$small2/Japanese_(katakana)" "${recipe[@]}" \
  --epochs "${EPOCHS:-50}" --steps-per-epoch 100 --eval-runs "$out/runs-val" --patience 8 --out "$out" "$@"
"${cli[@]}" eval-oneshot --runs "$out/runs-test" --params "$out/best.safetensors" --json "$out/oneshot.json"
