// Adam and AdamW's multi-tensor path (foreach): bit for bit against Python's
// torch.optim.Adam(foreach=True) (test/fixtures/optim/adam-foreach.json, written by
// scripts/reference/adam-foreach.py), the same bits and state as the per-parameter loop
// (mixed dtypes, lagging steps, resuming across the two paths), a native call count that
// does not grow with the number of parameters, and the caller's gradients left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../src/torch/index.js';
import { native } from '../../../src/torch/native.js';
import { fromJson, values, type TensorJson } from './fixture.js';

interface ForeachCase { name: 'adam' | 'adamw'; options: Record<string, unknown>; history: number[][][] }
interface ForeachFixture { params0: TensorJson[]; grads: (TensorJson | null)[][]; cases: ForeachCase[] }

const path = fileURLToPath(new URL('../../../../test/fixtures/optim/adam-foreach.json', import.meta.url));
const fixture: ForeachFixture = JSON.parse(readFileSync(path, 'utf8'));
const CTORS = { adam: torch.optim.Adam, adamw: torch.optim.AdamW };

function fixtureParams(): torch.Tensor[] {
  return fixture.params0.map((p) => fromJson(p).requiresGrad_(true));
}
function setFixtureGrads(params: torch.Tensor[], step: number): void {
  params.forEach((p, i) => {
    const g = fixture.grads[step][i];
    p.grad = g ? fromJson(g) : null;
  });
}

for (const c of fixture.cases) {
  for (const foreach of [true, undefined]) {
    test(`${c.name} ${JSON.stringify(c.options)} foreach=${foreach}: matches torch.optim (foreach=True) bit for bit over ${c.history.length} steps`, () => {
      const params = fixtureParams();
      const opt = new CTORS[c.name](params, { ...c.options, ...(foreach === undefined ? {} : { foreach }) });
      c.history.forEach((expected, s) => {
        setFixtureGrads(params, s);
        opt.step();
        params.forEach((p, i) => assert.deepEqual(values(p), expected[i], `parameter ${i} after step ${s + 1}`));
      });
      opt.disposeState();
    });
  }
}

/** Parameters of two dtypes (two buckets), one of them without a gradient on step 1. */
function mixedParams(seed: number): torch.Tensor[] {
  torch.manualSeed(seed);
  return [
    torch.randn([8, 4, 3, 3]), torch.randn([8]), torch.randn([5, 7], { dtype: 'float64' }), torch.randn([3]), torch.randn([2, 2], { dtype: 'float64' }),
  ].map((p) => p.requiresGrad_(true));
}
function mixedGrads(params: torch.Tensor[], step: number): void {
  torch.manualSeed(1000 + step);
  params.forEach((p, i) => {
    const g = torch.randn(p.shape, { dtype: p.dtype }).mul(step % 2 === 0 ? 1 + step : -0.5);
    p.grad = step === 1 && (i === 1 || i === 2) ? null : g;
  });
}
function bits(t: torch.Tensor): number[] {
  return Array.from(t.dataSync() as Float32Array | Float64Array);
}

const OPTION_SETS: [ 'adam' | 'adamw', Record<string, unknown>][] = [
  ['adam', { lr: 0.01 }],
  ['adam', { lr: 0.02, weightDecay: 0.1, amsgrad: true }],
  ['adam', { lr: 0.01, weightDecay: 0.05, maximize: true, amsgrad: true, betas: [0.0, 0.9] }],
  ['adamw', { lr: 0.01, weightDecay: 0.2, amsgrad: true, maximize: true }],
  ['adamw', { lr: 0.01, weightDecay: 0 }],
];

for (const [name, options] of OPTION_SETS) {
  test(`${name} ${JSON.stringify(options)}: foreach and the per-parameter loop give the same bits and state (float32 + float64, lagging steps)`, () => {
    const runs = [true, false].map((foreach) => {
      const params = mixedParams(7);
      const opt = new CTORS[name](params, { ...options, foreach });
      for (let s = 0; s < 4; s++) { mixedGrads(params, s); opt.step(); }
      return { params, sd: opt.stateDict() };
    });
    const [multi, loop] = runs;
    multi.params.forEach((p, i) => {
      assert.equal(p.dtype, loop.params[i].dtype);
      assert.deepEqual(bits(p), bits(loop.params[i]), `parameter ${i}`);
    });
    assert.deepEqual(Object.keys(multi.sd.state), Object.keys(loop.sd.state));
    for (const [k, st] of Object.entries(loop.sd.state)) {
      const mine = multi.sd.state[Number(k)];
      assert.deepEqual(Object.keys(mine).sort(), Object.keys(st).sort(), `state keys of parameter ${k}`);
      for (const [key, v] of Object.entries(st)) {
        const got = mine[key] as torch.Tensor;
        assert.equal(got.dtype, (v as torch.Tensor).dtype, `${k}.${key} dtype`);
        assert.deepEqual(bits(got), bits(v as torch.Tensor), `state ${k}.${key}`);
      }
    }
    // The lagging parameters (1 and 2) are one step behind.
    assert.equal((multi.sd.state[0].step as torch.Tensor).item(), 4);
    assert.equal((multi.sd.state[1].step as torch.Tensor).item(), 3);
    torch.dispose([multi.sd, loop.sd]);
  });
}

test('a state saved by the foreach path resumes in the loop and the other way round, bit-identical to an uninterrupted run', () => {
  const options = { lr: 0.01, weightDecay: 0.1, amsgrad: true };
  const straight = mixedParams(3);
  const ref = new torch.optim.Adam(straight, options);
  for (let s = 0; s < 5; s++) { mixedGrads(straight, s); ref.step(); }
  for (const [first, second] of [[true, false], [false, true]]) {
    const params = mixedParams(3);
    const a = new torch.optim.Adam(params, { ...options, foreach: first });
    for (let s = 0; s < 3; s++) { mixedGrads(params, s); a.step(); }
    const sd = a.stateDict();
    a.disposeState();
    const b = new torch.optim.Adam(params, { ...options, foreach: second });
    b.loadStateDict(sd);
    torch.dispose(sd);
    for (let s = 3; s < 5; s++) { mixedGrads(params, s); b.step(); }
    params.forEach((p, i) => assert.deepEqual(bits(p), bits(straight[i]), `foreach ${first} -> ${second}: parameter ${i}`));
  }
});

/** Operator calls (not metadata reads) that fn makes. */
function countOpCalls(fn: () => void): number {
  const original = native.callOp;
  let calls = 0;
  native.callOp = (...args) => { calls++; return original(...args); };
  try {
    fn();
  } finally {
    native.callOp = original;
  }
  return calls;
}

/** Operator calls made by one step over n parameters. */
function opCallsForStep(n: number, foreach: boolean): number {
  const params = Array.from({ length: n }, (_, i) => torch.randn([3, i + 1]).requiresGrad_(true));
  const opt = new torch.optim.Adam(params, { lr: 0.01, weightDecay: 0.1, foreach });
  const step = (): number => {
    for (const p of params) p.grad = torch.randn(p.shape);
    return countOpCalls(() => opt.step());
  };
  step(); // the first step also creates the moments
  const calls = step();
  opt.disposeState();
  return calls;
}

test('a foreach step makes the same number of operator calls for 10 or 40 parameters; the loop makes >= 8 more per parameter', () => {
  const [few, many] = [opCallsForStep(10, true), opCallsForStep(40, true)];
  assert.equal(many, few);
  const [loopFew, loopMany] = [opCallsForStep(10, false), opCallsForStep(40, false)];
  assert.ok((loopMany - loopFew) / 30 >= 8, `loop: ${loopFew} calls for 10 parameters, ${loopMany} for 40`);
  assert.ok(many * 20 < loopMany, `foreach ${many} calls vs loop ${loopMany}`);
});

test('foreach leaves the gradients alone (PyTorch 1.13 adds the weight decay into p.grad)', () => {
  for (const maximize of [false, true]) {
    const params = mixedParams(5);
    const opt = new torch.optim.Adam(params, { lr: 0.01, weightDecay: 0.3, maximize, foreach: true });
    mixedGrads(params, 0);
    const before = params.map((p) => bits(p.grad!));
    opt.step();
    params.forEach((p, i) => assert.deepEqual(bits(p.grad!), before[i], `maximize ${maximize}: grad ${i}`));
  }
});

test('foreach: the option is checked, appears in stateDict only when given, and the default picks foreach', () => {
  const p = torch.randn([3]).requiresGrad_(true);
  assert.throws(() => new torch.optim.Adam([p], { foreach: 'yes' as never }), /param group 0: foreach must be true, false or null, got yes/);
  const plain = new torch.optim.Adam([p]);
  assert.ok(!('foreach' in plain.stateDict().param_groups[0]), 'default groups carry no foreach key (state dicts as before)');
  assert.equal(new torch.optim.AdamW([p], { foreach: true }).stateDict().param_groups[0].foreach, true);
  // One parameter group of 40: the default is the foreach path (constant call count).
  const params = Array.from({ length: 40 }, () => torch.randn([2]).requiresGrad_(true));
  const opt = new torch.optim.Adam(params);
  for (const q of params) q.grad = torch.onesLike(q);
  opt.step(); // the first step also creates the moments (two calls per parameter)
  const calls = countOpCalls(() => opt.step());
  assert.ok(calls < 40, `default step made ${calls} operator calls for 40 parameters`);
  opt.disposeState();
});

test('2,000 foreach steps (Adam with amsgrad and maximize, AdamW) do not grow live tensor handles', () => {
  const params = mixedParams(11);
  const opts = [
    new torch.optim.Adam(params.slice(0, 3), { lr: 1e-3, amsgrad: true, maximize: true, weightDecay: 0.1, foreach: true }),
    new torch.optim.AdamW(params.slice(3), { lr: 1e-3, foreach: true }),
  ];
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      torch.tidy(() => { for (const p of params) p.grad = torch.onesLike(p); });
      for (const o of opts) o.step();
    }
  };
  run(10);
  const before = torch.memoryStats();
  run(2000);
  const after = torch.memoryStats();
  // <=, not ==: garbage from before the loop may be collected during it (finalizers run in GC).
  assert.ok(after.handles <= before.handles, `live handles grew from ${before.handles} to ${after.handles}`);
  assert.ok(after.bytes <= before.bytes, `live bytes grew from ${before.bytes} to ${after.bytes}`);
  for (const o of opts) o.disposeState();
});
