// `device` for segmentation training and evaluation. The CUDA half runs only where libtorch
// sees a GPU (it is skipped, and says so, on a CPU-only build); the CPU half checks that the
// device plumbing leaves CPU runs as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { slidingWindow } from '../../src/masks/predict-masks.js';
import { evaluateSegmentation, loadSegmentationModel, modelDevice, trainSegmentation, unetBuilder, buildUNet } from '../../src/train/segmentation-training.js';
import { loadCheckpoint, disposeCheckpoint } from '../../src/train/checkpoint-file.js';
import { tinyPhantomSet } from './seg-fixtures.js';

torch.setNumThreads(1);

const tiny = { depth: 2, baseWidth: 4, norm: 'batch' as const, up: 'bilinear' as const };
const cuda = torch.cuda.isAvailable();
const noCuda = cuda ? false : 'libtorch sees no CUDA device';

test('device cpu: the same weights, losses and metrics as without the option', async (t) => {
  const dir = await tinyPhantomSet(t);
  const base = { data: dir, targets: ['vessel', 'HE'] as ('vessel' | 'HE')[], trainSplit: 'all' as const, valSplit: 'all' as const, patch: 32, imagesPerStep: 3, model: tiny, epochs: 1 };
  const a = await trainSegmentation({ ...base, out: join(dir, 'a') });
  const b = await trainSegmentation({ ...base, out: join(dir, 'b') }, { device: 'cpu' });
  assert.deepEqual(b.progress.history, a.progress.history.map((r, i) => ({ ...r, seconds: b.progress.history[i].seconds })));
  for (const [k, v] of a.model.stateDict()) assert.ok(v.equal(b.model.stateDict().get(k)!), k);
  torch.manualSeed(0);
  const built = unetBuilder('cpu')({ model: tiny, targets: ['vessel'] });
  torch.manualSeed(0);
  const plain = buildUNet({ model: tiny, targets: ['vessel'] });
  for (const [k, v] of plain.stateDict()) assert.ok(v.equal(built.stateDict().get(k)!), k);
  assert.equal(modelDevice(built), 'cpu');
  for (const m of [a.model, b.model, built, plain]) m.dispose();
});

test('device cuda: trains near the CPU numbers, checkpoints hold CPU tensors and load on either device', { skip: noCuda }, async (t) => {
  const dir = await tinyPhantomSet(t);
  const base = { data: dir, targets: ['vessel', 'HE'] as ('vessel' | 'HE')[], trainSplit: 'all' as const, valSplit: 'all' as const, patch: 32, imagesPerStep: 3, model: tiny, epochs: 2, stepsPerBatch: 2, posWeight: 2 };
  const onCpu = await trainSegmentation({ ...base, out: join(dir, 'cpu') });
  const onGpu = await trainSegmentation({ ...base, out: join(dir, 'gpu') }, { device: 'cuda' });
  assert.match(modelDevice(onGpu.model), /^cuda/);
  // Same seed, same batches, same starting weights (built on the CPU, then moved): the losses
  // differ only by float rounding of another kernel library.
  onCpu.progress.history.forEach((r, i) => {
    const g = onGpu.progress.history[i].loss;
    assert.ok(Math.abs(r.loss - g) < 2e-3 * Math.abs(r.loss), `epoch ${i + 1}: cpu ${r.loss} gpu ${g}`);
  });
  const ck = loadCheckpoint(join(dir, 'gpu', 'latest.safetensors'), 'segmentation');
  for (const [k, v] of ck.model) assert.equal(v.device, 'cpu', k);
  disposeCheckpoint(ck);
  // Resume on the GPU (Adam moments go to the parameters' device).
  const resumed = await trainSegmentation({ ...base, out: join(dir, 'gpu'), epochs: 3 }, { device: 'cuda', resume: true });
  assert.equal(resumed.progress.epoch, 3);
  // The same checkpoint evaluated on both devices gives the same metrics.
  const path = join(dir, 'gpu', 'latest.safetensors');
  const mc = loadSegmentationModel(path, 'cpu').model;
  const mg = loadSegmentationModel(path, 'cuda').model;
  const ec = await evaluateSegmentation(mc, ['vessel', 'HE'], dir, 'all');
  const eg = await evaluateSegmentation(mg, ['vessel', 'HE'], dir, 'all');
  for (const k of ['vessel', 'HE']) assert.ok(Math.abs(ec[k].prAuc - eg[k].prAuc) < 1e-3, `${k}: ${ec[k].prAuc} vs ${eg[k].prAuc}`);
  // Sliding windows run where the images are.
  const x = torch.randn([1, 3, 96, 96]);
  const net = (v: torch.Tensor) => mc.forward(v).sigmoid();
  const wc = slidingWindow(net, x, { patch: 64 });
  const xg = x.to('cuda');
  const wg = slidingWindow((v) => mg.forward(v).sigmoid(), xg, { patch: 64 });
  assert.match(wg.device, /^cuda/);
  assert.ok(wg.to('cpu').sub(wc).abs().max().item() < 1e-4);
  for (const m of [onCpu.model, onGpu.model, resumed.model, mc, mg]) m.dispose();
  for (const v of [x, xg, wc, wg]) v.dispose();
});
