// Adaptive instance normalisation (method.md section 4, Eq. 2 of the paper): each sample's
// channels are normalised by their own statistics, then scaled and shifted by values an
// affine map computes from the grading code w.
import * as torch from '../torch/index.js';
import { nn } from '../torch/index.js';

export const ADAIN_EPS = 1e-5;

export class AdaIN extends nn.Module {
  /** w -> [gamma offset (C), beta (C)]. */
  readonly affine: nn.Linear;

  constructor(readonly numChannels: number, readonly wDim: number) {
    super();
    this.affine = this.registerModule('affine', new nn.Linear(wDim, 2 * numChannels));
  }

  /** x [N, C, H, W], w [N, wDim] -> [N, C, H, W]. */
  forward(x: torch.Tensor, w: torch.Tensor): torch.Tensor {
    const xs = x.shape, ws = w.shape;
    if (xs.length !== 4 || xs[1] !== this.numChannels) throw new Error(`AdaIN: expected features [N, ${this.numChannels}, H, W], got shape [${xs.join(', ')}]`);
    if (ws.length !== 2 || ws[0] !== xs[0] || ws[1] !== this.wDim) throw new Error(`AdaIN: expected w [${xs[0]}, ${this.wDim}] for features [${xs.join(', ')}], got shape [${ws.join(', ')}]`);
    return torch.tidy(() => {
      // Biased variance over H x W per sample and channel, as instance norm.
      const normalized = torch.F.instanceNorm(x, {}, true, 0.1, ADAIN_EPS);
      const [gammaOffset, beta] = this.affine.forward(w).chunk(2, 1);
      // [decision] gamma = 1 + affine(w): at initialisation the block is plain instance norm.
      const gamma = gammaOffset.add(1).reshape(xs[0], this.numChannels, 1, 1);
      return normalized.mul(gamma).add(beta.reshape(xs[0], this.numChannels, 1, 1));
    });
  }
}
