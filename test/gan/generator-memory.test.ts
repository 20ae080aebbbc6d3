// The generator frees its intermediates early when autograd is off (Sequential.forward and
// LocalEnhancer.forward): the images are bit-identical to a pass with autograd recording
// (where nothing is freed early), with and without G_l's residual blocks, the caller's
// tensors survive, and fewer handles are live at the end of G_l.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { nn } from '../../src/torch/index.js';
import { makeConfig } from '../../src/gan/config.js';
import { Generator } from '../../src/gan/generator.js';

torch.setNumThreads(1);

/** A pass-through layer that records the live handles where it sits. */
class Probe extends nn.Module {
  handles = 0;
  forward(x: torch.Tensor): torch.Tensor {
    this.handles = torch.memoryStats().handles;
    return x;
  }
}

for (const localResidualBlocks of [0, 2]) {
  test(`stage-2 images without autograd equal those with it (local residual blocks ${localResidualBlocks}); inputs survive`, () => {
    torch.manualSeed(11);
    const R = 64;
    const G = new Generator(makeConfig('tiny', { resolution: R, generator: { localResidualBlocks } }), 2).eval();
    const c = torch.rand([2, 8, R, R]), z = torch.randn([2, 16]);
    const withGrad = torch.tidy(() => G.forward(c, z, 3).image.detach());
    const without = torch.noGrad(() => torch.tidy(() => G.forward(c, z, 3).image));
    assert.ok(without.equal(withGrad));
    assert.equal(c.isDisposed, false);
    assert.equal(z.isDisposed, false);
    // G_l on its own: the features it is given are the caller's and must survive.
    const features = torch.randn([2, G.cfg.generator.ngf, R / 2, R / 2]);
    torch.noGrad(() => torch.tidy(() => G.local!.forward(c, features)));
    assert.equal(features.isDisposed, false);
    G.dispose();
  });
}

test('at the end of G_l, no-grad synthesis holds fewer live handles than the same pass with autograd', () => {
  torch.manualSeed(12);
  const R = 64;
  const G = new Generator(makeConfig('tiny', { resolution: R, generator: { localResidualBlocks: 2 } }), 2).eval();
  const probe = new Probe();
  G.local!.up.append(probe);
  const c = torch.rand([1, 8, R, R]), features = torch.randn([1, G.cfg.generator.ngf, R / 2, R / 2]);
  const above = (grad: boolean): number => {
    const base = torch.memoryStats().handles;
    torch.tidy(() => (grad ? G.local!.forward(c, features) : torch.noGrad(() => G.local!.forward(c, features))));
    return probe.handles - base;
  };
  const recorded = above(true), freed = above(false);
  console.log(`live handles above the start at the end of G_l: autograd on ${recorded}, off ${freed}`);
  // Off: the residual blocks' output (the input of G_l's up path, which that Sequential may
  // not free) and the last layer's output (the probe's input); the down path's output and
  // the sum with the features are gone.
  assert.equal(freed, 2);
  // On: the up path's six layer outputs, at least, stay until its tidy returns.
  assert.ok(recorded >= freed + 6, `with autograd (${recorded})`);
  G.dispose();
});
