#!/usr/bin/env bash
# The augmentation experiment (the paper's Tables III and V) on the built-in synthetic retina set with
# EyePACS-like grade imbalance (an experiment, not a CI test): phantom train set and a separate, larger
# phantom test set -> grading space -> lesion model -> DR-GAN (cpu128 widths at R = 128) -> 100
# synthetic images per grade with sampled lesions -> graders trained on Tr-Real and Tr-Real&Fake,
# scored on the test set (Te-Real) and on the fakes (Tr-Real/Te-Fake).
# Re-running reuses what is finished (phantom sets, trained graders; synth resumes).
# Settings via the environment: WORK, N, NTEST, GRADER (a grader file for the grading space; default:
# one trained here), STEPS1/STEPS2 epochs, SEEDS, EPOCHS, THREADS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/drgan-phantom-augment}
N=${N:-1200}
NTEST=${NTEST:-4000}
EPOCHS1=${EPOCHS1:-3}
EPOCHS2=${EPOCHS2:-1}
SEEDS=${SEEDS:-2}
EPOCHS=${EPOCHS:-20}
export DRGAN_NUM_THREADS=${THREADS:-1}
drgan() { node "$ROOT/bin/drgan.js" "$@"; }

# EyePACS grade frequencies (drgan phantom's default): 73.7 / 6.9 / 15.1 / 2.4 / 2.2 %.
drgan phantom --out "$WORK/real" --n "$N" --size 128 --seed 7 --quiet
drgan phantom --out "$WORK/test" --n "$NTEST" --size 128 --seed 8 --quiet
if [ -z "${GRADER:-}" ]; then
  GRADER="$WORK/space-grader/best.safetensors"
  [ -f "$GRADER" ] || drgan train grader --data "$WORK/real" --out "$WORK/space-grader" --backbone resnet18 --width 4 \
    --size 64 --epochs 20 --batch 32 --lr 1e-3 --no-augment --class-weights
fi
drgan latent --grader "$GRADER" --data "$WORK/real" --out "$WORK/space.safetensors" --plot "$WORK/space-tsne.png"
drgan fit-lesions --data "$WORK/real" --out "$WORK/lesions.json"
cat > "$WORK/gan.json" <<JSON
{"preset": "cpu128", "resolution": 128,
 "generator": {"ngf": 16, "gradingVectorDim": 128, "mappingWidth": 128, "halfScaleFusion": true, "upsampling": "resize"},
 "discriminator": {"ndf": 16},
 "train": {"batchSize": 4, "lr": 0.0005, "stage1Epochs": $EPOCHS1, "stage2Epochs": $EPOCHS2}}
JSON
resume=()
[ -f "$WORK/gan/latest.safetensors" ] && resume=(--resume)
drgan train gan --data "$WORK/real" --out "$WORK/gan" --config "$WORK/gan.json" --grading-space "$WORK/space.safetensors" \
  --no-perceptual --sample-every 250 "${resume[@]}"
drgan synth --model "$WORK/gan/latest.safetensors" --out "$WORK/synth" --sample-lesions --lesion-model "$WORK/lesions.json" \
  --masks "dataset:$WORK/real" --n 100 --seed 1 --quiet
drgan experiment augment --real "$WORK/real" --fake "$WORK/synth" --test "$WORK/test" --out "$WORK/augment" \
  --seeds "$SEEDS" --backbone resnet18 --width 4 --size 64 --epochs "$EPOCHS" --batch 32 --lr 1e-3 --no-augment --class-weights \
  --fake-per-grade 0,100,100,100,100
cat "$WORK/augment/tables.md"
drgan report --run "$WORK/augment" --out "$WORK/augment/report.html"
