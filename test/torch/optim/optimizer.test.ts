// The optimiser base: exact resume through stateDict, clear errors for states that do not
// fit, zeroGrad, argument checks, and no tensor growth over thousands of steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { build, describe, fixture, freshParams, setGrads, values, type OptimCase } from './fixture.js';

const resumeCases: OptimCase[] = [
  ...fixture.optimizers.filter((c) => c.options.amsgrad || c.options.momentum || c.name === 'adamw'),
  fixture.groupCase,
];

for (const c of resumeCases) {
  test(`${describe(c)}: 3 steps, stateDict, new optimiser, loadStateDict, 2 steps = 5 uninterrupted steps (bit-identical)`, () => {
    const params = freshParams();
    const first = build(c, params);
    for (let s = 0; s < 3; s++) { setGrads(params, s); first.step(); }
    const sd = first.stateDict();
    first.step(); // the snapshot must not follow later updates of the live optimiser
    first.disposeState();
    // Resume on separate tensors holding the step-3 values, as after reading a checkpoint.
    const resumed = params.map((p, i) => torch.tensor(Float32Array.from(c.history[2][i]), p.shape).requiresGrad_(true));
    const second = build(c, resumed);
    second.loadStateDict(sd);
    torch.dispose(sd);
    for (let s = 3; s < 5; s++) { setGrads(resumed, s); second.step(); }
    resumed.forEach((p, i) => assert.deepEqual(values(p), c.history[4][i], `parameter ${i}`));
  });
}

test('loading a state with another number of groups or parameters names the mismatch', () => {
  const params = freshParams();
  const opt = new torch.optim.Adam(params, { lr: 0.01 });
  setGrads(params, 0);
  opt.step();
  const sd = opt.stateDict();
  const twoGroups = new torch.optim.Adam([{ params: [params[0]] }, { params: [params[1], params[2]] }]);
  assert.throws(() => twoGroups.loadStateDict(sd), /saved state has 1 parameter group\(s\) but this optimizer has 2/);
  const fewer = new torch.optim.Adam([params[0], params[1]]);
  assert.throws(() => fewer.loadStateDict(sd), /saved param group 0 has 3 parameters but this optimizer's group 0 has 2/);
  torch.dispose(sd);
});

test('loading a state whose tensors have other shapes names the parameter, the entry and both shapes', () => {
  const params = freshParams();
  const opt = new torch.optim.Adam(params);
  setGrads(params, 0);
  opt.step();
  const sd = opt.stateDict();
  const swapped = [params[1], params[0], params[2]].map((p) => torch.zerosLike(p).requiresGrad_(true));
  const other = new torch.optim.Adam(swapped);
  assert.throws(() => other.loadStateDict(sd), /parameter 0 \(group 0, params\[0\]\): exp_avg has shape \[3, 4\] but the parameter has shape \[5\]/);
  // Nothing was changed by the failed load: the next step starts fresh state (step 1).
  for (const q of swapped) q.grad = torch.onesLike(q);
  other.step();
  const after = other.stateDict();
  assert.equal((after.state[0].step as torch.Tensor).item(), 1);
  torch.dispose([sd, after]);
});

test('loading an SGD state into Adam, or a plain Adam state into amsgrad, says what is missing', () => {
  const params = freshParams();
  const sgd = new torch.optim.SGD(params, { lr: 0.1, momentum: 0.9 });
  setGrads(params, 0);
  sgd.step();
  const sgdState = sgd.stateDict();
  assert.throws(() => new torch.optim.Adam(params).loadStateDict(sgdState), /parameter 0 .*lacks "step"/);
  const adam = new torch.optim.Adam(params);
  adam.step();
  const adamState = adam.stateDict();
  assert.throws(() => new torch.optim.Adam(params, { amsgrad: true }).loadStateDict(adamState), /lacks tensor "max_exp_avg_sq"/);
  assert.throws(() => adam.loadStateDict({ state: {}, param_groups: null } as never), /expected \{state, param_groups\}/);
  torch.dispose([sgdState, adamState]);
});

test('zeroGrad sets gradients to null by default and to zeros when asked', () => {
  const params = freshParams();
  const opt = new torch.optim.SGD(params, { lr: 0.1 });
  setGrads(params, 0);
  opt.zeroGrad(false);
  assert.deepEqual(params[0].grad!.toArray(), new Array(12).fill(0));
  opt.zeroGrad();
  assert.equal(params[0].grad, null);
  // A step without gradients changes nothing.
  const before = values(params[1]);
  opt.step();
  assert.deepEqual(values(params[1]), before);
});

test('bad constructor arguments get errors naming the field', () => {
  const p = torch.zeros([2]).requiresGrad_(true);
  assert.throws(() => new torch.optim.Adam([]), /empty parameter list/);
  assert.throws(() => new torch.optim.Adam([p], { betas: [1.2, 0.999] }), /betas\[0\] 1.2/);
  assert.throws(() => new torch.optim.Adam([p], { lr: -1 }), /invalid lr -1/);
  assert.throws(() => new torch.optim.SGD([p], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => new torch.optim.SGD([p], {} as never), /options.lr is required/);
  assert.throws(() => new torch.optim.SGD([p, p], { lr: 0.1 }), /params\[1\] appears in more than one place/);
  const nonLeaf = p.mul(2);
  assert.throws(() => new torch.optim.Adam([nonLeaf]), /params\[0\] is not a leaf tensor/);
});

test('2,000 Adam, AdamW (amsgrad) and SGD steps with clipping and backward do not grow live tensor handles', () => {
  const w = torch.randn([8, 4]).requiresGrad_(true);
  const b = torch.zeros([4]).requiresGrad_(true);
  const x = torch.randn([16, 8]);
  const opts = [
    new torch.optim.Adam([w, b], { lr: 1e-3 }),
    new torch.optim.AdamW([w, b], { lr: 1e-3, amsgrad: true }),
    new torch.optim.SGD([w, b], { lr: 1e-3, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
  ];
  const iteration = (opt: torch.optim.Optimizer<any>) => {
    torch.tidy(() => {
      opt.zeroGrad();
      x.matmul(w).add(b).square().mean().backward();
      torch.optim.clipGradNorm_([w, b], 1.0);
      opt.step();
    });
  };
  for (const opt of opts) iteration(opt); // state is created at the first step
  const before = torch.memoryStats();
  for (let i = 0; i < 2000; i++) iteration(opts[i % 3]);
  const after = torch.memoryStats();
  // <=, not ==: garbage from before the loop may be collected during it (finalizers run in GC).
  assert.ok(after.handles <= before.handles, `live handles grew from ${before.handles} to ${after.handles}`);
  assert.ok(after.bytes <= before.bytes, `live bytes grew from ${before.bytes} to ${after.bytes}`);
});
