#!/usr/bin/env bash
# ONNX Runtime (npm's onnxruntime-node, installed into build-ort/ when missing;
# --ignore-scripts skips its optional GPU download) against allconv's export of
# every zoo network and of the shipped model.
#   bash tools/backends/onnxruntime/check.sh [build/allconv]
set -euo pipefail
cd "$(dirname "$0")/../../.."
allconv=${1:-build/allconv}
if [ ! -d build-ort/node_modules/onnxruntime-node ]; then
    mkdir -p build-ort
    npm install --silent --ignore-scripts --prefix build-ort onnxruntime-node >/dev/null
fi
NODE_PATH=build-ort/node_modules node tools/backends/onnxruntime/check.js "$allconv"
