// drgan export: a synthesis-only model file (generator weights, config, embedded grading space;
// float32 or float16) that `drgan synth --model` reads like a training checkpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { makeConfig, type DrganConfig } from '../../src/gan/config.js';
import { Generator } from '../../src/gan/generator.js';
import { MultiscaleDiscriminator } from '../../src/gan/discriminator.js';
import { GradingSpace, GradingSpaceAccumulator } from '../../src/latent/grading-space.js';
import { renderPhantom } from '../../src/phantom/render.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { GAN_CHECKPOINT_KIND } from '../../src/train/gan-trainer.js';
import { resizeCondition, type ConditionMasks } from '../../src/synth/condition-io.js';
import { exportGenerator, GENERATOR_EXPORT_KIND } from '../../src/synth/export-model.js';
import { loadSynthesisModel, resolveGradingSpace, synthesize } from '../../src/synth/synthesize.js';
import { runDrgan } from '../helpers/run-drgan.js';
import { phantomSet } from './fixtures.js';

let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'export-model-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stage-2 `tiny` generator saved as the GAN trainer saves it (with D, an optimiser state and a grading space file). */
function trainedCheckpoint(name: string, o: { noAGM?: boolean; space?: boolean } = {}): { path: string; spacePath: string | null; G: Generator; cfg: DrganConfig } {
  torch.manualSeed(11);
  const cfg = makeConfig('tiny', o.noAGM ? { ablation: { noAGM: true } } : {});
  const G = new Generator(cfg, 2);
  const D = new MultiscaleDiscriminator(cfg);
  const optG = new torch.optim.Adam(G.parameters(), { lr: 1e-3 });
  // One optimiser step so the checkpoint holds Adam's moments, as a real one does.
  for (const p of G.parameters()) p.grad = torch.onesLike(p).mul(0.01);
  optG.step();
  let spacePath: string | null = null;
  if (o.space !== false && !o.noAGM) {
    const dim = cfg.generator.gradingVectorDim;
    const acc = new GradingSpaceAccumulator(dim, 5);
    acc.add(torch.randn([20, dim]).add(torch.arange(0, 20).remainder(5).reshape([20, 1])), Array.from({ length: 20 }, (_, i) => i % 5));
    const space = acc.finish();
    spacePath = join(dir, `${name}-space.safetensors`);
    space.save(spacePath);
    space.dispose();
  }
  const path = join(dir, `${name}.safetensors`);
  saveCheckpoint(path, { kind: GAN_CHECKPOINT_KIND, modules: { G, D }, optimizers: { G: optG }, state: { config: cfg, stage: 2, step: 7, gradingSpace: spacePath } });
  return { path, spacePath, G, cfg };
}

function condition(size: number): ConditionMasks {
  const s = renderPhantom(4, 3, 64, { grade: 3, photographic: false });
  return resizeCondition({ size: 64, channels: { ...s.masks }, fov: s.fov, source: 'phantom' }, size);
}

async function imageOf(modelPath: string, grade = 3, seed = 5): Promise<Uint8Array> {
  const model = await loadSynthesisModel(modelPath);
  const space = resolveGradingSpace(model, undefined);
  try {
    return synthesize({ generator: model.generator, grade, condition: condition(model.generator.outputSize), gradingSpace: space, seed }).image.data;
  } finally {
    space?.dispose();
    model.generator.dispose();
  }
}

test('a float32 export makes the checkpoint\'s images without its grading space file, and records where it came from', async () => {
  const { path, spacePath, G } = trainedCheckpoint('f32');
  const want = await imageOf(path);
  const out = join(dir, 'f32-export.safetensors');
  const r = exportGenerator({ checkpoint: path, out });
  assert.equal(r.dtype, 'float32');
  assert.equal(r.stage, 2);
  assert.equal(r.gradingSpace, spacePath);
  assert.equal(r.values, [...G.stateDict().values()].reduce((a, t) => a + t.numel, 0));
  // D and the Adam moments stay behind.
  assert.ok(r.bytes < 0.6 * r.checkpointBytes, `${r.bytes} vs ${r.checkpointBytes}`);

  // The grading space file goes away: the export carries its own copy.
  renameSync(spacePath!, `${spacePath}.moved`);
  try {
    const got = await imageOf(out);
    assert.deepEqual(got, want);
    const model = await loadSynthesisModel(out);
    assert.equal(model.generator.stage, 2);
    for (const [k, v] of G.stateDict()) assert.equal(model.generator.stateDict().get(k)!.sub(v).abs().max().item(), 0, k);
    // The embedded space is the file's, tensor for tensor.
    const moved = GradingSpace.load(`${spacePath}.moved`);
    const embedded = model.embeddedGradingSpace!;
    assert.deepEqual(embedded.counts, moved.counts);
    for (let g = 0; g < 5; g++) {
      assert.equal(embedded.means[g]!.sub(moved.means[g]!).abs().max().item(), 0, `mean ${g}`);
      assert.equal(embedded.variances[g]!.sub(moved.variances[g]!).abs().max().item(), 0, `variance ${g}`);
    }
    moved.dispose();
    model.generator.dispose();
    // The training checkpoint now cannot find its space, and says so.
    const fromCk = await loadSynthesisModel(path);
    assert.throws(() => resolveGradingSpace(fromCk, undefined), /the grading space this model was trained with is gone/);
  } finally {
    renameSync(`${spacePath}.moved`, spacePath!);
  }

  const ck = loadCheckpoint(out, GENERATOR_EXPORT_KIND);
  const state = ck.state as { exportedFrom: { checkpoint: string; sha256: string; step: number }; gradingSpace: { counts: number[]; file: string } };
  assert.equal(state.exportedFrom.checkpoint, path);
  assert.equal(state.exportedFrom.sha256, createHash('sha256').update(readFileSync(path)).digest('hex'));
  assert.equal(state.exportedFrom.step, 7);
  assert.deepEqual(state.gradingSpace.counts, [4, 4, 4, 4, 4]);
  assert.deepEqual(Object.keys(ck.modules).sort(), ['G', 'space']);
  assert.deepEqual(Object.keys(ck.optimizers), []);
  ck.dispose();
});

test('--half stores float16 weights: about half the size, loaded as float32 equal to the rounded weights, nearly the same image', async () => {
  const { path, G } = trainedCheckpoint('f16');
  const full = join(dir, 'f16-full.safetensors'), half = join(dir, 'f16-half.safetensors');
  exportGenerator({ checkpoint: path, out: full });
  const r = exportGenerator({ checkpoint: path, out: half, half: true });
  assert.equal(r.dtype, 'float16');
  const grading = statSync(join(dir, 'f16-space.safetensors')).size;
  // Weights halve; the embedded grading space stays float32.
  const ratio = (r.bytes - grading) / (statSync(full).size - grading);
  assert.ok(ratio > 0.45 && ratio < 0.56, `weights ratio ${ratio}`);
  const ck = loadCheckpoint(half);
  for (const [k, v] of ck.modules.G) assert.equal(v.dtype, G.stateDict().get(k)!.dtype === 'float32' ? 'float16' : G.stateDict().get(k)!.dtype, k);
  ck.dispose();
  const model = await loadSynthesisModel(half);
  for (const [k, v] of G.stateDict()) {
    const got = model.generator.stateDict().get(k)!;
    assert.equal(got.dtype, v.dtype, k);
    const rounded = v.dtype === 'float32' ? v.to('float16').float() : v;
    assert.equal(got.sub(rounded).abs().max().item(), 0, k);
  }
  model.generator.dispose();
  const a = await imageOf(path), b = await imageOf(half);
  let sum = 0, max = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); sum += d; max = Math.max(max, d); }
  assert.ok(sum / a.length < 1, `mean |difference| ${sum / a.length} grey levels`);
  assert.ok(max <= 16, `max |difference| ${max} grey levels`);
});

test('a model trained without AGM exports without a grading space; --grading-space replaces a lost one', async () => {
  const { path } = trainedCheckpoint('noagm', { noAGM: true });
  const out = join(dir, 'noagm-export.safetensors');
  const r = exportGenerator({ checkpoint: path, out });
  assert.equal(r.gradingSpace, null);
  const model = await loadSynthesisModel(out);
  assert.equal(model.embeddedGradingSpace, null);
  assert.equal(resolveGradingSpace(model, undefined), null);
  model.generator.dispose();

  const lost = trainedCheckpoint('lost');
  const elsewhere = join(dir, 'elsewhere-space.safetensors');
  renameSync(lost.spacePath!, elsewhere);
  const lostOut = join(dir, 'lost-export.safetensors');
  assert.throws(() => exportGenerator({ checkpoint: lost.path, out: lostOut }), new RegExp(`${lost.spacePath}: the grading space this model was trained with is gone; pass the file to embed \\(--grading-space FILE\\)`));
  assert.equal(existsSync(lostOut), false, 'nothing is written when the export fails');
  assert.equal(exportGenerator({ checkpoint: lost.path, out: lostOut, gradingSpace: elsewhere }).gradingSpace, elsewhere);
  assert.throws(() => exportGenerator({ checkpoint: lost.path, out: lostOut, gradingSpace: join(dir, 'nope.safetensors') }), /nope\.safetensors: grading space file not found/);
});

test('bad inputs: another kind of file, the checkpoint as its own output, a damaged export', async () => {
  const { path } = trainedCheckpoint('bad');
  const before = readFileSync(path);
  assert.throws(() => exportGenerator({ checkpoint: path, out: path }), /would overwrite the checkpoint it reads/);
  assert.deepEqual(readFileSync(path), before);

  const other = join(dir, 'grader-like.safetensors');
  saveCheckpoint(other, { kind: 'drgan-grader', modules: {}, state: {} });
  assert.throws(() => exportGenerator({ checkpoint: other, out: join(dir, 'x.safetensors') }), /grader-like\.safetensors: a "drgan-grader" file; export reads a DR-GAN training checkpoint \("drgan-gan"/);
  await assert.rejects(loadSynthesisModel(other), /grader-like\.safetensors: a "drgan-grader" file, expected a DR-GAN training checkpoint \("drgan-gan"\) or an exported generator \("drgan-generator"\)/);
  // An export is not a training checkpoint: it cannot be exported again.
  const out = join(dir, 'bad-export.safetensors');
  exportGenerator({ checkpoint: path, out });
  assert.throws(() => exportGenerator({ checkpoint: out, out: join(dir, 'y.safetensors') }), /a "drgan-generator" file; export reads a DR-GAN training checkpoint/);
  const bytes = readFileSync(out);
  bytes[bytes.length - 3] ^= 0xff;
  const damaged = join(dir, 'damaged.safetensors');
  writeFileSync(damaged, bytes);
  await assert.rejects(loadSynthesisModel(damaged), /damaged\.safetensors: corrupt or truncated checkpoint/);
});

test('drgan export, then drgan synth from the exported file', async () => {
  const { path } = trainedCheckpoint('cli');
  const out = join(dir, 'cli-export.safetensors');
  let r = await runDrgan(['export', '--model', path, '--out', out, '--half']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^wrote .*cli-export\.safetensors: stage-2 generator, \d+\.\d\d M values as float16, \d+\.\d MB \(the checkpoint: \d+\.\d MB\); grading space embedded from .*cli-space\.safetensors$/m);
  const data = await phantomSet(2, 64);
  try {
    const synthDir = join(dir, 'cli-synth');
    r = await runDrgan(['synth', '--model', out, '--out', synthDir, '--masks', `dataset:${data}`, '--grade', '2', '--n', '1', '--quiet']);
    assert.equal(r.code, 0, r.err);
    const entries = readFileSync(join(synthDir, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(entries.length, 1);
    assert.equal(entries[0].grade, 2);
    // The sidecar names the exported file as the model.
    assert.equal(entries[0].meta.modelId, createHash('sha256').update(readFileSync(out)).digest('hex'));
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  r = await runDrgan(['export', '--model', path]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--out/);
});
