#!/usr/bin/env bash
# Regenerates the pictures in docs/ from the shipped model (needs Fashion-MNIST
# for the top-patches figures). Each command is the one docs/visualizations.md quotes.
set -euo pipefail
allconv=${1:-build/allconv}
model=data/models/fashion-all-cnn-c.npz
mkdir -p docs/figures
"$allconv" visualize --model "$model" data/samples/*.pgm --rule all --out docs/demo.png
"$allconv" top-patches --model "$model" --layer conv6 --units 0-7 --top 8 --out docs/figures/conv6.png
"$allconv" top-patches --model "$model" --layer conv9 --units 0-9 --top 8 --out docs/figures/conv9.png
"$allconv" visualize --model "$model" data/samples/t10k-1-pullover.pgm data/samples/t10k-13-dress.pgm \
    data/samples/t10k-9-sneaker.pgm --target channel:conv6:4 --out docs/figures/channel-conv6-4.png
