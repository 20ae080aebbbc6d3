// The whole DR-GAN (G_m, G_l, multi-scale D, the G and D losses of one ganStep, one Adam step)
// against a plain-PyTorch implementation, scripts/reference/drgan_reference.py, which wrote
// test/fixtures/gan/*.safetensors. Both sides fill every parameter and buffer from its NAME
// with the same integer hash (the fixtures would not fit otherwise), so a renamed or reshaped
// parameter fails the key check first and then every value.
//
// Tolerances (float32 on both sides; the generator also ran each case in float64 and stores
// how far float32 lands from it, "drift", and refuses to write a case whose drift is large):
// - outputs (images, logits, D features, running statistics): max |ts - python| <= 1e-4 x
//   max |python|. float32-vs-float64 drift is <= 1e-5 in every case, and both sides call the
//   same ATen kernels except where TS differs on purpose (chunked attention), so this leaves
//   headroom for summation order while any modelling error (a missing term, a wrong axis,
//   a swapped layer) moves outputs by 1e-2 or more.
// - loss terms: relative 1e-5 (their float32 drift is ~2e-7).
// - gradients, as two fixed random projections per parameter tensor, sum r_i g_i, within
//   max(1e-4, 10 x that projection's own float32 drift) of its L1 scale sum |r_i g_i|, plus
//   1e-7 x the network's median scale. Biases in front of a normalisation (and the key
//   bias of softmax attention) have a gradient that is exactly 0 in exact arithmetic; in
//   float32 it is rounding noise (drift ~1), which the second term admits.
// - the Adam step: the first step moves each weight by -lr * g / (|g| + eps), i.e. by about
//   lr against the gradient's sign. Where Python's gradient is settled (|g| > 1e-5 and float32
//   within 1% of float64) the TS update must be lr x that sign within 1e-3 (eps / |g|) plus
//   the float32 rounding of the weight; elsewhere it must not exceed lr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { nn } from '../../src/torch/index.js';
import { makeConfig, type ConfigOverrides, type DrganConfig } from '../../src/gan/config.js';
import { Generator, downsample, selectConditionChannels } from '../../src/gan/generator.js';
import { MultiscaleDiscriminator } from '../../src/gan/discriminator.js';
import { PerceptualLoss } from '../../src/gan/losses.js';
import type { FeatureExtractor } from '../../src/gan/vgg19.js';
import { ganStep } from '../../src/train/gan-trainer.js';

torch.setNumThreads(1);

const FIX = join(process.cwd(), 'test', 'fixtures', 'gan');
const CASES = ['tiny_stage1', 'tiny_stage2', 'tiny_noagm_nosca', 'tiny_options_stage2', 'tiny_prenorm_stage1', 'tiny_imageonly_stage1'];
const OUTPUT_RTOL = 1e-4;
const LOSS_RTOL = 1e-5;
const GRAD_RTOL = 1e-4;
const ADAM_EPS_SLACK = 1e-3;

type Terms = { G: Record<string, number>; D: Record<string, number> };
interface Meta {
  case: string;
  stage: 1 | 2;
  config: DrganConfig;
  noiseSeed: number;
  perceptual: boolean;
  losses: Terms;
  stateDictKeys: { G: Record<string, number[]>; D: Record<string, number[]> };
  params: { G: { names: string[] }; D: { names: string[] } };
  drift: { outputs: number; losses: number };
}

// ---------------------------------------------------------------- weights from names
// drgan_reference.py's hash_unit and named_value, operation for operation.

function hashUnit(name: string, n: number): Float64Array {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = (h + Math.imul(i, 0x9e3779b9)) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    x = Math.imul(x, 0x85ebca6b) >>> 0;
    x = (x ^ (x >>> 13)) >>> 0;
    x = Math.imul(x, 0xc2b2ae35) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    out[i] = (x >>> 8) / 8388608 - 1;
  }
  return out;
}

function namedValue(name: string, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = hashUnit(name, n);
  const leaf = name.split('.').pop()!;
  let f: (u: number) => number;
  if (leaf === 'running_mean') f = (v) => 0.1 * v;
  else if (leaf === 'running_var') f = (v) => 1 + 0.25 * (v + 1);
  else if (leaf === 'gamma') f = (v) => 0.5 + 0.25 * v;
  else if (leaf === 'bias') f = (v) => 0.1 * v;
  else if (leaf === 'weight' && shape.length === 1) f = (v) => 1 + 0.25 * v;
  else if (leaf === 'weight') {
    const s = Math.sqrt(3 / shape.slice(1).reduce((a, b) => a * b, 1));
    f = (v) => v * s;
  } else throw new Error(`namedValue: no rule for "${name}"`);
  return Float32Array.from(u, f);
}

function fillByName<M extends nn.Module>(m: M): M {
  torch.tidy(() => {
    const sd = new Map<string, torch.Tensor>();
    for (const [k, t] of m.stateDict()) sd.set(k, k.endsWith('num_batches_tracked') ? torch.zerosLike(t) : torch.tensor(namedValue(k, t.shape), t.shape));
    m.loadStateDict(sd);
  });
  return m;
}

/** The reference's TinyFeatures: a given perceptual net with five taps. */
class TinyFeatures extends nn.Module implements FeatureExtractor {
  readonly name = 'tiny reference features';
  readonly net = this.registerModule('net', new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(4, 4, 3, { stride: 2, padding: 1 }), new nn.ReLU(),
    new nn.Conv2d(4, 6, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(6, 6, 3, { stride: 2, padding: 1 }), new nn.ReLU(),
    new nn.Conv2d(6, 8, 3, { padding: 1 }), new nn.ReLU(),
  ));
  forward(x: torch.Tensor): torch.Tensor[] {
    return this.extract(x);
  }
  extract(x: torch.Tensor): torch.Tensor[] {
    const out: torch.Tensor[] = [];
    let h = x;
    this.net.children().forEach((layer, i) => {
      h = layer.forward(h) as torch.Tensor;
      if (i % 2 === 1) out.push(h);
    });
    return out;
  }
}

/** Adam that keeps a float64 copy of each gradient as it steps (ganStep clears them after). */
class RecordingAdam extends torch.optim.Adam {
  readonly grads = new Map<torch.Tensor, Float64Array | null>();
  override step(): void {
    for (const g of this.paramGroups) for (const p of g.params) this.grads.set(p, p.grad ? Float64Array.from(p.grad.dataSync() as Float32Array) : null);
    super.step();
  }
}

// ---------------------------------------------------------------- fixture

interface Fixture {
  meta: Meta;
  cfg: DrganConfig;
  t: Map<string, torch.Tensor>;
  c: torch.Tensor;
  x: torch.Tensor;
  y: torch.Tensor;
  z: torch.Tensor | null;
  noise: torch.Tensor[];
}

function loadFixture(name: string): Fixture {
  const path = join(FIX, `${name}.safetensors`);
  const meta = JSON.parse(torch.io.readSafetensorsHeader(path).metadata.meta) as Meta;
  const t = torch.io.loadSafetensors(path);
  // Every field explicit, so later preset changes or new options (default off) leave it alone.
  const cfg = makeConfig('tiny', meta.config as unknown as ConfigOverrides);
  const noise: torch.Tensor[] = [];
  for (let i = 0; t.has(`input.noise.${i}`); i++) noise.push(t.get(`input.noise.${i}`)!);
  return {
    meta, cfg, t, noise,
    // The reference's exact ops: masks as 0/1 floats, pixels u8 / 127.5 - 1.
    c: torch.tidy(() => t.get('input.c')!.float()),
    x: torch.tidy(() => t.get('input.x')!.float().div(127.5).sub(1)),
    y: t.get('input.y')!,
    z: t.get('input.z') ?? null,
  };
}

function disposeFixture(f: Fixture): void {
  for (const v of f.t.values()) v.dispose();
  f.c.dispose();
  f.x.dispose();
}

function build(f: Fixture): { G: Generator; D: MultiscaleDiscriminator; features: TinyFeatures | null } {
  const G = fillByName(new Generator(f.cfg, f.meta.stage));
  const D = fillByName(new MultiscaleDiscriminator(f.cfg));
  const features = f.meta.perceptual ? fillByName(new TinyFeatures()).requiresGrad_(false).eval() : null;
  return { G, D, features };
}

function expected(f: Fixture, key: string): torch.Tensor {
  const t = f.t.get(key);
  if (!t) throw new Error(`${f.meta.case}.safetensors: no tensor "${key}"`);
  return t;
}

function assertClose(actual: torch.Tensor, want: torch.Tensor, rtol: number, what: string): void {
  assert.deepEqual(actual.shape, want.shape, `${what}: shape`);
  const a = actual.toFloat32Array(), e = want.toFloat32Array();
  let diff = 0, ref = 0;
  for (let i = 0; i < e.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - e[i]));
    ref = Math.max(ref, Math.abs(e[i]));
  }
  assert.ok(diff <= rtol * ref, `${what}: max |ts - python| = ${diff.toExponential(2)} > ${rtol} x max |python| (${ref.toExponential(2)})`);
}

function ulp(v: number): number {
  const a = Math.abs(v);
  return a === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

// ---------------------------------------------------------------- tests

for (const name of CASES) {
  test(`${name}: state dict keys and shapes are the reference's, and seeded AGM noise is Python's torch.randn`, () => {
    const f = loadFixture(name);
    try {
      torch.tidy(() => {
        const { G, D } = build(f);
        for (const [net, m] of [['G', G], ['D', D]] as const) {
          const ts = Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, t.shape]));
          const py = f.meta.stateDictKeys[net];
          const onlyTs = Object.keys(ts).filter((k) => !(k in py)), onlyPy = Object.keys(py).filter((k) => !(k in ts));
          assert.deepEqual([onlyTs, onlyPy], [[], []], `${net}: keys only in TS / only in the Python reference`);
          for (const k of Object.keys(py)) assert.deepEqual(ts[k], py[k], `${net}.${k}: shape`);
        }
        const drawn = G.drawNoise(f.cfg.train.batchSize, f.meta.noiseSeed);
        assert.equal(drawn.length, f.noise.length, 'one noise tensor per AGM block');
        drawn.forEach((n, i) => assert.deepEqual(n.toFloat32Array(), f.noise[i].toFloat32Array(), `noise ${i}: bit for bit`));
        G.dispose();
        D.dispose();
      });
    } finally {
      disposeFixture(f);
    }
  });

  test(`${name}: generator image and grade logits (eval and train mode) and discriminator outputs match PyTorch`, () => {
    const f = loadFixture(name);
    try {
      torch.tidy(() => {
        const { G, D } = build(f);
        const cond = selectConditionChannels(f.c, f.cfg);
        const half = downsample(cond);
        const noise = f.noise.length ? f.noise : undefined;
        const run = () => {
          if (G.stage === 1) return G.global.forward(half, f.z, noise);
          const { features, gradeLogits } = G.global.run(half, f.z, noise);
          return { image: G.local!.forward(cond, features), gradeLogits };
        };
        G.eval();
        const ev = run();
        assertClose(ev.image, expected(f, 'expected.eval.image'), OUTPUT_RTOL, 'eval image');
        assertClose(ev.gradeLogits, expected(f, 'expected.eval.gradeLogits'), OUTPUT_RTOL, 'eval grade logits');
        // The public path draws the same noise from the seed.
        assert.deepEqual(G.forward(f.c, f.z, f.meta.noiseSeed).image.toFloat32Array(), ev.image.toFloat32Array(), 'Generator.forward with the noise seed');
        G.train();
        const tr = run();
        assertClose(tr.image, expected(f, 'expected.train.image'), OUTPUT_RTOL, 'train image');
        assertClose(tr.gradeLogits, expected(f, 'expected.train.gradeLogits'), OUTPUT_RTOL, 'train grade logits');

        const [cD, xD] = G.stage === 1 ? [downsample(f.c), downsample(f.x)] : [f.c, f.x];
        D.forward(cD, xD).forEach((o, i) => {
          assertClose(o.logit, expected(f, `expected.D.${i}.logit`), OUTPUT_RTOL, `D${i + 1} logit`);
          if (f.cfg.ablation.noClsLoss) assert.equal(o.classLogits, null, `D${i + 1} has no class head`);
          else assertClose(o.classLogits!, expected(f, `expected.D.${i}.classLogits`), OUTPUT_RTOL, `D${i + 1} class logits`);
          o.features.forEach((ft, p) => assertClose(ft, expected(f, `expected.D.${i}.feature.${p}`), OUTPUT_RTOL, `D${i + 1} feature ${p}`));
        });
        G.dispose();
        D.dispose();
      });
    } finally {
      disposeFixture(f);
    }
  });

  test(`${name}: one ganStep gives PyTorch's loss terms, gradients, Adam updates and BatchNorm statistics`, () => {
    const f = loadFixture(name);
    const { G, D, features } = build(f);
    const { lr, betas } = f.cfg.train;
    const optG = new RecordingAdam(G.parameters(), { lr, betas });
    const optD = new RecordingAdam(D.parameters(), { lr, betas });
    try {
      G.train();
      D.train();
      const perceptual = features ? new PerceptualLoss(features, f.cfg.loss.perceptualWeights) : null;
      // ganStep draws the AGM noise from the global generator: the seed gives the fixture's.
      torch.manualSeed(f.meta.noiseSeed);
      const terms = torch.tidy(() => ganStep({ G, D, optG, optD, cfg: f.cfg, perceptual }, f.c, f.x, f.y, f.z));
      for (const net of ['G', 'D'] as const) {
        assert.deepEqual(Object.keys(terms[net]), Object.keys(f.meta.losses[net]), `${net} loss terms`);
        for (const [k, want] of Object.entries(f.meta.losses[net])) {
          const got = terms[net][k];
          assert.ok(Math.abs(got - want) <= LOSS_RTOL * Math.abs(want) + 1e-7, `${net}/${k}: ts ${got} vs python ${want}`);
        }
      }

      for (const [net, m, opt] of [['G', G, optG], ['D', D, optD]] as const) {
        const params = new Map(m.namedParameters());
        const names = f.meta.params[net].names;
        assert.deepEqual([...params.keys()].sort(), [...names].sort(), `${net}: parameter names`);
        const stats = expected(f, `step.${net}.gradStats`).dataSync() as Float64Array;
        const sign = expected(f, `step.${net}.updateSign`).dataSync() as Uint8Array;
        const settled = expected(f, `step.${net}.updateSettled`).dataSync() as Uint8Array;
        const bit = (bits: Uint8Array, i: number) => (bits[i >> 3] >> (i & 7)) & 1;
        const scales = names.map((_, i) => stats[i * 6 + 3]).sort((a, b) => a - b);
        const floor = 1e-7 * scales[scales.length >> 1];
        const gradErrors: string[] = [], updateErrors: string[] = [];
        let offset = 0;
        names.forEach((pname, i) => {
          const p = params.get(pname)!;
          const g = opt.grads.get(p);
          const [hasGrad, p0, p1, s0, s1, drift] = stats.subarray(i * 6, i * 6 + 6);
          if (!hasGrad) {
            assert.equal(g, null, `${net}.${pname}: Python gave it no gradient`);
          } else {
            assert.ok(g, `${net}.${pname}: no gradient reached it in TS`);
            const [r0, r1] = [hashUnit(`proj0:${pname}`, g.length), hashUnit(`proj1:${pname}`, g.length)];
            let q0 = 0, q1 = 0;
            for (let j = 0; j < g.length; j++) { q0 += r0[j] * g[j]; q1 += r1[j] * g[j]; }
            const rtol = Math.max(GRAD_RTOL, 10 * drift);
            for (const [q, want, s] of [[q0, p0, s0], [q1, p1, s1]]) {
              if (!(Math.abs(q - want) <= rtol * s + floor)) gradErrors.push(`${pname}: projection ${q.toExponential(4)} vs ${want.toExponential(4)} (scale ${s.toExponential(2)})`);
            }
          }
          const before = namedValue(pname, p.shape), after = p.toFloat32Array();
          for (let j = 0; j < before.length; j++, offset++) {
            const d = (after[j] - before[j]) / lr, slack = 2 * ulp(before[j]) / lr;
            const ok = bit(settled, offset) ? Math.abs(d - (bit(sign, offset) ? 1 : -1)) <= ADAM_EPS_SLACK + slack : Math.abs(d) <= 1 + 1e-6 + slack;
            if (!ok && updateErrors.length < 5) updateErrors.push(`${pname}[${j}]: moved ${d.toFixed(4)} lr, python ${bit(sign, offset) ? '+' : '-'}1 lr${bit(settled, offset) ? '' : ' (unsettled)'}`);
          }
        });
        assert.deepEqual(gradErrors, [], `${net}: gradients differ from PyTorch`);
        assert.deepEqual(updateErrors, [], `${net}: Adam updates differ from PyTorch`);
      }

      for (const [k, t] of G.stateDict()) {
        if (k.endsWith('running_mean') || k.endsWith('running_var')) assertClose(t, expected(f, `after.G.${k}`), LOSS_RTOL, `${k} after the step`);
        if (k.endsWith('num_batches_tracked')) assert.equal(t.item(), 1, `${k}: one training forward`);
      }
    } finally {
      optG.disposeState();
      optD.disposeState();
      G.dispose();
      D.dispose();
      features?.dispose();
      disposeFixture(f);
    }
  });
}
