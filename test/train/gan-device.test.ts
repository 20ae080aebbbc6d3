// DR-GAN training on a CUDA device (run where there is one; CI has none): the same seed gives
// the CPU run's losses, checkpoints hold CPU tensors that load anywhere plus the GPU's noise
// generator, and a run resumed on the GPU continues where it stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { trainGan } from '../../src/train/gan-trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { loadSynthesisModel } from '../../src/synth/synthesize.js';
import { ganPhantomSet, poolExtractor, tempDir, tinyConfig, writeGradingSpace } from './gan-fixtures.js';

torch.setNumThreads(1);
const hasCuda = torch.cuda.isAvailable();
const quiet = { progress: false as const, log: () => {} };
const lossLines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; G: Record<string, number>; D: Record<string, number> });

test('the CUDA generator state cannot be read without a CUDA device', { skip: hasCuda ? 'a CUDA device is present' : false }, () => {
  assert.throws(() => torch.getRngState('cuda:0'), /no CUDA device/);
  const cpu = torch.getRngState('cpu');
  assert.equal(cpu.device, 'cpu');
  cpu.dispose();
});

test('a CPU run stores no CUDA generator state', async (t) => {
  const data = await ganPhantomSet(t);
  const root = tempDir(t);
  const r = await trainGan({ data, out: join(root, 'cpu'), config: tinyConfig(), perceptualExtractor: poolExtractor, maxSteps: 1, device: 'cpu', ...quiet });
  const ck = loadCheckpoint(r.latest);
  t.after(() => ck.dispose());
  assert.ok(ck.rng);
  assert.equal(ck.rngCuda, null);
});

test('training on cuda:0 gives the CPU losses; its checkpoint loads on the CPU and resumes on the GPU', { skip: hasCuda ? false : 'no CUDA device' }, async (t) => {
  const data = await ganPhantomSet(t);
  const root = tempDir(t);
  const space = join(root, 'space.safetensors');
  writeGradingSpace(space, 16);
  const cfg = tinyConfig({ train: { stage1Epochs: 1, stage2Epochs: 1 } });
  const common = { data, config: cfg, gradingSpace: space, perceptualExtractor: poolExtractor, seed: 3, ...quiet };
  const cpu = await trainGan({ ...common, out: join(root, 'cpu'), maxSteps: 2 });
  const gpu = await trainGan({ ...common, out: join(root, 'gpu'), maxSteps: 2, device: 'cuda:0' });
  const [a, b] = [lossLines(cpu.losses), lossLines(gpu.losses)];
  assert.equal(b.length, 2);
  // Same initial weights (made on the CPU), same batches and noise: the first step's losses agree
  // to float32 accumulation-order differences.
  for (const net of ['G', 'D'] as const) {
    for (const [k, v] of Object.entries(a[0][net])) assert.ok(Math.abs(b[0][net][k] - v) <= 1e-3 * Math.max(1, Math.abs(v)), `step 1 ${net}/${k}: cpu ${v}, cuda ${b[0][net][k]}`);
  }
  const ck = loadCheckpoint(gpu.latest);
  t.after(() => ck.dispose());
  assert.ok(ck.rngCuda, 'the GPU generator state is stored');
  for (const v of ck.modules.G.values()) assert.equal(v.device, 'cpu');
  const model = await loadSynthesisModel(gpu.latest);
  t.after(() => model.generator.dispose());
  assert.equal(model.generator.parameters()[0].device, 'cpu');

  // 2 + 2 steps with a resume on the GPU = 4 steps straight (to GPU float tolerance: cuDNN may
  // pick non-deterministic kernels).
  const straight = await trainGan({ ...common, out: join(root, 'straight'), maxSteps: 4, device: 'cuda:0' });
  const resumed = await trainGan({ ...common, out: join(root, 'gpu'), maxSteps: 4, device: 'cuda:0', resume: true });
  const [s, r] = [lossLines(straight.losses), lossLines(resumed.losses)];
  assert.equal(r.length, 4);
  for (const net of ['G', 'D'] as const) {
    for (const [k, v] of Object.entries(s[3][net])) assert.ok(Math.abs(r[3][net][k] - v) <= 1e-3 * Math.max(1, Math.abs(v)), `step 4 ${net}/${k}: straight ${v}, resumed ${r[3][net][k]}`);
  }
});
