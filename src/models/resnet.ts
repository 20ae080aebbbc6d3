// ResNet-18 / ResNet-50 (He et al. 2016) as torchvision builds them: the same modules under
// the same names (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc), so a torchvision
// ImageNet state dict (.pth or safetensors) loads without a mapping table, and a grader saved
// here loads into `torchvision.models.resnet18(num_classes=5)`. `baseWidth` shrinks every
// stage for tests; 64 is torchvision's.
import * as torch from '../torch/index.js';

const { nn } = torch;
type Tensor = torch.Tensor;

export type ResNetDepth = 18 | 50;

export interface ResNetConfig {
  depth: ResNetDepth;
  numClasses: number;
  /** Channels of conv1 and layer1 (torchvision: 64); later stages double it. */
  baseWidth?: number;
}

function conv3x3(cin: number, cout: number, stride = 1): torch.nn.Conv2d {
  return new nn.Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
}
function conv1x1(cin: number, cout: number, stride = 1): torch.nn.Conv2d {
  return new nn.Conv2d(cin, cout, 1, { stride, bias: false });
}

interface Block extends torch.nn.Module {
  forward(x: Tensor): Tensor;
}

/** ResNet-18's block: two 3x3 convs; a 1x1 projection when the shape changes. */
class BasicBlock extends torch.nn.Module implements Block {
  static readonly expansion = 1;
  readonly conv1: torch.nn.Conv2d;
  readonly bn1: torch.nn.BatchNorm2d;
  readonly conv2: torch.nn.Conv2d;
  readonly bn2: torch.nn.BatchNorm2d;
  readonly downsample: torch.nn.Sequential | null;

  constructor(cin: number, width: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(cin, width, stride));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(width));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width));
    this.bn2 = this.registerModule('bn2', new nn.BatchNorm2d(width));
    this.downsample = this.registerModule('downsample', projection(cin, width, stride));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return y.add(identity).relu();
    });
  }
}

/** ResNet-50's block: 1x1 reduce, 3x3 (stride here, as torchvision v1.5), 1x1 expand x4. */
class Bottleneck extends torch.nn.Module implements Block {
  static readonly expansion = 4;
  readonly conv1: torch.nn.Conv2d;
  readonly bn1: torch.nn.BatchNorm2d;
  readonly conv2: torch.nn.Conv2d;
  readonly bn2: torch.nn.BatchNorm2d;
  readonly conv3: torch.nn.Conv2d;
  readonly bn3: torch.nn.BatchNorm2d;
  readonly downsample: torch.nn.Sequential | null;

  constructor(cin: number, width: number, stride: number) {
    super();
    const out = width * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', conv1x1(cin, width));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(width));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, stride));
    this.bn2 = this.registerModule('bn2', new nn.BatchNorm2d(width));
    this.conv3 = this.registerModule('conv3', conv1x1(width, out));
    this.bn3 = this.registerModule('bn3', new nn.BatchNorm2d(out));
    this.downsample = this.registerModule('downsample', projection(cin, out, stride));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let y = this.bn1.forward(this.conv1.forward(x)).relu();
      y = this.bn2.forward(this.conv2.forward(y)).relu();
      y = this.bn3.forward(this.conv3.forward(y));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return y.add(identity).relu();
    });
  }
}

function projection(cin: number, cout: number, stride: number): torch.nn.Sequential | null {
  if (stride === 1 && cin === cout) return null;
  return new nn.Sequential(conv1x1(cin, cout, stride), new nn.BatchNorm2d(cout));
}

const LAYOUT: Record<ResNetDepth, { block: typeof BasicBlock | typeof Bottleneck; blocks: [number, number, number, number] }> = {
  18: { block: BasicBlock, blocks: [2, 2, 2, 2] },
  50: { block: Bottleneck, blocks: [3, 4, 6, 3] },
};

export class ResNet extends torch.nn.Module {
  readonly config: Required<ResNetConfig>;
  /** Length of features(x): 512 (ResNet-18) or 2048 (ResNet-50) at baseWidth 64. */
  readonly featureDim: number;
  readonly conv1: torch.nn.Conv2d;
  readonly bn1: torch.nn.BatchNorm2d;
  readonly layers: torch.nn.Sequential[];
  readonly fc: torch.nn.Linear;

  constructor(config: ResNetConfig) {
    super();
    const baseWidth = config.baseWidth ?? 64;
    if (!(config.depth in LAYOUT)) throw new Error(`ResNet: depth must be 18 or 50, got ${config.depth}`);
    if (!Number.isInteger(baseWidth) || baseWidth < 1) throw new Error(`ResNet: baseWidth must be a positive integer, got ${baseWidth}`);
    if (!Number.isInteger(config.numClasses) || config.numClasses < 1) throw new Error(`ResNet: numClasses must be a positive integer, got ${config.numClasses}`);
    this.config = { depth: config.depth, numClasses: config.numClasses, baseWidth };
    const { block, blocks } = LAYOUT[config.depth];

    this.conv1 = this.registerModule('conv1', new nn.Conv2d(3, baseWidth, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(baseWidth));
    let cin = baseWidth;
    this.layers = blocks.map((n, i) => {
      const width = baseWidth * 2 ** i;
      const stage = new nn.Sequential();
      for (let b = 0; b < n; b++) {
        stage.append(new block(cin, width, b === 0 && i > 0 ? 2 : 1));
        cin = width * block.expansion;
      }
      return this.registerModule(`layer${i + 1}`, stage);
    });
    this.featureDim = cin;
    this.fc = this.registerModule('fc', new nn.Linear(cin, config.numClasses));
    // torchvision's initialisation: He normal (fan_out) for convs, BN weight 1 and bias 0.
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
    }
  }

  /** Globally average-pooled output of layer4: [N, featureDim]. */
  features(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`ResNet: expected images [N, 3, H, W], got shape [${s.join(', ')}]`);
    return torch.tidy(() => {
      let y = this.bn1.forward(this.conv1.forward(x)).relu();
      y = torch.F.maxPool2d(y, 3, { stride: 2, padding: 1 });
      for (const stage of this.layers) y = stage.forward(y);
      return y.mean([2, 3]);
    });
  }

  /**
   * Feature maps at five depths: relu(bn1(conv1(x))) and the outputs of layer1..layer4
   * (strides 2, 4, 8, 16, 32). The perceptual loss's fallback taps these as VGG's relu_1s.
   */
  stageOutputs(x: Tensor): Tensor[] {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`ResNet: expected images [N, 3, H, W], got shape [${s.join(', ')}]`);
    return torch.tidy(() => {
      const out = [this.bn1.forward(this.conv1.forward(x)).relu()];
      let y = torch.F.maxPool2d(out[0], 3, { stride: 2, padding: 1 });
      for (const stage of this.layers) out.push(y = stage.forward(y));
      return out;
    });
  }

  /** Logits from features(x): the replaceable classifier. */
  head(features: Tensor): Tensor {
    return this.fc.forward(features);
  }

  /** Class logits [N, numClasses]. */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.head(this.features(x)));
  }

  /** State dict keys of the classifier, which a pretrained ImageNet file has for 1000 classes. */
  headKeys(): string[] {
    return ['fc.weight', 'fc.bias'];
  }
}
