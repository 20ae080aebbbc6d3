// BatchNorm2d's running statistics over two training steps (momentum 0.1, cumulative
// average with momentum null, a custom momentum and eps), then eval mode on them, as PyTorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { nn } from '../../../src/torch/index.js';
import { assertMatches, fromSpec, loadNnFixture, type TensorSpec } from './fixture.js';

interface Step { input: TensorSpec; output: TensorSpec; state: Record<string, TensorSpec> }
interface BnCase { steps: Step[]; evalInput: TensorSpec; evalOutput: TensorSpec }
const cases = loadNnFixture<Record<string, BnCase>>('batchnorm');
const options: Record<string, nn.NormOptions> = {
  momentum_default: {},
  momentum_none: { momentum: null },
  'momentum_0.3_eps': { momentum: 0.3, eps: 1e-3 },
};
const tol = { rtol: 1e-5, atol: 1e-6 };

for (const [name, c] of Object.entries(cases)) {
  test(`BatchNorm2d ${name}: running stats after each training step and the eval output match PyTorch`, () => {
    torch.tidy(() => {
      const bn = new nn.BatchNorm2d(3, options[name]);
      c.steps.forEach((s, i) => {
        assertMatches(bn.forward(fromSpec(s.input)), s.output, `step ${i} output`, tol);
        const sd = bn.stateDict();
        assert.deepEqual([...sd.keys()], Object.keys(s.state));
        for (const [k, spec] of Object.entries(s.state)) assertMatches(sd.get(k)!, spec, `step ${i} ${k}`, tol);
      });
      bn.eval();
      const nbt = bn.numBatchesTracked!.item();
      assertMatches(bn.forward(fromSpec(c.evalInput)), c.evalOutput, 'eval output', tol);
      assert.equal(bn.numBatchesTracked!.item(), nbt, 'eval does not count batches');
      bn.dispose();
    });
  });
}

test('BatchNorm2d without running stats normalises with batch statistics in eval mode too', () => {
  torch.tidy(() => {
    const bn = new nn.BatchNorm2d(2, { trackRunningStats: false, affine: false }).eval();
    assert.deepEqual([...bn.stateDict().keys()], []);
    const y = bn.forward(torch.randn([8, 2, 3, 3]).mul(3).add(5));
    assert.ok(Math.abs(y.mean().item()) < 1e-5);
    assert.ok(Math.abs(y.var(undefined, false).item() - 1) < 1e-3);
  });
});
