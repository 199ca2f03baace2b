# Sourced by oneshot.sh and ablation.sh: the data folders, the command line and the one-shot
# recipe's training options, kept in one place so that the ablation undoes the recipe that runs.
data="${OMNIGLOT:-../shared/data/omniglot}"
small2="$data/images_background_small2"
cli=(npx tsx examples/siamese/cli.ts)
recipe=(--image-size 28 --tower deep --embedding-dim 64 --loss episode --batch-size 20 --augment --lr-schedule cosine --warmup-steps 50)
