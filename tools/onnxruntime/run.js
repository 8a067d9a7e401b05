const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const s = await ort.InferenceSession.create(process.argv[2]);
  for (const f of process.argv.slice(3)) {
    const b = fs.readFileSync(f);
    const px = b.subarray(b.length - 784);
    const x = new Float32Array(784); for (let i = 0; i < 784; i++) x[i] = px[i] / 255;
    const out = await s.run({ input: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
    const p = Array.from(out.probabilities.data);
    const order = p.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    console.log(f, order.map(([v, i]) => `${i}:${(100 * v).toFixed(2)}%`).join(' '), 'logit0', out.logits.data[0]);
  }
})().catch(e => { console.error(e); process.exit(1); });
