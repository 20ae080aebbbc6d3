// Resume is exact: 7 steps straight and 3 steps + resume + 4 (crossing an epoch boundary, with
// grading-space draws and AGM noise) end with bit-identical weights and optimiser state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { trainGan } from '../../src/train/gan-trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { ganPhantomSet, poolExtractor, tempDir, tinyConfig, writeGradingSpace } from './gan-fixtures.js';

torch.setNumThreads(1);
const quiet = { progress: false as const, log: () => {} };

function bytesOf(t: torch.Tensor): Buffer {
  return Buffer.from(torch.io.serializeSafetensors({ t }));
}

test('2-part run with --resume equals an uninterrupted run bit for bit', async (t) => {
  const data = await ganPhantomSet(t);
  const root = tempDir(t);
  const space = join(root, 'space.safetensors');
  writeGradingSpace(space, 16);
  const cfg = tinyConfig({ train: { stage1Epochs: 1, stage2Epochs: 1 } });
  const common = { data, config: cfg, gradingSpace: space, perceptualExtractor: poolExtractor, seed: 3, ...quiet };
  // The straight run decodes every epoch, the split one keeps decoded samples (default cache): same batches.
  const straight = await trainGan({ ...common, out: join(root, 'a'), maxSteps: 7, cacheMegabytes: 0 });
  const logged: string[] = [];
  const part1 = await trainGan({ ...common, out: join(root, 'b'), maxSteps: 3, log: (m) => logged.push(m) });
  assert.ok(logged.some((m) => /^loader cache: (\d+) of \1 samples, \d+\.\d MB$/.test(m)), logged.join('\n'));
  assert.equal(part1.stopped, 'max-steps');
  await assert.rejects(trainGan({ ...common, out: join(root, 'b'), maxSteps: 7 }), /exists: pass --resume/);
  await assert.rejects(trainGan({ ...common, seed: 4, out: join(root, 'b'), resume: true }), /seed given differs/);
  const part2 = await trainGan({ ...common, out: join(root, 'b'), maxSteps: 7, resume: true });
  assert.equal(straight.step, 7);
  assert.equal(part2.step, 7);
  assert.equal(straight.stage, part2.stage);

  const a = loadCheckpoint(straight.latest), b = loadCheckpoint(part2.latest);
  t.after(() => { a.dispose(); b.dispose(); });
  assert.deepEqual(b.state, a.state);
  for (const net of ['G', 'D']) {
    assert.deepEqual([...b.modules[net].keys()], [...a.modules[net].keys()]);
    for (const [k, v] of a.modules[net]) assert.ok(bytesOf(v).equals(bytesOf(b.modules[net].get(k)!)), `${net}.${k} differs after resume`);
    const sa = a.optimizers[net].state, sb = b.optimizers[net].state;
    for (const id of Object.keys(sa)) {
      for (const [k, v] of Object.entries(sa[Number(id)])) {
        const w = sb[Number(id)][k];
        if (v instanceof torch.Tensor) assert.ok(bytesOf(v).equals(bytesOf(w as torch.Tensor)), `optimizer ${net} param ${id} ${k} differs`);
        else assert.equal(w, v);
      }
    }
  }
  assert.ok(bytesOf(a.rng!).equals(bytesOf(b.rng!)), 'RNG state differs');
  // The loss log of the resumed run holds each step once, with the same numbers.
  const la = readFileSync(straight.losses, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const lb = readFileSync(part2.losses, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lb.map((l) => [l.step, l.G, l.D]), la.map((l) => [l.step, l.G, l.D]));
});
