// DR-GAN training loop on the tiny preset: parameters move, a loss falls, memory stays flat,
// and stage 1 -> 2 keeps G_m.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { trainGan, type StepInfo } from '../../src/train/gan-trainer.js';
import { loadCheckpoint, stepCheckpointName } from '../../src/train/checkpoint.js';
import { readEvents } from '../../src/train/tensorboard.js';
import { ganPhantomSet, poolExtractor, snapshot, tempDir, tinyConfig, writeGradingSpace } from './gan-fixtures.js';

// Two OpenMP threads on a busy two-core machine spin against each other (seconds per tiny step).
torch.setNumThreads(1);
const quiet = { progress: false as const, log: () => {} };

test('training steps move G and D, lower D\'s adversarial loss, and keep memory flat', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const space = join(out, 'space.safetensors');
  writeGradingSpace(space, 16);
  let first: { G: Map<string, unknown>; D: Map<string, unknown> } | null = null;
  const handles: number[] = [];
  const cfg = tinyConfig({ train: { stage1Epochs: 4, stage2Epochs: 0, lr: 1e-3 } });
  const r = await trainGan({
    data, out: join(out, 'run'), config: cfg, gradingSpace: space, perceptualExtractor: poolExtractor, ...quiet,
    hooks: {
      onStageStart: ({ G, D }) => { first = { G: snapshot(G.stateDict()), D: snapshot(D.stateDict()) }; },
      afterStep: (_: StepInfo) => { handles.push(torch.memoryStats().handles); },
    },
  });
  assert.equal(r.stopped, 'finished');
  assert.ok(r.step >= 16, `expected at least 16 steps, got ${r.step}`);
  const ck = loadCheckpoint(r.latest);
  t.after(() => ck.dispose());
  // Every trainable tensor that exists at the start changed (running stats included).
  for (const net of ['G', 'D'] as const) {
    const before = first![net];
    let changed = 0;
    for (const [k, v] of ck.modules[net]) if (!Buffer.from((v.dataSync() as Float32Array).buffer).equals(Buffer.from((before.get(k) as Float32Array).buffer))) changed++;
    assert.ok(changed >= ck.modules[net].size - 1, `${net}: only ${changed} of ${ck.modules[net].size} tensors changed`);
  }
  const lines = readFileSync(r.losses, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; G: Record<string, number>; D: Record<string, number> });
  assert.equal(lines.length, r.step);
  assert.deepEqual(Object.keys(lines[0].G).sort(), ['adversarial', 'classification', 'featureMatching', 'gradeHead', 'perceptual']);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const dAdv = lines.map((l) => l.D.adversarial);
  assert.ok(mean(dAdv.slice(-5)) < mean(dAdv.slice(0, 5)) - 0.1, `D/adversarial did not fall: ${dAdv.map((v) => v.toFixed(2)).join(' ')}`);
  // Memory: once the optimiser state exists, live tensors never grow from step to step (they
  // may fall once when the garbage collector finalises set-up temporaries).
  assert.ok(handles.slice(3).every((h, i) => h <= handles[2 + i]), `live handles grew: ${handles.join(' ')}`);
  // Logs: TensorBoard holds the same G/D terms per step; a sample grid was written.
  const events = readEvents(r.events).filter((e) => e.scalars.length);
  assert.equal(events.length, r.step);
  assert.ok(Math.abs(events[3].scalars.find((s) => s.tag === 'D/adversarial')!.value - lines[3].D.adversarial) < 1e-5);
  assert.ok(readdirSync(join(out, 'run', 'samples')).some((f) => f.endsWith('.png')));
});

test('stage 2 adds G_l and keeps G_m\'s weights; stage 1\'s end is kept as a checkpoint', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const cfg = tinyConfig({ ablation: { noPerceptual: true }, train: { stage1Epochs: 1, stage2Epochs: 1 } });
  let endOfStage1: Map<string, unknown> | null = null;
  let atStage2: { global: Map<string, unknown>; keys: number; size: number } | null = null;
  let localAfter: Map<string, unknown> | null = null;
  let localAtStart: Map<string, unknown> | null = null;
  await trainGan({
    data, out, config: cfg, ...quiet,
    hooks: {
      afterStep: ({ stage, G }) => {
        if (stage === 1) endOfStage1 = snapshot(G.global.stateDict());
        else localAfter = snapshot(G.local!.stateDict());
      },
      onStageStart: ({ stage, G }) => {
        if (stage !== 2) return;
        atStage2 = { global: snapshot(G.global.stateDict()), keys: [...G.stateDict().keys()].filter((k) => k.startsWith('local.')).length, size: G.outputSize };
        localAtStart = snapshot(G.local!.stateDict());
      },
    },
  });
  assert.ok(endOfStage1 && atStage2 && localAfter && localAtStart);
  const s2 = atStage2 as { global: Map<string, unknown>; keys: number; size: number };
  assert.equal(s2.size, 32);
  assert.ok(s2.keys > 0);
  for (const [k, v] of endOfStage1 as Map<string, Float32Array>) assert.deepEqual(s2.global.get(k), v, `G_m tensor ${k} changed at the stage switch`);
  const changedLocal = [...(localAtStart as Map<string, Float32Array>)].filter(([k, v]) => !Buffer.from(v.buffer).equals(Buffer.from(((localAfter as Map<string, Float32Array>).get(k)!).buffer)));
  assert.ok(changedLocal.length > 0, 'G_l did not train in stage 2');
  // The stage-1 checkpoint kept aside holds G_m only and is marked stage 1.
  const kept = readdirSync(out).filter((f) => f.startsWith('step-')).sort();
  const ck = loadCheckpoint(join(out, kept[0]));
  t.after(() => ck.dispose());
  assert.equal(ck.state.stage, 1);
  assert.ok(![...ck.modules.G.keys()].some((k) => k.startsWith('local.')));
});

