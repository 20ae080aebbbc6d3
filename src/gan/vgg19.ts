// VGG-19's convolutional part, laid out exactly as torchvision's `vgg19().features` so its
// state dict (`features.0.weight`, ..., `features.34.bias`) loads without a mapping table,
// and the feature extractor interface the perceptual loss needs (method.md section 7).
//
// Weights are not downloaded here: the caller reads torchvision's .pth (or a safetensors
// copy) into a Map and passes it to loadVgg19. Without them, perceptualExtractor takes
// another extractor (the trained grader's backbone) and says so LOUDLY; a randomly
// initialised VGG is never used silently.
import * as torch from '../torch/index.js';
import { nn } from '../torch/index.js';

/** A frozen network that turns images in [-1, 1] into a list of feature maps. */
export interface FeatureExtractor {
  /** Shown in logs and reports, so a fallback is never mistaken for VGG-19. */
  readonly name: string;
  extract(image: torch.Tensor): torch.Tensor[];
  /** Moves its weights to a device (a training run on a GPU moves it next to G). */
  to?(target: { device: torch.Device }): unknown;
}

/** torchvision's configuration "E": channel counts, "M" for 2x2 max pooling. */
const VGG19_CFG: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'];
/** Indices in `features` of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1. */
export const VGG19_TAPS = [1, 6, 11, 20, 29] as const;
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

export class VGG19Features extends nn.Module implements FeatureExtractor {
  readonly name = 'vgg19 (torchvision ImageNet weights)';
  readonly features: nn.Sequential;
  private readonly mean = this.registerBuffer('mean', torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), { persistent: false });
  private readonly std = this.registerBuffer('std', torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1), { persistent: false });

  constructor() {
    super();
    const layers: nn.Module[] = [];
    let c = 3;
    for (const v of VGG19_CFG) {
      if (v === 'M') { layers.push(new nn.MaxPool2d(2, { stride: 2 })); continue; }
      layers.push(new nn.Conv2d(c, v, 3, { padding: 1 }), new nn.ReLU());
      c = v;
    }
    this.features = this.registerModule('features', new nn.Sequential(...layers));
  }

  /** x already ImageNet-normalised -> relu1_1..relu5_1 (layers after relu5_1 are not run). */
  forward(x: torch.Tensor): torch.Tensor[] {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`VGG19Features: expected RGB images [N, 3, H, W], got shape [${s.join(', ')}]`);
    return torch.tidy(() => {
      const taps: torch.Tensor[] = [];
      let h = x;
      for (let i = 0; i <= VGG19_TAPS[VGG19_TAPS.length - 1]; i++) {
        h = this.features.at(i).forward(h) as torch.Tensor;
        if ((VGG19_TAPS as readonly number[]).includes(i)) taps.push(h);
      }
      return taps;
    });
  }

  /** Images in [-1, 1] -> features, with torchvision's ImageNet normalisation. */
  extract(image: torch.Tensor): torch.Tensor[] {
    return torch.tidy(() => this.forward(image.add(1).mul(0.5).sub(this.mean.to({ dtype: image.dtype, device: image.device })).div(this.std.to({ dtype: image.dtype, device: image.device }))));
  }
}

/**
 * A frozen VGG-19 from a torchvision state dict: the whole model's (classifier keys are
 * ignored) or just `features.*`. Every `features` key must be present with its shape.
 */
export function loadVgg19(stateDict: Map<string, torch.Tensor>): VGG19Features {
  const features = new Map([...stateDict].filter(([k]) => k.startsWith('features.')));
  if (features.size === 0) {
    const sample = [...stateDict.keys()].slice(0, 5).join(', ');
    throw new Error(`loadVgg19: no "features.*" keys in the state dict (first keys: ${sample || 'none'}); expected torchvision's vgg19 state dict`);
  }
  const vgg = new VGG19Features();
  vgg.loadStateDict(features);
  vgg.eval().requiresGrad_(false);
  return vgg;
}

export interface PerceptualExtractorOptions {
  /** torchvision VGG-19 state dict, read from .pth or safetensors by the caller. */
  vggStateDict?: Map<string, torch.Tensor> | null;
  /** Used only when no VGG weights are given, e.g. the trained grader's backbone. */
  fallback?: FeatureExtractor | null;
  /** Where the warning goes (default console.warn). */
  warn?: (message: string) => void;
}

/**
 * The perceptual loss's network: VGG-19 when its weights are given; else the fallback,
 * announced with a loud warning; with neither, an error (never a random network).
 */
export function perceptualExtractor(o: PerceptualExtractorOptions): FeatureExtractor {
  if (o.vggStateDict) return loadVgg19(o.vggStateDict);
  if (!o.fallback) {
    throw new Error('perceptual loss: no VGG-19 weights were given and no fallback feature extractor; pass torchvision\'s vgg19 state dict, a fallback (the trained grader\'s backbone), or turn the loss off with ablation.noPerceptual');
  }
  const bar = '!'.repeat(78);
  (o.warn ?? console.warn)(`${bar}\nWARNING: no VGG-19 weights: the perceptual loss uses "${o.fallback.name}" instead.\n` +
    'Results are NOT comparable with the paper\'s VGG-19 perceptual loss. To use the real one,\n' +
    'give torchvision\'s vgg19 ImageNet weights (.pth or safetensors; drgan train gan --vgg FILE):\n' +
    'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth, or in Python\n' +
    '  torch.save(torchvision.models.vgg19(weights="IMAGENET1K_V1").state_dict(), "vgg19.pth")\n' +
    bar);
  return o.fallback;
}
