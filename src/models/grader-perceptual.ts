// The perceptual loss's documented fallback (method.md section 7): without VGG-19 weights, the
// trained grader's backbone gives the five feature maps instead (ResNet: relu after conv1/bn1
// and layer1..layer4; VGG-16: the ReLU before each pool; Inception-v3: Conv2d_2b, Conv2d_4a,
// Mixed_5d, 6e, 7c), weighted 1/32 .. 1 like VGG's taps.
// It is frozen (eval mode, so batch norm uses its running statistics; no parameter gradients),
// yet differentiable in its input, so G learns through it. perceptualExtractor (gan/vgg19.ts)
// announces it with the loud warning; this file only builds it.
import * as torch from '../torch/index.js';
import type { FeatureExtractor } from '../gan/vgg19.js';
import { Grader } from './grader.js';

export class GraderFeatureExtractor implements FeatureExtractor {
  readonly name: string;

  /** Takes ownership of `grader`: puts it in eval mode and turns its parameter gradients off. */
  constructor(readonly grader: Grader) {
    grader.eval().requiresGrad_(false);
    const b = grader.config.backbone;
    const taps = b.startsWith('resnet') ? 'relu(bn1(conv1)), layer1..layer4' : b === 'inception_v3' ? 'Conv2d_2b_3x3, Conv2d_4a_3x3, Mixed_5d, Mixed_6e, Mixed_7c' : 'relu before each max pool';
    this.name = `trained grader's ${b} backbone (5 levels: ${taps})`;
  }

  extract(image: torch.Tensor): torch.Tensor[] {
    return this.grader.stageOutputs(image);
  }

  to(target: { device: torch.Device }): this {
    this.grader.to(target);
    return this;
  }

  dispose(): void {
    this.grader.dispose();
  }
}

/** The fallback extractor from a grader file (or grader training checkpoint), frozen. */
export function loadGraderFeatureExtractor(path: string): GraderFeatureExtractor {
  return new GraderFeatureExtractor(Grader.load(path));
}
