#!/usr/bin/env bash
# make demo: the shipped Fashion-MNIST All-CNN-C, the sample images, and the
# three visualizations side by side in out/demo.png.
set -euo pipefail
allconv=${1:-build/allconv}
model=data/models/fashion-all-cnn-c.npz
mkdir -p out
echo "Model: $model (All-CNN-C, trained by this project on Fashion-MNIST; see data/models/README.md)"
echo "Predictions:"
"$allconv" visualize --model "$model" data/samples/*.pgm --rule all --out out/demo.png
echo
echo "Wrote out/demo.png: one row per image; columns input | backprop | deconvnet | guided backprop,"
echo "each sent back from the predicted class's logit."
