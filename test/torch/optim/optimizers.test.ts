// SGD, Adam and AdamW against Python's torch.optim over five steps with fixed gradients,
// for every option combination in the fixture: parameters must agree bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { build, describe, fixture, freshParams, setGrads, values, type OptimCase } from './fixture.js';

function runCase(c: OptimCase, steps = c.history.length): { params: torch.Tensor[]; opt: torch.optim.Optimizer<any> } {
  const params = freshParams();
  const opt = build(c, params);
  for (let s = 0; s < steps; s++) {
    setGrads(params, s);
    opt.step();
    params.forEach((p, i) => assert.deepEqual(values(p), c.history[s][i], `${describe(c)}: parameter ${i} after step ${s + 1}`));
  }
  return { params, opt };
}

for (const c of fixture.optimizers) {
  test(`${describe(c)} matches PyTorch bit for bit over ${c.history.length} steps`, () => {
    const { opt } = runCase(c);
    opt.disposeState();
  });
}

test('param groups with their own lr, weight decay and amsgrad match PyTorch', () => {
  runCase(fixture.groupCase);
});

test('stateDict() has PyTorch layout and values (step, exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer)', () => {
  const cases = [...fixture.optimizers.filter((c) => c.stateDict), fixture.groupCase];
  assert.ok(cases.some((c) => c.name === 'sgd') && cases.some((c) => c.name === 'adam'));
  for (const c of cases) {
    const { opt } = runCase(c);
    const sd = opt.stateDict();
    const expected = c.stateDict!;
    assert.deepEqual(Object.keys(sd.state).sort(), Object.keys(expected.state).sort(), describe(c));
    for (const [k, st] of Object.entries(expected.state)) {
      const mine = sd.state[Number(k)];
      assert.deepEqual(Object.keys(mine).sort(), Object.keys(st).sort(), `${describe(c)}: state keys of parameter ${k}`);
      for (const [name, v] of Object.entries(st)) {
        const got = mine[name];
        if (v === null) assert.equal(got, null);
        else if (typeof v === 'number') assert.equal(got, v);
        else {
          assert.ok(got instanceof torch.Tensor, `${describe(c)}: ${k}.${name} is a tensor`);
          assert.deepEqual(got.shape, v.shape);
          assert.deepEqual(values(got), v.data, `${describe(c)}: state ${k}.${name}`);
        }
      }
    }
    assert.equal(sd.param_groups.length, expected.param_groups.length);
    sd.param_groups.forEach((g, i) => {
      for (const [k, v] of Object.entries(g)) {
        assert.ok(k in expected.param_groups[i], `${describe(c)}: PyTorch has no group option "${k}"`);
        assert.deepEqual(v, expected.param_groups[i][k], `${describe(c)}: group ${i} option ${k}`);
      }
    });
    torch.dispose(sd);
  }
});
