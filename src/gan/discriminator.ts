// Multi-scale discriminators (method.md section 6, pix2pixHD): D_1..D_n see
// concat(c, image) at R, R/2, R/4. Each is four strided conv4x4 layers (LeakyReLU 0.2,
// InstanceNorm on layers 2-4) with two heads: an adversarial logit (a 1-channel patch map
// averaged to one number) and grade logits for the auxiliary classification loss, from a
// global average pool of the last layer's output or (discriminator.classPooling 'preNorm')
// of its conv output before InstanceNorm. With discriminator.classInput 'imageOnly' the grade
// logits come from a second pass of the same D_n on its input with the condition map zeroed
// (docs/gan.md, options).
import * as torch from '../torch/index.js';
import { nn } from '../torch/index.js';
import { conditionChannels, type ClassInput, type ClassPooling, type DrganConfig } from './config.js';
import { downsample, selectConditionChannels } from './generator.js';

export interface DiscriminatorOutput {
  /** Outputs of the conv layers after their activation, for feature matching. */
  features: torch.Tensor[];
  /** [N] adversarial logits: the mean of `patchLogits`. */
  logit: torch.Tensor;
  /** [N, 1, h, w] the adversarial head's map before averaging (loss.adversarialTarget 'patch'). */
  patchLogits: torch.Tensor;
  /** [N, numGrades] classification logits, or null when ablation.noClsLoss. */
  classLogits: torch.Tensor | null;
}

// pix2pixHD's kernel 4 with padding ceil(3/2) = 2: sizes go H -> H/2 + 1, so even an
// 8-pixel input keeps a 2x2 map after four layers.
const KW = 4, PAD = 2;

export class PatchDiscriminator extends nn.Module {
  readonly layers: nn.ModuleList<nn.Sequential>;
  readonly advHead: nn.Conv2d;
  readonly classHead: nn.Linear | null;

  constructor(readonly inChannels: number, ndf: number, numLayers: number, numGrades: number, withClassHead: boolean,
    readonly classPooling: ClassPooling = 'normalized') {
    super();
    if (classPooling !== 'normalized' && classPooling !== 'preNorm') throw new Error(`PatchDiscriminator: classPooling must be 'normalized' or 'preNorm', got ${JSON.stringify(classPooling)}`);
    const seqs: nn.Sequential[] = [];
    let c = inChannels;
    for (let i = 0; i < numLayers; i++) {
      const out = ndf * 2 ** Math.min(i, 3);
      const conv = new nn.Conv2d(c, out, KW, { stride: 2, padding: PAD });
      // [decision, as pix2pixHD] no norm on the first layer.
      seqs.push(i === 0 ? new nn.Sequential(conv, new nn.LeakyReLU(0.2)) : new nn.Sequential(conv, new nn.InstanceNorm2d(out), new nn.LeakyReLU(0.2)));
      c = out;
    }
    this.layers = this.registerModule('layers', new nn.ModuleList(seqs));
    this.advHead = this.registerModule('advHead', new nn.Conv2d(c, 1, KW, { stride: 1, padding: PAD }));
    this.classHead = this.registerModule('classHead', withClassHead ? new nn.Linear(c, numGrades) : null);
  }

  /**
   * x [N, inChannels, H, W] -> features, adversarial logits and class logits. With `classX`
   * (same shape) the class logits come from a second pass of the layers on it instead of x;
   * features and adversarial logits stay those of x.
   */
  forward(x: torch.Tensor, classX?: torch.Tensor): DiscriminatorOutput {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.inChannels) throw new Error(`PatchDiscriminator: expected input [N, ${this.inChannels}, H, W], got shape [${s.join(', ')}]`);
    if (classX && classX.shape.join() !== s.join()) throw new Error(`PatchDiscriminator: the class head's input must have the input's shape [${s.join(', ')}], got [${classX.shape.join(', ')}]`);
    return torch.tidy(() => {
      const main = this.trunk(x);
      const patchLogits = this.advHead.forward(main.h);
      const logit = patchLogits.mean([1, 2, 3]);
      let classLogits: torch.Tensor | null = null;
      if (this.classHead) {
        const src = classX ? this.trunk(classX) : main;
        classLogits = this.classHead.forward((this.classPooling === 'preNorm' ? src.preNorm : src.h).mean([2, 3]));
      }
      return { features: main.features, logit, patchLogits, classLogits };
    });
  }

  /** The conv layers: every layer's output, the last one, and the last conv's output before its InstanceNorm. */
  private trunk(x: torch.Tensor): { features: torch.Tensor[]; h: torch.Tensor; preNorm: torch.Tensor } {
    const features: torch.Tensor[] = [];
    let h = x;
    // The last conv's output, before its InstanceNorm takes each channel's spatial mean away.
    let preNorm = x;
    for (const layer of this.layers) {
      for (const [j, m] of [...layer].entries()) {
        h = m.forward(h) as torch.Tensor;
        if (j === 0) preNorm = h;
      }
      features.push(h);
    }
    return { features, h, preNorm };
  }
}

export class MultiscaleDiscriminator extends nn.Module {
  readonly discriminators: nn.ModuleList<PatchDiscriminator>;
  readonly conditionChannels: number;
  readonly classInput: ClassInput;

  constructor(readonly cfg: DrganConfig) {
    super();
    const d = cfg.discriminator;
    this.conditionChannels = conditionChannels(cfg).length;
    // Absent in configs written before the option existed: the single pass.
    this.classInput = d.classInput ?? 'conditionAndImage';
    if (this.classInput !== 'conditionAndImage' && this.classInput !== 'imageOnly') {
      throw new Error(`MultiscaleDiscriminator: discriminator.classInput must be 'conditionAndImage' or 'imageOnly', got ${JSON.stringify(this.classInput)}`);
    }
    const inC = this.conditionChannels + 3;
    this.discriminators = this.registerModule('discriminators', new nn.ModuleList(
      Array.from({ length: d.numD }, () => new PatchDiscriminator(inC, d.ndf, d.numLayers, cfg.numGrades, !cfg.ablation.noClsLoss, d.classPooling ?? 'normalized')),
    ));
  }

  /**
   * c [N, 8 or condCh, S, S] and image [N, 3, S, S] at the same size S (R, or R/2 in
   * stage 1) -> one output per discriminator, finest first.
   */
  forward(c: torch.Tensor, image: torch.Tensor): DiscriminatorOutput[] {
    return torch.tidy(() => {
      const cond = selectConditionChannels(c, this.cfg);
      const cs = cond.shape, is = image.shape;
      if (is.length !== 4 || is[1] !== 3 || is[0] !== cs[0] || is[2] !== cs[2] || is[3] !== cs[3]) {
        throw new Error(`MultiscaleDiscriminator: expected image [${cs[0]}, 3, ${cs[2]}, ${cs[3]}] matching the condition map [${c.shape.join(', ')}], got shape [${is.join(', ')}]`);
      }
      let x = torch.cat([cond, image], 1);
      // No second pass where it would feed no head (ablation.noClsLoss).
      const second = this.classInput === 'imageOnly' && !this.cfg.ablation.noClsLoss;
      return this.discriminators.map((d, i) => {
        if (i > 0) x = downsample(x);
        // Zeroed at each scale from x: the pool works per channel and keeps zeros zero, so this
        // is the downsampled zeroed input without a second pooling.
        return d.forward(x, second ? this.withoutCondition(x) : undefined);
      });
    });
  }

  /** concat(c, image) with c's channels set to 0: same layout, so the same weights apply. */
  private withoutCondition(x: torch.Tensor): torch.Tensor {
    return torch.cat([torch.zerosLike(x.narrow(1, 0, this.conditionChannels)), x.narrow(1, this.conditionChannels, 3)], 1);
  }
}
