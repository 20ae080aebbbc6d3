// `--device`, `--pos-weight` and `--steps-per-batch` of `drgan train seg` / `drgan eval seg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { loadCheckpoint, disposeCheckpoint } from '../../src/train/checkpoint-file.js';
import { tinyPhantomSet } from '../train/seg-fixtures.js';
import { runDrgan as run } from '../helpers/run-drgan.js';

torch.setNumThreads(1);

test('the recipe flags reach the stored config; --device cpu trains and evaluates', async (t) => {
  const dir = await tinyPhantomSet(t);
  const out = join(dir, 'm');
  let r = await run(['train', 'seg', '--data', dir, '--targets', 'vessel,EX', '--out', out, '--patch', '32', '--depth', '2', '--width', '4',
    '--train-split', 'all', '--val-split', 'all', '--epochs', '1', '--batch', '3', '--pos-weight', '4', '--steps-per-batch', '2', '--device', 'cpu']);
  assert.equal(r.code, 0, r.err);
  const ck = loadCheckpoint<{ posWeight: number; stepsPerBatch: number }, unknown>(join(out, 'latest.safetensors'), 'segmentation');
  assert.equal(ck.config.posWeight, 4);
  assert.equal(ck.config.stepsPerBatch, 2);
  assert.ok(Object.values(ck.optim!.state).every((s) => Number(s.step) === 2 * 2), 'two batches of 3 photos, two steps each');
  disposeCheckpoint(ck);
  r = await run(['eval', 'seg', '--model', join(out, 'latest.safetensors'), '--data', dir, '--device', 'CPU', '--json']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(Object.keys(JSON.parse(r.out).metrics), ['vessel', 'EX']);
});

test('a bad --device is a usage error naming the flag; cuda without a GPU says so', async (t) => {
  const dir = await tinyPhantomSet(t);
  const train = (device: string) => run(['train', 'seg', '--data', dir, '--targets', 'vessel', '--out', join(dir, 'o'), '--patch', '32', '--device', device]);
  let r = await train('gpu');
  assert.equal(r.code, 2);
  assert.match(r.err, /drgan train seg: --device "gpu": expected cpu, cuda or cuda:N/);
  r = await run(['eval', 'seg', '--model', join(dir, 'none.safetensors'), '--data', dir, '--device', 'cuda:x']);
  assert.equal(r.code, 2);
  assert.match(r.err, /drgan eval seg: --device "cuda:x"/);
  if (!torch.cuda.isAvailable()) {
    r = await train('cuda');
    assert.equal(r.code, 2);
    assert.match(r.err, /--device cuda: this libtorch sees no CUDA device/);
  } else {
    r = await train(`cuda:${torch.cuda.deviceCount()}`);
    assert.equal(r.code, 2);
    assert.match(r.err, /only \d+ CUDA device\(s\) visible/);
  }
});
