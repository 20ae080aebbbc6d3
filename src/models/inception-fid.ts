// The Inception-v3 that FID is defined on (method.md section 9): the TensorFlow graph of
// inception-2015-12-05 as pytorch-fid ports it (fid_inception_v3). It is torchvision's
// Inception3 with 1008 classes and no auxiliary head, except for three quirks of the TF graph:
// the average pools inside Mixed_5b..5d, 6b..6e and 7b do not count the zero padding, and
// Mixed_7c pools with a max instead of an average. Parameter names are those of pytorch-fid's
// pt_inception-2015-12-05-6726825d.pth, so that file loads without a mapping. The blocks are
// shared with the grader's torchvision Inception-v3 (inception-blocks.ts).
//
// Features are pool3: the 2048-d global average after Mixed_7c. Inputs are [-1, 1] images
// resized bilinearly (align_corners = false) to 299 x 299, as pytorch-fid does.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import * as torch from '../torch/index.js';
import { BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE, stemForward } from './inception-blocks.js';

const { nn, F } = torch;
type Tensor = torch.Tensor;

export const INCEPTION_SIZE = 299;
export const POOL3_DIM = 2048;
export const INCEPTION_CLASSES = 1008;
/** The file pytorch-fid downloads; its name ends in the first 8 hex digits of its SHA-256. */
export const FID_WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth';
export const FID_WEIGHTS_URL = `https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/${FID_WEIGHTS_FILE}`;
export const FID_WEIGHTS_SHA256_PREFIX = '6726825d';

export class InceptionFid extends nn.Module {
  readonly Conv2d_1a_3x3 = this.registerModule('Conv2d_1a_3x3', new BasicConv2d(3, 32, 3, { stride: 2 }));
  readonly Conv2d_2a_3x3 = this.registerModule('Conv2d_2a_3x3', new BasicConv2d(32, 32, 3));
  readonly Conv2d_2b_3x3 = this.registerModule('Conv2d_2b_3x3', new BasicConv2d(32, 64, 3, { padding: 1 }));
  readonly Conv2d_3b_1x1 = this.registerModule('Conv2d_3b_1x1', new BasicConv2d(64, 80, 1));
  readonly Conv2d_4a_3x3 = this.registerModule('Conv2d_4a_3x3', new BasicConv2d(80, 192, 3));
  // The TF graph's pooling quirks (inception-blocks.ts BranchPool): padding-free average
  // pools in 5b..5d, 6b..6e and 7b, a max pool in 7c.
  readonly Mixed_5b = this.registerModule('Mixed_5b', new InceptionA(192, 32, 'avg-tf'));
  readonly Mixed_5c = this.registerModule('Mixed_5c', new InceptionA(256, 64, 'avg-tf'));
  readonly Mixed_5d = this.registerModule('Mixed_5d', new InceptionA(288, 64, 'avg-tf'));
  readonly Mixed_6a = this.registerModule('Mixed_6a', new InceptionB(288));
  readonly Mixed_6b = this.registerModule('Mixed_6b', new InceptionC(768, 128, 'avg-tf'));
  readonly Mixed_6c = this.registerModule('Mixed_6c', new InceptionC(768, 160, 'avg-tf'));
  readonly Mixed_6d = this.registerModule('Mixed_6d', new InceptionC(768, 160, 'avg-tf'));
  readonly Mixed_6e = this.registerModule('Mixed_6e', new InceptionC(768, 192, 'avg-tf'));
  readonly Mixed_7a = this.registerModule('Mixed_7a', new InceptionD(768));
  readonly Mixed_7b = this.registerModule('Mixed_7b', new InceptionE(1280, 'avg-tf'));
  readonly Mixed_7c = this.registerModule('Mixed_7c', new InceptionE(2048, 'max'));
  readonly fc = this.registerModule('fc', new nn.Linear(POOL3_DIM, INCEPTION_CLASSES));

  constructor() {
    super();
    this.eval();
  }

  /** [N, 3, H, W] in [-1, 1] -> the 299 x 299 input the network was trained on. */
  private prepare(images: Tensor): Tensor {
    const s = images.shape;
    if (s.length !== 4 || s[1] !== 3) throw new Error(`InceptionFid: expected images [N, 3, H, W] in [-1, 1], got shape [${s.join(', ')}]`);
    if (images.dtype !== 'float32' && images.dtype !== 'float64') throw new Error(`InceptionFid: expected floating images in [-1, 1], got dtype ${images.dtype}`);
    if (s[2] === INCEPTION_SIZE && s[3] === INCEPTION_SIZE) return images;
    return F.interpolate(images, { size: INCEPTION_SIZE, mode: 'bilinear', alignCorners: false });
  }

  /** pool3 features [N, 2048]: the vectors FID and KID are computed on. */
  features(images: Tensor): Tensor {
    return torch.tidy(() => {
      let x = stemForward(this, this.prepare(images));
      for (const block of [this.Mixed_5b, this.Mixed_5c, this.Mixed_5d, this.Mixed_6a, this.Mixed_6b, this.Mixed_6c,
        this.Mixed_6d, this.Mixed_6e, this.Mixed_7a, this.Mixed_7b, this.Mixed_7c]) {
        x = block.forward(x);
      }
      return F.adaptiveAvgPool2d(x, 1).flatten(1);
    });
  }

  /** Logits over the 1008 classes of the TF graph (for an Inception Score). */
  forward(images: Tensor): Tensor {
    return torch.tidy(() => this.fc.forward(this.features(images)));
  }
}

/**
 * Loads weights in pytorch-fid's layout (a .pth in zip or legacy format, or a safetensors
 * file of the same state dict). `num_batches_tracked` may be absent (files written before
 * PyTorch 0.4.1 lack it; it plays no part in evaluation); every other key must match.
 */
export function loadInceptionFidWeights(model: InceptionFid, path: string): void {
  if (!existsSync(path)) throw new Error(`${path}: no such Inception weights file (expected ${FID_WEIGHTS_FILE}, from ${FID_WEIGHTS_URL})`);
  const sd = path.endsWith('.safetensors') ? torch.io.loadSafetensors(path) : torch.io.loadPth(path);
  try {
    for (const [key, t] of model.stateDict()) if (key.endsWith('num_batches_tracked') && !sd.has(key)) sd.set(key, t.clone());
    try {
      model.loadStateDict(sd);
    } catch (err) {
      throw new Error(`${path}: not FID Inception-v3 weights in pytorch-fid's layout: ${(err as Error).message}`);
    }
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  model.eval();
}

/** Builds the network and loads a weights file (see loadInceptionFidWeights). */
export function loadInceptionFid(path: string): InceptionFid {
  const model = new InceptionFid();
  try {
    loadInceptionFidWeights(model, path);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** SHA-256 of a file, hex; streamed, so a 100 MB weights file costs no memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
