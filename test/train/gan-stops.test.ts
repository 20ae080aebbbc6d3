// DR-GAN training failures and stops: a NaN loss stops the run with the last good checkpoint
// intact, and an interrupt (SIGINT in the CLI) checkpoints the finished step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { NonFiniteLossError, trainGan } from '../../src/train/gan-trainer.js';
import { loadCheckpoint, stepCheckpointName } from '../../src/train/checkpoint.js';
import { ganPhantomSet, tempDir, tinyConfig } from './gan-fixtures.js';

// Two OpenMP threads on a busy two-core machine spin against each other (seconds per tiny step).
torch.setNumThreads(1);
const quiet = { progress: false as const, log: () => {} };

test('a NaN loss stops the run naming the term and step; the previous checkpoint stays loadable', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const cfg = tinyConfig({ ablation: { noPerceptual: true } });
  await assert.rejects(
    trainGan({ data, out, config: cfg, checkpointEvery: 2, hooks: { nanAtStep: 4 }, ...quiet }),
    (err: Error) => err instanceof NonFiniteLossError && /loss term G\/\w+ is NaN at step 4/.test(err.message) && err.message.includes('latest.safetensors'),
  );
  const ck = loadCheckpoint(join(out, 'latest.safetensors'));
  t.after(() => ck.dispose());
  assert.equal(ck.state.step, 2);
  assert.ok(existsSync(join(out, stepCheckpointName(2))));
  assert.ok(!existsSync(join(out, stepCheckpointName(4))));
  for (const v of ck.modules.G.values()) if (v.dtype === 'float32') assert.ok(torch.tidy(() => v.isfinite().all().item()));
  assert.equal(readFileSync(join(out, 'losses.jsonl'), 'utf8').trim().split('\n').length, 3);
});

test('an abort (SIGINT in the CLI) finishes the step, checkpoints it and stops', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const ac = new AbortController();
  const r = await trainGan({
    data, out, config: tinyConfig({ ablation: { noPerceptual: true } }), signal: ac.signal, ...quiet,
    hooks: { afterStep: ({ step }) => { if (step === 3) ac.abort(); } },
  });
  assert.equal(r.stopped, 'interrupted');
  assert.equal(r.step, 3);
  const ck = loadCheckpoint(r.latest);
  t.after(() => ck.dispose());
  assert.equal(ck.state.step, 3);
  assert.equal(ck.state.batchInEpoch, 3);
});
