// Finite-difference gradient check (float64) through a small Sequential of Conv2d (reflect
// padding), InstanceNorm2d (affine) and LeakyReLU, for the input and every parameter.
import { test } from 'node:test';
import * as torch from '../../../src/torch/index.js';
import { nn } from '../../../src/torch/index.js';
import { gradcheck } from '../gradcheck.js';

test('gradients of a Conv2d + InstanceNorm2d + LeakyReLU Sequential agree with finite differences', () => {
  torch.manualSeed(3);
  const net = new nn.Sequential(
    new nn.Conv2d(2, 2, 3, { padding: 1, paddingMode: 'reflect' }),
    new nn.InstanceNorm2d(2, { affine: true }),
    new nn.LeakyReLU(0.2),
    new nn.Conv2d(2, 1, 2, { stride: 2 }),
  ).double();
  torch.noGrad(() => {
    for (const [k, p] of net.namedParameters()) if (k.startsWith('1.')) p.add_(torch.randn(p.shape, { dtype: 'float64' }).mul(0.3));
  });
  const named = net.namedParameters();
  const params = named.map(([, p]) => p);
  const original = new Map(named.map(([k, p]) => [k, p.detach().clone()]));
  torch.tidy(() => {
    const x = torch.randn([1, 2, 4, 4], { dtype: 'float64' }).mul(2).requiresGrad_(true);
    // gradcheck differentiates with respect to the module's own parameters (same tensors),
    // and for finite differences hands over perturbed copies: load them, run, restore.
    gradcheck((input, ...ps) => {
      if (ps.every((p, i) => p === params[i])) return net.forward(input);
      net.loadStateDict(new Map(named.map(([k], i) => [k, ps[i]])));
      const y = net.forward(input);
      net.loadStateDict(original);
      return y;
    }, [x, ...params]);
  });
  net.dispose();
});
