// ONNX Runtime on All-CNN-C (3x32x32), exported by allconv: forward ms/image at
// batch 1 and 16 on one thread (tools/bench_peers.sh runs it). Prints JSON.
//     NODE_PATH=build-ort/node_modules node tools/peers/onnxruntime_bench.js build/allconv
const ort = require('onnxruntime-node');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const allconv = process.argv[2] || 'build/allconv';
(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allconv-ort-bench-'));
  execFileSync(allconv, ['init', '--model', 'all-cnn-c', '--out', path.join(dir, 'c.npz')]);
  execFileSync(allconv, ['export', '--model', path.join(dir, 'c.npz'), '--onnx', path.join(dir, 'c.onnx')]);
  const session = await ort.InferenceSession.create(path.join(dir, 'c.onnx'),
    { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const out = { onnxruntime: require('onnxruntime-node/package.json').version };
  for (const batch of [1, 16]) {
    const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * 32 * 32 }, () => Math.random()), [batch, 3, 32, 32]);
    await session.run({ input: x });
    const times = [];
    for (let r = 0; r < 9; ++r) {
      const t = process.hrtime.bigint();
      await session.run({ input: x });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    out[`forward_b${batch}_ms_per_image`] = times[4] / batch;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e.message || e); process.exit(1); });
