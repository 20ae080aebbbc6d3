// Inception-v3 (Szegedy et al. 2016) as torchvision 0.14 builds it (Inception3): the same
// modules under the same names (Conv2d_1a_3x3 .. Mixed_7c, AuxLogits registered between
// Mixed_6e and Mixed_7a, fc), so torchvision's ImageNet file inception_v3_google-0cc3c7bd.pth
// loads without a mapping table and a grader saved here loads into
// `torchvision.models.inception_v3(num_classes=5, aux_logits=True, transform_input=True,
// init_weights=False)`. The paper's other grader baseline besides ResNet-50.
//
// The blocks are shared with the FID network (inception-blocks.ts); this one pools as
// torchvision does (zero padding counted in the branch average pools). `widthDivisor`
// narrows every branch for tests; 1 is torchvision's.
import * as torch from '../torch/index.js';
import {
  BasicConv2d, chain, dividedWidth, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE,
  stemForward, type Width,
} from './inception-blocks.js';

const { nn, F } = torch;
type Tensor = torch.Tensor;

/** torchvision's smallest input: below 75 px the grid shrinks to nothing before Mixed_7c. */
export const INCEPTION_V3_MIN_SIZE = 75;
/**
 * The auxiliary head pools Mixed_6e 5x5 with stride 3, then convolves 5x5: it needs a 17 x 17
 * Mixed_6e map, which a 299 px input gives (torchvision fails below; here the head sits out).
 */
export const INCEPTION_V3_AUX_MIN_SIZE = 299;
const AUX_MIN_GRID = 17;

// transform_input: turns ImageNet-normalised input back into the [-1, 1] range the Google
// weights were trained on.
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

export interface InceptionV3Config {
  numClasses: number;
  /** Divides every branch's width (channels become max(1, floor(c / d))); 1 = torchvision. */
  widthDivisor?: number;
  /** torchvision's aux_logits: the auxiliary classifier on Mixed_6e, which runs in training only. */
  auxLogits?: boolean;
  /** torchvision's transform_input (on in `inception_v3(weights=...)`): see IMAGENET_MEAN above. */
  transformInput?: boolean;
  /** Dropout before fc (torchvision: 0.5). */
  dropout?: number;
}

/** torchvision's InceptionAux: 17 x 17 x 768 -> 5 x 5 -> 1 x 1 -> logits. */
class InceptionAux extends nn.Module {
  readonly conv0: BasicConv2d;
  readonly conv1: BasicConv2d;
  readonly fc: torch.nn.Linear;

  constructor(cin: number, numClasses: number, w: Width) {
    super();
    this.conv0 = this.registerModule('conv0', new BasicConv2d(cin, w(128), 1));
    this.conv1 = this.registerModule('conv1', new BasicConv2d(w(128), w(768), 5));
    this.fc = this.registerModule('fc', new nn.Linear(w(768), numClasses));
  }

  forward(x: Tensor): Tensor {
    const y = chain(F.avgPool2d(x, 5, { stride: 3 }), this.conv0, this.conv1);
    return this.fc.forward(F.adaptiveAvgPool2d(y, 1).flatten(1));
  }
}

export class InceptionV3 extends nn.Module {
  readonly config: Required<InceptionV3Config>;
  /** Length of features(x): 2048 at full width. */
  readonly featureDim: number;
  readonly Conv2d_1a_3x3: BasicConv2d;
  readonly Conv2d_2a_3x3: BasicConv2d;
  readonly Conv2d_2b_3x3: BasicConv2d;
  readonly Conv2d_3b_1x1: BasicConv2d;
  readonly Conv2d_4a_3x3: BasicConv2d;
  readonly Mixed_5b: InceptionA;
  readonly Mixed_5c: InceptionA;
  readonly Mixed_5d: InceptionA;
  readonly Mixed_6a: InceptionB;
  readonly Mixed_6b: InceptionC;
  readonly Mixed_6c: InceptionC;
  readonly Mixed_6d: InceptionC;
  readonly Mixed_6e: InceptionC;
  readonly AuxLogits: InceptionAux | null;
  readonly Mixed_7a: InceptionD;
  readonly Mixed_7b: InceptionE;
  readonly Mixed_7c: InceptionE;
  readonly fc: torch.nn.Linear;

  constructor(config: InceptionV3Config) {
    super();
    const c: Required<InceptionV3Config> = { widthDivisor: 1, auxLogits: true, transformInput: false, dropout: 0.5, ...config };
    for (const k of ['numClasses', 'widthDivisor'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`InceptionV3: ${k} must be a positive integer, got ${c[k]}`);
    }
    if (!(c.dropout >= 0 && c.dropout <= 1)) throw new Error(`InceptionV3: dropout must be in [0, 1], got ${c.dropout}`);
    this.config = c;
    const w = dividedWidth(c.widthDivisor);
    const reg = <M extends torch.nn.Module>(name: string, m: M): M => this.registerModule(name, m);

    this.Conv2d_1a_3x3 = reg('Conv2d_1a_3x3', new BasicConv2d(3, w(32), 3, { stride: 2 }));
    this.Conv2d_2a_3x3 = reg('Conv2d_2a_3x3', new BasicConv2d(w(32), w(32), 3));
    this.Conv2d_2b_3x3 = reg('Conv2d_2b_3x3', new BasicConv2d(w(32), w(64), 3, { padding: 1 }));
    this.Conv2d_3b_1x1 = reg('Conv2d_3b_1x1', new BasicConv2d(w(64), w(80), 1));
    this.Conv2d_4a_3x3 = reg('Conv2d_4a_3x3', new BasicConv2d(w(80), w(192), 3));
    this.Mixed_5b = reg('Mixed_5b', new InceptionA(w(192), 32, 'avg', w));
    this.Mixed_5c = reg('Mixed_5c', new InceptionA(this.Mixed_5b.outChannels, 64, 'avg', w));
    this.Mixed_5d = reg('Mixed_5d', new InceptionA(this.Mixed_5c.outChannels, 64, 'avg', w));
    this.Mixed_6a = reg('Mixed_6a', new InceptionB(this.Mixed_5d.outChannels, w));
    this.Mixed_6b = reg('Mixed_6b', new InceptionC(this.Mixed_6a.outChannels, 128, 'avg', w));
    this.Mixed_6c = reg('Mixed_6c', new InceptionC(this.Mixed_6b.outChannels, 160, 'avg', w));
    this.Mixed_6d = reg('Mixed_6d', new InceptionC(this.Mixed_6c.outChannels, 160, 'avg', w));
    this.Mixed_6e = reg('Mixed_6e', new InceptionC(this.Mixed_6d.outChannels, 192, 'avg', w));
    this.AuxLogits = this.registerModule('AuxLogits', c.auxLogits ? new InceptionAux(this.Mixed_6e.outChannels, c.numClasses, w) : null);
    this.Mixed_7a = reg('Mixed_7a', new InceptionD(this.Mixed_6e.outChannels, w));
    this.Mixed_7b = reg('Mixed_7b', new InceptionE(this.Mixed_7a.outChannels, 'avg', w));
    this.Mixed_7c = reg('Mixed_7c', new InceptionE(this.Mixed_7b.outChannels, 'avg', w));
    this.featureDim = this.Mixed_7c.outChannels;
    this.fc = reg('fc', new nn.Linear(this.featureDim, c.numClasses));

    // torchvision's init_weights: truncated N(0, 0.1) on [-2, 2] for every conv and linear
    // weight, N(0, 0.001) for AuxLogits.fc (its `stddev` attribute; the 0.01 it sets on
    // AuxLogits.conv1 sits on the BasicConv2d, which the loop skips, so that conv gets 0.1).
    // Bounds 20+ standard deviations out never bite, so a clamped normal draws the same law.
    // Linear biases keep PyTorch's default; batch norm starts at weight 1, bias 0.
    const auxFc = this.AuxLogits?.fc;
    for (const m of this.modules()) {
      if (!(m instanceof nn.Conv2d || m instanceof nn.Linear)) continue;
      torch.noGrad(() => nn.init.normal_(m.weight, 0, m === auxFc ? 0.001 : 0.1).clamp_(-2, 2));
    }
  }

  /** [N, 3, H, W] -> what the stem sees; refuses inputs below torchvision's 75 px. */
  private prepare(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`InceptionV3: expected images [N, 3, H, W], got shape [${s.join(', ')}]`);
    if (s[2] < INCEPTION_V3_MIN_SIZE || s[3] < INCEPTION_V3_MIN_SIZE) {
      throw new Error(`InceptionV3: input ${s[2]} x ${s[3]} is too small; Inception-v3 needs at least ${INCEPTION_V3_MIN_SIZE} x ${INCEPTION_V3_MIN_SIZE} pixels (as torchvision), ${INCEPTION_V3_AUX_MIN_SIZE} for its auxiliary head`);
    }
    if (!this.config.transformInput) return x;
    return torch.cat(IMAGENET_MEAN.map((mean, ch) => x.select(1, ch).unsqueeze(1).mul(IMAGENET_STD[ch] / 0.5).add((mean - 0.5) / 0.5)), 1);
  }

  private mixed6(x: Tensor): Tensor {
    let y = stemForward(this, this.prepare(x));
    for (const b of [this.Mixed_5b, this.Mixed_5c, this.Mixed_5d, this.Mixed_6a, this.Mixed_6b, this.Mixed_6c, this.Mixed_6d, this.Mixed_6e]) y = b.forward(y);
    return y;
  }

  private pooled7(mixed6e: Tensor): Tensor {
    const y = chain(mixed6e, this.Mixed_7a, this.Mixed_7b, this.Mixed_7c);
    return F.adaptiveAvgPool2d(y, 1).flatten(1);
  }

  /** Globally average-pooled output of Mixed_7c: [N, featureDim] (before the dropout). */
  features(x: Tensor): Tensor {
    return torch.tidy(() => this.pooled7(this.mixed6(x)));
  }

  /**
   * Logits and, in training mode, the auxiliary head's logits (torchvision's InceptionOutputs);
   * aux is null in eval mode, without the head, or when Mixed_6e is under 17 x 17 (input
   * under 299 px).
   */
  forwardWithAux(x: Tensor): { logits: Tensor; aux: Tensor | null } {
    return torch.tidy(() => {
      const m6 = this.mixed6(x);
      const [h, w] = m6.shape.slice(2);
      const aux = this.AuxLogits && this.training && h >= AUX_MIN_GRID && w >= AUX_MIN_GRID ? this.AuxLogits.forward(m6) : null;
      return { logits: this.head(this.pooled7(m6)), aux };
    });
  }

  /**
   * Feature maps at five depths (strides about 2, 4, 8, 16, 32): Conv2d_2b_3x3,
   * Conv2d_4a_3x3, Mixed_5d, Mixed_6e and Mixed_7c. The perceptual loss's fallback taps these.
   */
  stageOutputs(x: Tensor): Tensor[] {
    return torch.tidy(() => {
      const s2 = chain(this.prepare(x), this.Conv2d_1a_3x3, this.Conv2d_2a_3x3, this.Conv2d_2b_3x3);
      const s4 = chain(F.maxPool2d(s2, 3, { stride: 2 }), this.Conv2d_3b_1x1, this.Conv2d_4a_3x3);
      const s8 = chain(F.maxPool2d(s4, 3, { stride: 2 }), this.Mixed_5b, this.Mixed_5c, this.Mixed_5d);
      let s16 = s8;
      for (const b of [this.Mixed_6a, this.Mixed_6b, this.Mixed_6c, this.Mixed_6d, this.Mixed_6e]) s16 = b.forward(s16);
      return [s2, s4, s8, s16, chain(s16, this.Mixed_7a, this.Mixed_7b, this.Mixed_7c)];
    });
  }

  /** Logits from features(x): dropout (training only), then fc. */
  head(features: Tensor): Tensor {
    return this.fc.forward(F.dropout(features, this.config.dropout, this.training));
  }

  /** Class logits [N, numClasses] (the main head only). */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.head(this.features(x)));
  }

  /** State dict keys of the classifiers, which torchvision's ImageNet file has for 1000 classes. */
  headKeys(): string[] {
    return ['fc.weight', 'fc.bias', ...(this.AuxLogits ? ['AuxLogits.fc.weight', 'AuxLogits.fc.bias'] : [])];
  }
}
