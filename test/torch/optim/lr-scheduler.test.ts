// Learning-rate schedules against Python's torch.optim.lr_scheduler (two param groups),
// their state dicts, and resume mid-schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { fixture } from './fixture.js';

type Sched = torch.optim.LRScheduler;

function twoGroupSgd(): torch.optim.SGD {
  const p = torch.zeros([2]).requiresGrad_(true);
  const q = torch.zeros([2]).requiresGrad_(true);
  return new torch.optim.SGD([{ params: [p] }, { params: [q], lr: 0.02 }], { lr: 0.1 });
}

function schedule(name: string, o: Record<string, number>, opt: torch.optim.SGD): Sched {
  switch (name) {
    case 'StepLR': return new torch.optim.StepLR(opt, o.stepSize, o.gamma);
    case 'LinearLR': return new torch.optim.LinearLR(opt, o);
    case 'CosineAnnealingLR': return new torch.optim.CosineAnnealingLR(opt, o.tMax, o.etaMin);
    case 'LinearDecayLR': return new torch.optim.LinearDecayLR(opt, { constantEpochs: o.constantEpochs, decayEpochs: o.decayEpochs });
    default: throw new Error(`no scheduler ${name}`);
  }
}

// Math.cos may differ from glibc's cos in the last bit; every other schedule is exact.
function assertLrs(name: string, got: number[], want: number[], where: string): void {
  if (name !== 'CosineAnnealingLR') return assert.deepEqual(got, want, where);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= 1e-15 * Math.abs(want[i]) + 1e-18, `${where}: ${g} vs ${want[i]}`));
}

for (const s of fixture.schedulers) {
  test(`${s.name} ${JSON.stringify(s.options)} gives PyTorch's rates for ${s.lrs.length - 1} epochs`, () => {
    const opt = twoGroupSgd();
    const sched = schedule(s.name, s.options, opt);
    assertLrs(s.name, sched.getLastLr(), s.lrs[0], 'after construction');
    for (let e = 1; e < s.lrs.length; e++) {
      opt.step();
      sched.step();
      assertLrs(s.name, sched.getLastLr(), s.lrs[e], `epoch ${e}`);
      assert.deepEqual(opt.paramGroups.map((g) => g.lr), sched.getLastLr());
    }
  });

  test(`${s.name}: resume from optimizer and scheduler state dicts continues the same rates`, () => {
    const opt = twoGroupSgd();
    const sched = schedule(s.name, s.options, opt);
    for (let e = 0; e < 6; e++) { opt.step(); sched.step(); }
    const optState = opt.stateDict();
    const schedState = JSON.parse(JSON.stringify(sched.stateDict())); // survives a JSON checkpoint
    assert.equal(schedState.last_epoch, 6);
    assert.deepEqual(schedState.base_lrs, [0.1, 0.02]);
    const opt2 = twoGroupSgd();
    const sched2 = schedule(s.name, s.options, opt2);
    opt2.loadStateDict(optState);
    sched2.loadStateDict(schedState);
    torch.dispose(optState);
    for (let e = 7; e < s.lrs.length; e++) {
      opt2.step();
      sched2.step();
      assertLrs(s.name, sched2.getLastLr(), s.lrs[e], `resumed epoch ${e}`);
    }
  });
}

test('LinearDecayLR holds the rate for constantEpochs, then reaches exactly 0 and stays there', () => {
  const opt = twoGroupSgd();
  const sched = new torch.optim.LinearDecayLR(opt, { constantEpochs: 3, decayEpochs: 4 });
  const seen = [sched.getLastLr()[0]];
  for (let e = 0; e < 9; e++) { sched.step(); seen.push(sched.getLastLr()[0]); }
  assert.deepEqual(seen.slice(0, 4), [0.1, 0.1, 0.1, 0.1]);
  assert.ok(seen[4] < 0.1 && seen[5] < seen[4]);
  assert.deepEqual(seen.slice(7), [0, 0, 0]);
});

test('scheduler state dicts that do not fit the optimizer are refused with the key at fault', () => {
  const sched = new torch.optim.StepLR(twoGroupSgd(), 3);
  const sd = sched.stateDict();
  assert.throws(() => sched.loadStateDict({ ...sd, base_lrs: [0.1] }), /"base_lrs" must list 2 number\(s\)/);
  assert.throws(() => sched.loadStateDict({ ...sd, gamma: 'x' }), /"gamma" must be a number/);
  assert.throws(() => new torch.optim.StepLR(twoGroupSgd(), 0), /stepSize must be a positive integer/);
  assert.throws(() => new torch.optim.StepLR(twoGroupSgd(), 2, 0.1, 5), /param group 0 has no initialLr/);
});
