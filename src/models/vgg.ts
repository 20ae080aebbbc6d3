// VGG-16 (Simonyan & Zisserman 2015) as torchvision builds it, plain (`vgg16`) or with batch
// norm (`vgg16_bn`): modules numbered `features.N` and `classifier.N` exactly as there, so
// torchvision ImageNet weights load directly. `widthDivisor` and `hidden` shrink it for tests.
import * as torch from '../torch/index.js';

const { nn } = torch;
type Tensor = torch.Tensor;

// Configuration "D": channel counts, 'M' = 2x2 max pool.
const VGG16_LAYOUT: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

export interface VGGConfig {
  numClasses: number;
  /** torchvision's vgg16_bn (conv, BN, ReLU) rather than vgg16 (conv, ReLU). */
  batchNorm?: boolean;
  /** Divides every conv's channels (1 = torchvision). */
  widthDivisor?: number;
  /** Width of the two hidden fully connected layers (torchvision: 4096). */
  hidden?: number;
  dropout?: number;
}

export class VGG extends torch.nn.Module {
  readonly config: Required<VGGConfig>;
  /** Length of features(x): the second hidden layer (4096 at full size). */
  readonly featureDim: number;
  readonly features_: torch.nn.Sequential;
  readonly classifier: torch.nn.Sequential;

  constructor(config: VGGConfig) {
    super();
    const c: Required<VGGConfig> = { batchNorm: false, widthDivisor: 1, hidden: 4096, dropout: 0.5, ...config };
    for (const k of ['numClasses', 'widthDivisor', 'hidden'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`VGG: ${k} must be a positive integer, got ${c[k]}`);
    }
    this.config = c;
    const features = new nn.Sequential();
    let cin = 3;
    for (const v of VGG16_LAYOUT) {
      if (v === 'M') {
        features.append(new nn.MaxPool2d(2, { stride: 2 }));
        continue;
      }
      const cout = Math.max(1, Math.floor(v / c.widthDivisor));
      features.append(new nn.Conv2d(cin, cout, 3, { padding: 1 }));
      if (c.batchNorm) features.append(new nn.BatchNorm2d(cout));
      features.append(new nn.ReLU());
      cin = cout;
    }
    // Registered as "features" (torchvision's key); the field is features_ because
    // features(x) is the method every grader backbone has.
    this.features_ = this.registerModule('features', features);
    this.classifier = this.registerModule('classifier', new nn.Sequential(
      new nn.Linear(cin * 7 * 7, c.hidden), new nn.ReLU(), new nn.Dropout(c.dropout),
      new nn.Linear(c.hidden, c.hidden), new nn.ReLU(), new nn.Dropout(c.dropout),
      new nn.Linear(c.hidden, c.numClasses),
    ));
    this.featureDim = c.hidden;
    // torchvision's initialisation.
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
        if (m.bias) nn.init.zeros_(m.bias);
      } else if (m instanceof nn.Linear) {
        nn.init.normal_(m.weight, 0, 0.01);
        if (m.bias) nn.init.zeros_(m.bias);
      }
    }
  }

  /** The second hidden layer's activations [N, hidden] (after its dropout, off in eval). */
  features(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`VGG: expected images [N, 3, H, W], got shape [${s.join(', ')}]`);
    return torch.tidy(() => {
      let y = torch.F.adaptiveAvgPool2d(this.features_.forward(x), 7).flatten(1);
      for (let i = 0; i < 6; i++) y = this.classifier.at(i).forward(y);
      return y;
    });
  }

  /**
   * Feature maps at five depths: the last ReLU of each block, just before its max pool
   * (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3). The perceptual loss's fallback taps these.
   */
  stageOutputs(x: Tensor): Tensor[] {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`VGG: expected images [N, 3, H, W], got shape [${s.join(', ')}]`);
    return torch.tidy(() => {
      const out: Tensor[] = [];
      let y = x;
      for (let i = 0; i < this.features_.length; i++) {
        const m = this.features_.at(i);
        if (m instanceof nn.MaxPool2d) out.push(y);
        y = m.forward(y) as Tensor;
      }
      return out;
    });
  }

  /** Logits from features(x): the replaceable last layer. */
  head(features: Tensor): Tensor {
    return this.classifier.at(6).forward(features);
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.head(this.features(x)));
  }

  headKeys(): string[] {
    return ['classifier.6.weight', 'classifier.6.bias'];
  }
}
