// A backend nobody here wrote, checked against allconv: ONNX Runtime, on
// allconv's ONNX export of every zoo network and of the shipped model.
// For each network: `allconv init` makes a model file (He weights, small random
// biases), `allconv export` turns it into ONNX, `allconv predict --raw` gives our
// logits for a few random images, and ONNX Runtime computes its own from the
// same file and images. Run by check.sh:
//     bash tools/backends/onnxruntime/check.sh build/allconv
const ort = require('onnxruntime-node');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const allconv = process.argv[2] || 'build/allconv';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allconv-ort-'));
const run = (...args) => execFileSync(allconv, args, { encoding: 'utf8' });

// A float32 .npy of the given shape (the format of NumPy 1.0: magic, header, little-endian data).
function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(data).buffer)]));
}

// Our logits: predict --raw writes (images, classes) float32.
function readNpyFloats(file) {
  const b = fs.readFileSync(file);
  const start = 10 + b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
}

let seed = 12345; // the images: a small linear congruential generator, pixels in [0, 1)
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

async function check(name, model, images, chw) {
  const onnx = path.join(dir, `${name}.onnx`), ours = path.join(dir, `${name}.npy`);
  run('export', '--model', model, '--onnx', onnx);
  run('predict', '--model', model, ...images, '--top', '1', '--raw', ours, '--threads', '1');
  const mine = readNpyFloats(ours);
  const session = await ort.InferenceSession.create(onnx);
  const theirs = [];
  for (const image of images) {
    let pixels;
    if (image.endsWith('.pgm')) { const b = fs.readFileSync(image); pixels = Array.from(b.subarray(b.length - 784), (v) => v / 255); }
    else pixels = Array.from(readNpyFloats(image));
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(pixels), [1, ...chw]) });
    theirs.push(...out.logits.data);
  }
  const scale = Math.max(...mine.map(Math.abs));
  const worst = Math.max(...theirs.map((v, i) => Math.abs(v - mine[i])));
  const ok = scale > 0 && worst <= 1e-4 * scale + 1e-6;
  console.log(`${name.padEnd(22)} ${images.length} images, ${mine.length / images.length} logits each: ` +
              `max |onnxruntime - allconv| ${worst.toExponential(2)} of scale ${scale.toExponential(2)}  ${ok ? 'pass' : 'FAIL'}`);
  return { ok, relative: worst / scale };
}

(async () => {
  const zoo = ['model-a', 'model-b', 'model-c', 'strided-cnn-a', 'strided-cnn-b', 'strided-cnn-c', 'convpool-cnn-a',
               'convpool-cnn-b', 'convpool-cnn-c', 'all-cnn-a', 'all-cnn-b', 'all-cnn-c', 'all-cnn-imagenet'];
  const results = [];
  for (const name of zoo) {
    const imagenet = name === 'all-cnn-imagenet', chw = imagenet ? [3, 67, 71] : [3, 32, 32];
    const model = path.join(dir, `${name}.npz`);
    run('init', '--model', name, '--width', imagenet ? '0.05' : '0.25', '--input', chw.join('x'), '--bias', '0.1',
        '--seed', '7', '--out', model);
    const images = [0, 1].map((i) => {
      const file = path.join(dir, `${name}-${i}.npy`);
      writeNpy(file, chw, Array.from({ length: chw[0] * chw[1] * chw[2] }, random));
      return file;
    });
    results.push(await check(name, model, images, chw));
  }
  const samples = fs.readdirSync('data/samples').filter((f) => f.endsWith('.pgm')).map((f) => path.join('data/samples', f));
  results.push(await check('shipped model', 'data/models/fashion-all-cnn-c.npz', samples, [1, 28, 28]));
  fs.rmSync(dir, { recursive: true, force: true });
  const failed = results.filter((r) => !r.ok).length;
  const worst = Math.max(...results.map((r) => r.relative));
  console.log(`onnxruntime ${require('onnxruntime-node/package.json').version}: ${results.length - failed} passed, ${failed} failed ` +
              `(worst difference ${worst.toExponential(2)} of the logits' scale)`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.error(e.message || e); process.exit(1); });
