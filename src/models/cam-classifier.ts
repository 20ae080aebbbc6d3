// Image-level classifier for weakly supervised maps (method.md section 1: LM and PM come
// from class activation maps, Zhou et al. 2016): a ResNet backbone (models/resnet.ts), global
// average pooling and one linear layer, one logit per class (multi-label: each class is
// "the channel has any positive pixel"). Because the head is linear after GAP, the map
// CAM_c = sum_k w_ck F_k(x, y) over the last feature maps F localises what drives logit c.
import * as torch from '../torch/index.js';
import { ResNet, type ResNetDepth } from './resnet.js';

type Tensor = torch.Tensor;

export interface CamClassifierConfig {
  numClasses: number;
  depth?: ResNetDepth;
  baseWidth?: number;
}

export class CamClassifier extends torch.nn.Module {
  readonly config: Required<CamClassifierConfig>;
  readonly backbone: ResNet;

  constructor(config: CamClassifierConfig) {
    super();
    this.config = { depth: 18, baseWidth: 64, ...config };
    // The backbone's own fc is the CAM head: [numClasses, featureDim] weights.
    this.backbone = this.registerModule('backbone', new ResNet({ depth: this.config.depth, numClasses: this.config.numClasses, baseWidth: this.config.baseWidth }));
  }

  /** Last feature maps before pooling: [N, featureDim, H/32, W/32]. */
  featureMaps(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`CamClassifier: expected images [N, 3, H, W], got shape [${s.join(', ')}]`);
    const b = this.backbone;
    return torch.tidy(() => {
      let y = b.bn1.forward(b.conv1.forward(x)).relu();
      y = torch.F.maxPool2d(y, 3, { stride: 2, padding: 1 });
      for (const stage of b.layers) y = stage.forward(y);
      return y;
    });
  }

  /** Logits [N, numClasses]. */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.backbone.head(this.featureMaps(x).mean([2, 3])));
  }

  /**
   * Unnormalised maps at feature resolution [N, numClasses, h, w]: sum_k w_ck F_k. Their
   * spatial mean plus the fc bias is exactly the logit (GAP and the linear head commute).
   */
  rawCams(features: Tensor): Tensor {
    const [N, D, h, w] = features.shape;
    const K = this.config.numClasses;
    return torch.tidy(() => torch.einsum('kd,ndp->nkp', this.backbone.fc.weight, features.reshape([N, D, h * w])).reshape([N, K, h, w]));
  }

  /**
   * Class activation maps [N, numClasses, H, W] at the input size, each map ReLU-ed and divided
   * by its own maximum, so it lies in [0, 1] per image (all zeros where nothing activates).
   * Also returns the logits from the same features.
   */
  camWithLogits(x: Tensor): { cams: Tensor; logits: Tensor } {
    const [, , H, W] = x.shape;
    return torch.tidy(() => {
      const f = this.featureMaps(x);
      const logits = this.backbone.head(f.mean([2, 3]));
      const up = torch.F.interpolate(this.rawCams(f), { size: [H, W], mode: 'bilinear', alignCorners: false }).relu();
      const peak = up.amax([2, 3], true).clamp(1e-12, null);
      return { cams: up.div(peak), logits };
    });
  }

  cam(x: Tensor): Tensor {
    const { cams, logits } = this.camWithLogits(x);
    logits.dispose();
    return cams;
  }
}
