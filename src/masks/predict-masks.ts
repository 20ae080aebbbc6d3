// Inference on photos larger than the training size: the network runs on overlapping square
// windows and the window outputs are blended with a weight that falls off towards the window
// edge (where a convolutional net sees padding instead of context), then normalised by the
// summed weight. For a net without spatial context (1x1 convolutions) every window agrees
// with the whole-image output, so the blend reproduces it: the test of this file.
import * as torch from '../torch/index.js';

type Tensor = torch.Tensor;

export type BlendMode = 'gaussian' | 'uniform';

export interface WindowOptions {
  /** Window side; images no larger than this run whole. */
  patch: number;
  /** Fraction of the window shared with its neighbour (0 <= overlap < 1); default 0.5. */
  overlap?: number;
  blend?: BlendMode;
}

/** Window starts along one axis: regular steps, the last flush with the end. */
export function windowStarts(length: number, patch: number, stride: number): number[] {
  if (length <= patch) return [0];
  const starts: number[] = [];
  for (let s = 0; s + patch < length; s += stride) starts.push(s);
  starts.push(length - patch);
  return starts;
}

/** Blending weight of one window [p, p] on `device`: a Gaussian (sigma p/4) bump, or ones. Never zero. */
export function blendWeight(p: number, mode: BlendMode, device: torch.Device = 'cpu'): Tensor {
  if (mode === 'uniform') return torch.ones([p, p], { device });
  return torch.tidy(() => {
    const c = (p - 1) / 2;
    const sigma = p / 4;
    const g = torch.arange(0, p, 1, { device }).sub(c).div(sigma).square().mul(-0.5).exp();
    return g.reshape([p, 1]).mul(g.reshape([1, p])).clamp(1e-3, null);
  });
}

/**
 * Runs `net` ([N, C, h, w] -> [N, K, h, w]) over `images` [N, C, H, W] in windows and blends
 * the outputs into [N, K, H, W] on the images' device. No gradients.
 */
export function slidingWindow(net: (x: Tensor) => Tensor, images: Tensor, o: WindowOptions): Tensor {
  const [N, , H, W] = images.shape;
  const p = o.patch;
  const overlap = o.overlap ?? 0.5;
  if (!Number.isInteger(p) || p < 1) throw new Error(`slidingWindow: patch must be a positive integer, got ${p}`);
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`slidingWindow: overlap must be in [0, 1), got ${overlap}`);
  if (H <= p && W <= p) return torch.noGrad(() => net(images));
  const ph = Math.min(p, H);
  const pw = Math.min(p, W);
  const stride = Math.max(1, Math.round(p * (1 - overlap)));
  return torch.noGrad(() => torch.tidy(() => {
    const device = images.device;
    const weightFull = blendWeight(p, o.blend ?? 'gaussian', device);
    const weight = weightFull.narrow(0, 0, ph).narrow(1, 0, pw);
    let out = null as Tensor | null;
    const wsum = torch.zeros([H, W], { device });
    for (const y of windowStarts(H, p, stride)) {
      for (const x of windowStarts(W, p, stride)) {
        torch.tidy(() => {
          const pred = net(images.narrow(2, y, ph).narrow(3, x, pw));
          if (!out) out = torch.keep(torch.zeros([N, pred.shape[1], H, W], { device }));
          (out as Tensor).narrow(2, y, ph).narrow(3, x, pw).add_(pred.mul(weight));
          wsum.narrow(0, y, ph).narrow(1, x, pw).add_(weight);
        });
      }
    }
    const result = out!.div(wsum);
    out!.dispose();
    return result;
  }));
}

/** Probabilities [N, K, S, S] of a model trained at side `trainedSize`, for images at any side S. */
export function predictAtScale(net: (x: Tensor) => Tensor, images: Tensor, trainedSize: number, window = 512): Tensor {
  const S = images.shape[2];
  return torch.noGrad(() => torch.tidy(() => {
    const x = S === trainedSize ? images : torch.F.interpolate(images, { size: trainedSize, mode: 'bilinear', alignCorners: false });
    const probs = slidingWindow((t) => net(t).sigmoid(), x, { patch: window, overlap: 0.25 });
    return S === trainedSize ? probs : torch.F.interpolate(probs, { size: S, mode: 'bilinear', alignCorners: false }).clamp(0, 1);
  }));
}
