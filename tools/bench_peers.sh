#!/usr/bin/env bash
# make bench-peers: allconv against PyTorch and ONNX Runtime on the same
# networks and batches, in alternating rounds on one machine, as ratios.
# The peers are never dependencies of the build or the tests: each is used
# when present (PyTorch: apt-get install python3-torch; ONNX Runtime: npm
# install onnxruntime-node, into build-ort/, done here when npm is there).
#   tools/bench_peers.sh [build/allconv] [ROUNDS]
set -uo pipefail
cd "$(dirname "$0")/.."
allconv=${1:-build/allconv}
rounds=${2:-3}
out=build-peers
mkdir -p "$out"
rm -f "$out"/*.json
have_torch=0; /usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
if [ ! -d build-ort/node_modules/onnxruntime-node ] && command -v npm >/dev/null; then
    mkdir -p build-ort && npm install --silent --ignore-scripts --prefix build-ort onnxruntime-node >/dev/null 2>&1
fi
have_ort=0; [ -d build-ort/node_modules/onnxruntime-node ] && command -v node >/dev/null && have_ort=1
for ((r = 1; r <= rounds; r++)); do
    echo "round $r of $rounds: allconv$([ $have_torch = 1 ] && echo ", PyTorch")$([ $have_ort = 1 ] && echo ", ONNX Runtime")"
    "$allconv" bench --json "$out/allconv-$r.json" >"$out/allconv-$r.txt"
    [ $have_torch = 1 ] && /usr/bin/python3 tools/peers/pytorch_bench.py "$allconv" >"$out/pytorch-$r.json"
    [ $have_ort = 1 ] && NODE_PATH=build-ort/node_modules node tools/peers/onnxruntime_bench.js "$allconv" >"$out/onnxruntime-$r.json"
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import glob, json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def runs(name):
    return [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{name}-*.json"))]
ours, torch, ort = runs("allconv"), runs("pytorch"), runs("onnxruntime")
def row(r, what, threads, batch):
    return next(x["ms_per_image"] for x in r["rows"] if x["what"] == what and x["path"] == "fast" and x["threads"] == threads and x["batch"] == batch)
med = lambda v: statistics.median(v) if v else None
peak = med([r["fma_peak_gflops"] for r in ours])
flop = 2 * 270798336
lines = [("forward, batch 1, 1 thread (ms/image)", med([row(r, "network forward", 1, 1) for r in ours]),
          med([t["forward_b1_ms_per_image"] for t in torch]), med([o["forward_b1_ms_per_image"] for o in ort]), True),
         ("forward, batch 16, 1 thread (ms/image)", med([row(r, "network forward", 1, 16) for r in ours]),
          med([t["forward_b16_ms_per_image"] for t in torch]), med([o["forward_b16_ms_per_image"] for o in ort]), True),
         ("backward to input, batch 16 (ms/image)", med([row(r, "backward to input, backprop", 1, 16) for r in ours]),
          med([t["backward_to_input_b16_ms_per_image"] for t in torch]), None, True),
         ("training step, batch 16 (ms/image)", med([row(r, "training step (fwd+bwd+dW)", 1, 16) for r in ours]),
          med([t["training_step_b16_ms_per_image"] for t in torch]), None, True),
         ("shipped model training, 1 thread (img/s)", med([r["fashion_training_images_per_second_1_thread"] for r in ours]),
          med([t["training_images_per_second_1_threads"] for t in torch]), None, False),
         ("shipped model training, 2 threads (img/s)", med([r["fashion_training_images_per_second_all_threads"] for r in ours]),
          med([t["training_images_per_second_2_threads"] for t in torch]), None, False)]
print(f"\n{ours[0]['cpu']}: FMA peak {peak:.1f} GFLOP/s per core; medians of {rounds} alternating rounds")
if torch: print(f"PyTorch {torch[0]['pytorch']}", end="  ")
if ort: print(f"ONNX Runtime {ort[0]['onnxruntime']}", end="")
print(f"\n\n{'measurement':44} {'allconv':>10} {'PyTorch':>10} {'ORT':>10} {'vs PyTorch':>11} {'vs ORT':>8}")
fmt = lambda v: f"{v:10.3f}" if v is not None and v < 100 else (f"{v:10.0f}" if v is not None else f"{'-':>10}")
for name, a, t, o, lower_better in lines:
    ratio = lambda p: f"{(p / a if lower_better else a / p):.2f}x" if p else "-"
    print(f"{name:44} {fmt(a)} {fmt(t)} {fmt(o)} {ratio(t):>11} {ratio(o):>8}")
b16 = lines[1][1]
print(f"\nallconv forward batch 16, 1 thread: {flop / (b16 / 1e3) / 1e9:.1f} GFLOP/s = {100 * flop / (b16 / 1e3) / 1e9 / peak:.0f}% of peak"
      " (ratios above 1 mean allconv is faster)")
PY
