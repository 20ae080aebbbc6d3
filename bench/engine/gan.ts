// Part 2: one training step of the small conv GAN at 128x128 (architecture in
// bench/python/gan_step.py's docstring), written functionally over raw parameter tensors
// so that it depends only on the tensor library (src/torch/nn modules are not used).
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { Adam } from '../../src/torch/optim/index.js';
import type { RawTensor } from './weights.js';

const { F } = torch;
export const LR = 2e-4;
export const BETAS: [number, number] = [0.5, 0.999];
const LAMBDA_L1 = 10;

type Params = Map<string, Tensor>;

function get(p: Params, name: string): Tensor {
  const t = p.get(name);
  if (!t) throw new Error(`GAN benchmark: parameter "${name}" missing from the weights file`);
  return t;
}
function conv(p: Params, name: string, x: Tensor, stride = 1, padding = 0): Tensor {
  return F.conv2d(x, get(p, `${name}.w`), get(p, `${name}.b`), { stride, padding });
}
function normRelu(x: Tensor): Tensor {
  return F.relu(F.instanceNorm(x));
}
function reflect3(x: Tensor): Tensor {
  return F.pad(x, [3, 3, 3, 3], 'reflect');
}

/** Spatial self-attention: x + gamma * softmax(Q K^T) V over the H*W positions (scale 1). */
function spatialAttention(p: Params, h: Tensor): Tensor {
  const [b, c, hh, ww] = h.shape;
  const tokens = (t: Tensor) => t.flatten(2).transpose(1, 2); // [B, C', N] -> [B, N, C']
  const q = tokens(conv(p, 'g.att.q', h));
  const k = tokens(conv(p, 'g.att.k', h));
  const v = tokens(conv(p, 'g.att.v', h));
  const o = F.scaledDotProductAttention(q, k, v, { scale: 1 }).transpose(1, 2).reshape(b, c, hh, ww);
  return h.add(get(p, 'g.att.gamma').mul(o));
}

export function generator(p: Params, c: Tensor): Tensor {
  let h = normRelu(conv(p, 'g.c0', reflect3(c)));
  h = normRelu(conv(p, 'g.d1', h, 2, 1));
  h = normRelu(conv(p, 'g.d2', h, 2, 1));
  for (let i = 0; i < 2; i++) {
    const r = normRelu(conv(p, `g.r${i}.c1`, h, 1, 1));
    h = h.add(F.instanceNorm(conv(p, `g.r${i}.c2`, r, 1, 1)));
  }
  h = spatialAttention(p, h);
  for (const name of ['g.u1', 'g.u2']) {
    h = normRelu(F.convTranspose2d(h, get(p, `${name}.w`), get(p, `${name}.b`), { stride: 2, padding: 1, outputPadding: 1 }));
  }
  return conv(p, 'g.out', reflect3(h)).tanh();
}

export function discriminator(p: Params, x: Tensor): Tensor {
  let h = F.leakyRelu(conv(p, 'd.c1', x, 2, 1), 0.2);
  h = F.leakyRelu(F.instanceNorm(conv(p, 'd.c2', h, 2, 1)), 0.2);
  h = F.leakyRelu(F.instanceNorm(conv(p, 'd.c3', h, 2, 1)), 0.2);
  h = F.leakyRelu(F.instanceNorm(conv(p, 'd.c4', h, 1, 1)), 0.2);
  return conv(p, 'd.out', h, 1, 1);
}

function bce(logits: Tensor, target: 0 | 1): Tensor {
  const labels = target === 1 ? torch.onesLike(logits) : torch.zerosLike(logits);
  return F.binaryCrossEntropyWithLogits(logits, labels);
}

/** Holds the parameters, optimisers and the (fixed) batch; step() is one G + D update. */
export class GanTrainer {
  private readonly p: Params = new Map();
  private readonly gParams: Tensor[] = [];
  private readonly dParams: Tensor[] = [];
  private readonly optG: Adam;
  private readonly optD: Adam;
  private readonly c: Tensor;
  private readonly x: Tensor;

  constructor(weights: Map<string, RawTensor>) {
    const input = (name: string) => {
      const w = weights.get(name);
      if (!w) throw new Error(`GAN benchmark: "${name}" missing from the weights file`);
      return torch.keep(torch.tensor(w.data, w.shape));
    };
    for (const [name, w] of weights) {
      if (name.startsWith('input.')) continue;
      const t = torch.keep(torch.tensor(w.data, w.shape)).requiresGrad_(true);
      this.p.set(name, t);
      (name.startsWith('g.') ? this.gParams : this.dParams).push(t);
    }
    this.c = input('input.c');
    this.x = input('input.x');
    this.optG = new Adam(this.gParams, { lr: LR, betas: BETAS });
    this.optD = new Adam(this.dParams, { lr: LR, betas: BETAS });
  }

  /** One step as pix2pix orders it: D update on (real, detached fake), then G update. */
  step(): [number, number] {
    return torch.tidy(() => {
      const { p, c, x } = this;
      const fake = generator(p, c);
      const predFake = discriminator(p, torch.cat([c, fake.detach()], 1));
      const predReal = discriminator(p, torch.cat([c, x], 1));
      const lossD = bce(predFake, 0).add(bce(predReal, 1)).mul(0.5);
      this.optD.zeroGrad();
      lossD.backward();
      this.optD.step();
      for (const t of this.dParams) t.requiresGrad_(false); // G's backward needs no D weight gradients
      const pred = discriminator(p, torch.cat([c, fake], 1));
      const lossG = bce(pred, 1).add(F.l1Loss(fake, x).mul(LAMBDA_L1));
      this.optG.zeroGrad();
      lossG.backward();
      this.optG.step();
      for (const t of this.dParams) t.requiresGrad_(true);
      return [lossD.item(), lossG.item()] as [number, number];
    });
  }

  dispose(): void {
    this.optG.disposeState();
    this.optD.disposeState();
    torch.dispose([[...this.p.values()], this.c, this.x]);
  }
}
