// U-Net (Ronneberger et al. 2015) for the condition channels of method.md section 1
// (vessels, optic disc, MA/HE/EX/SE): one logit map per target. `depth` is the number of
// 2x downsamplings and `baseWidth` the channels of the first level (doubled per level).
// Inputs of any size are padded (replicate) to a multiple of 2^depth and the output is
// cropped back, so the net can run on whole photos as well as on training patches.
import * as torch from '../torch/index.js';

const { nn } = torch;
type Tensor = torch.Tensor;

export type UNetNorm = 'batch' | 'instance';
export type UNetUpsampling = 'bilinear' | 'transpose';

export interface UNetConfig {
  inChannels?: number;
  /** One logit map per target. */
  outChannels: number;
  depth?: number;
  baseWidth?: number;
  norm?: UNetNorm;
  up?: UNetUpsampling;
}

export const UNET_DEFAULTS = { inChannels: 3, depth: 4, baseWidth: 32, norm: 'batch', up: 'bilinear' } as const;

/** Two 3x3 conv + norm + ReLU, the unit of every level. */
class DoubleConv extends nn.Sequential {
  constructor(cin: number, cout: number, norm: UNetNorm) {
    const makeNorm = () => (norm === 'batch' ? new nn.BatchNorm2d(cout) : new nn.InstanceNorm2d(cout, { affine: true }));
    super(
      new nn.Conv2d(cin, cout, 3, { padding: 1, bias: false }), makeNorm(), new nn.ReLU(),
      new nn.Conv2d(cout, cout, 3, { padding: 1, bias: false }), makeNorm(), new nn.ReLU(),
    );
  }
}

/** One decoder level: upsample the deeper features, concatenate the skip, DoubleConv. */
class UpLevel extends nn.Module {
  readonly up: torch.nn.ConvTranspose2d | null;
  readonly conv: DoubleConv;

  constructor(cdeep: number, cskip: number, norm: UNetNorm, mode: UNetUpsampling) {
    super();
    // Transposed conv halves the channels as it upsamples; bilinear keeps them (fewer weights).
    this.up = mode === 'transpose' ? this.registerModule('up', new nn.ConvTranspose2d(cdeep, cskip, 2, { stride: 2 })) : null;
    const cup = mode === 'transpose' ? cskip : cdeep;
    this.conv = this.registerModule('conv', new DoubleConv(cup + cskip, cskip, norm));
  }

  forward(deep: Tensor, skip: Tensor): Tensor {
    const up = this.up ? this.up.forward(deep) : torch.F.interpolate(deep, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
    return this.conv.forward(torch.cat([skip, up], 1));
  }
}

export class UNet extends nn.Module {
  readonly config: Required<UNetConfig>;
  readonly inc: DoubleConv;
  readonly downs: torch.nn.ModuleList<DoubleConv>;
  readonly ups: torch.nn.ModuleList<UpLevel>;
  readonly outc: torch.nn.Conv2d;

  constructor(config: UNetConfig) {
    super();
    const c = { ...UNET_DEFAULTS, ...config } as Required<UNetConfig>;
    const int = (name: string, v: number, min: number) => {
      if (!Number.isInteger(v) || v < min) throw new Error(`UNet: ${name} must be an integer >= ${min}, got ${v}`);
    };
    int('inChannels', c.inChannels, 1);
    int('outChannels', c.outChannels, 1);
    int('depth', c.depth, 1);
    int('baseWidth', c.baseWidth, 1);
    if (c.norm !== 'batch' && c.norm !== 'instance') throw new Error(`UNet: norm must be "batch" or "instance", got ${JSON.stringify(c.norm)}`);
    if (c.up !== 'bilinear' && c.up !== 'transpose') throw new Error(`UNet: up must be "bilinear" or "transpose", got ${JSON.stringify(c.up)}`);
    this.config = c;
    const width = (level: number) => c.baseWidth * 2 ** level;
    this.inc = this.registerModule('inc', new DoubleConv(c.inChannels, width(0), c.norm));
    this.downs = this.registerModule('downs', new nn.ModuleList<DoubleConv>());
    for (let l = 1; l <= c.depth; l++) this.downs.append(new DoubleConv(width(l - 1), width(l), c.norm));
    this.ups = this.registerModule('ups', new nn.ModuleList<UpLevel>());
    for (let l = c.depth - 1; l >= 0; l--) this.ups.append(new UpLevel(width(l + 1), width(l), c.norm, c.up));
    this.outc = this.registerModule('outc', new nn.Conv2d(width(0), c.outChannels, 1));
  }

  /** Logits [N, outChannels, H, W] for images [N, inChannels, H, W] of any H, W. */
  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.config.inChannels) {
      throw new Error(`UNet: expected input [N, ${this.config.inChannels}, H, W], got shape [${s.join(', ')}]`);
    }
    return torch.tidy(() => {
      const [H, W] = [s[2], s[3]];
      const m = 2 ** this.config.depth;
      const ph = (m - (H % m)) % m;
      const pw = (m - (W % m)) % m;
      let y = ph || pw ? torch.F.pad(x, [0, pw, 0, ph], 'replicate') : x;
      y = this.inc.forward(y);
      const skips: Tensor[] = [];
      for (const down of this.downs) {
        skips.push(y);
        y = down.forward(torch.F.maxPool2d(y, 2));
      }
      for (const up of this.ups) y = up.forward(y, skips.pop()!);
      y = this.outc.forward(y);
      return ph || pw ? y.narrow(2, 0, H).narrow(3, 0, W).contiguous() : y;
    });
  }
}
