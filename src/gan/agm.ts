// The adaptive grading manipulation block (method.md section 4): the feature map is
// concatenated with Gaussian noise (a quarter of its channels), fused back by a 1x1 conv,
// and restyled by AdaIN with the grading code w, then ReLU.
import * as torch from '../torch/index.js';
import { nn } from '../torch/index.js';
import { AdaIN } from './adain.js';

export class AGMBlock extends nn.Module {
  readonly noiseChannels: number;
  readonly fuse: nn.Conv2d;
  readonly adain: AdaIN;

  constructor(readonly channels: number, wDim: number, noiseChannelDivisor = 4) {
    super();
    if (channels % noiseChannelDivisor !== 0) throw new Error(`AGMBlock: channels (${channels}) must be divisible by noiseChannelDivisor (${noiseChannelDivisor})`);
    this.noiseChannels = channels / noiseChannelDivisor;
    this.fuse = this.registerModule('fuse', new nn.Conv2d(channels + this.noiseChannels, channels, 1));
    this.adain = this.registerModule('adain', new AdaIN(channels, wDim));
  }

  /** The noise shape this block draws for features x [N, C, H, W]. */
  noiseShape(x: torch.Tensor): number[] {
    const [n, , h, w] = x.shape;
    return [n, this.noiseChannels, h, w];
  }

  /**
   * x [N, C, H, W], w [N, wDim]; noise [N, C/4, H, W] if given (tests, seeded synthesis),
   * else drawn from torch.randn (the global generator, seedable with manualSeed).
   */
  forward(x: torch.Tensor, w: torch.Tensor, noise?: torch.Tensor): torch.Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.channels) throw new Error(`AGMBlock: expected features [N, ${this.channels}, H, W], got shape [${s.join(', ')}]`);
    const shape = this.noiseShape(x);
    if (noise && noise.shape.join() !== shape.join()) throw new Error(`AGMBlock: noise must have shape [${shape.join(', ')}], got [${noise.shape.join(', ')}]`);
    return torch.tidy(() => {
      const n = noise ?? torch.randn(shape, { dtype: x.dtype, device: x.device });
      const fused = this.fuse.forward(torch.cat([x, n], 1));
      return torch.F.relu(this.adain.forward(fused, w));
    });
  }
}
