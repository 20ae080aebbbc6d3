// The Inception-v3 that FID is defined on (method.md section 9): the TensorFlow graph of
// inception-2015-12-05 as pytorch-fid ports it (fid_inception_v3). It is torchvision's
// Inception3 with 1008 classes and no auxiliary head, except for three quirks of the TF graph:
// the average pools inside Mixed_5b..5d, 6b..6e and 7b do not count the zero padding, and
// Mixed_7c pools with a max instead of an average. Parameter names are those of pytorch-fid's
// pt_inception-2015-12-05-6726825d.pth, so that file loads without a mapping.
//
// Features are pool3: the 2048-d global average after Mixed_7c. Inputs are [-1, 1] images
// resized bilinearly (align_corners = false) to 299 x 299, as pytorch-fid does.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import * as torch from '../torch/index.js';

const { nn, F } = torch;
type Tensor = torch.Tensor;
type Pair = number | [number, number];

export const INCEPTION_SIZE = 299;
export const POOL3_DIM = 2048;
export const INCEPTION_CLASSES = 1008;
/** The file pytorch-fid downloads; its name ends in the first 8 hex digits of its SHA-256. */
export const FID_WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth';
export const FID_WEIGHTS_URL = `https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/${FID_WEIGHTS_FILE}`;
export const FID_WEIGHTS_SHA256_PREFIX = '6726825d';

/** Conv (no bias) + batch norm (TF's eps 0.001) + ReLU; torchvision's BasicConv2d. */
class BasicConv2d extends nn.Module {
  readonly conv: torch.nn.Conv2d;
  readonly bn: torch.nn.BatchNorm2d;

  constructor(cin: number, cout: number, kernel: Pair, o: { stride?: Pair; padding?: Pair } = {}) {
    super();
    this.conv = this.registerModule('conv', new nn.Conv2d(cin, cout, kernel, { ...o, bias: false }));
    this.bn = this.registerModule('bn', new nn.BatchNorm2d(cout, { eps: 0.001 }));
  }

  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}

function chain(x: Tensor, ...convs: BasicConv2d[]): Tensor {
  return convs.reduce((y, c) => c.forward(y), x);
}

/** TF's 3x3 average pool: padded positions are left out of the mean (count_include_pad = false). */
function tfAvgPool(x: Tensor): Tensor {
  return F.avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false });
}

/** Mixed_5b..5d (FIDInceptionA). */
class InceptionA extends nn.Module {
  readonly branch1x1: BasicConv2d;
  readonly branch5x5_1: BasicConv2d;
  readonly branch5x5_2: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(cin: number, poolFeatures: number) {
    super();
    this.branch1x1 = this.registerModule('branch1x1', new BasicConv2d(cin, 64, 1));
    this.branch5x5_1 = this.registerModule('branch5x5_1', new BasicConv2d(cin, 48, 1));
    this.branch5x5_2 = this.registerModule('branch5x5_2', new BasicConv2d(48, 64, 5, { padding: 2 }));
    this.branch3x3dbl_1 = this.registerModule('branch3x3dbl_1', new BasicConv2d(cin, 64, 1));
    this.branch3x3dbl_2 = this.registerModule('branch3x3dbl_2', new BasicConv2d(64, 96, 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.registerModule('branch3x3dbl_3', new BasicConv2d(96, 96, 3, { padding: 1 }));
    this.branch_pool = this.registerModule('branch_pool', new BasicConv2d(cin, poolFeatures, 1));
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      this.branch1x1.forward(x),
      chain(x, this.branch5x5_1, this.branch5x5_2),
      chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3),
      this.branch_pool.forward(tfAvgPool(x)),
    ], 1);
  }
}

/** Mixed_6a: 35 -> 17 grid reduction. */
class InceptionB extends nn.Module {
  readonly branch3x3: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;

  constructor(cin: number) {
    super();
    this.branch3x3 = this.registerModule('branch3x3', new BasicConv2d(cin, 384, 3, { stride: 2 }));
    this.branch3x3dbl_1 = this.registerModule('branch3x3dbl_1', new BasicConv2d(cin, 64, 1));
    this.branch3x3dbl_2 = this.registerModule('branch3x3dbl_2', new BasicConv2d(64, 96, 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.registerModule('branch3x3dbl_3', new BasicConv2d(96, 96, 3, { stride: 2 }));
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      this.branch3x3.forward(x),
      chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3),
      F.maxPool2d(x, 3, { stride: 2 }),
    ], 1);
  }
}

/** Mixed_6b..6e (FIDInceptionC): factorised 7x7 convolutions. */
class InceptionC extends nn.Module {
  readonly branch1x1: BasicConv2d;
  readonly branch7x7_1: BasicConv2d;
  readonly branch7x7_2: BasicConv2d;
  readonly branch7x7_3: BasicConv2d;
  readonly branch7x7dbl_1: BasicConv2d;
  readonly branch7x7dbl_2: BasicConv2d;
  readonly branch7x7dbl_3: BasicConv2d;
  readonly branch7x7dbl_4: BasicConv2d;
  readonly branch7x7dbl_5: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(cin: number, c7: number) {
    super();
    const row = { padding: [0, 3] as [number, number] };
    const col = { padding: [3, 0] as [number, number] };
    this.branch1x1 = this.registerModule('branch1x1', new BasicConv2d(cin, 192, 1));
    this.branch7x7_1 = this.registerModule('branch7x7_1', new BasicConv2d(cin, c7, 1));
    this.branch7x7_2 = this.registerModule('branch7x7_2', new BasicConv2d(c7, c7, [1, 7], row));
    this.branch7x7_3 = this.registerModule('branch7x7_3', new BasicConv2d(c7, 192, [7, 1], col));
    this.branch7x7dbl_1 = this.registerModule('branch7x7dbl_1', new BasicConv2d(cin, c7, 1));
    this.branch7x7dbl_2 = this.registerModule('branch7x7dbl_2', new BasicConv2d(c7, c7, [7, 1], col));
    this.branch7x7dbl_3 = this.registerModule('branch7x7dbl_3', new BasicConv2d(c7, c7, [1, 7], row));
    this.branch7x7dbl_4 = this.registerModule('branch7x7dbl_4', new BasicConv2d(c7, c7, [7, 1], col));
    this.branch7x7dbl_5 = this.registerModule('branch7x7dbl_5', new BasicConv2d(c7, 192, [1, 7], row));
    this.branch_pool = this.registerModule('branch_pool', new BasicConv2d(cin, 192, 1));
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      this.branch1x1.forward(x),
      chain(x, this.branch7x7_1, this.branch7x7_2, this.branch7x7_3),
      chain(x, this.branch7x7dbl_1, this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5),
      this.branch_pool.forward(tfAvgPool(x)),
    ], 1);
  }
}

/** Mixed_7a: 17 -> 8 grid reduction. */
class InceptionD extends nn.Module {
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2: BasicConv2d;
  readonly branch7x7x3_1: BasicConv2d;
  readonly branch7x7x3_2: BasicConv2d;
  readonly branch7x7x3_3: BasicConv2d;
  readonly branch7x7x3_4: BasicConv2d;

  constructor(cin: number) {
    super();
    this.branch3x3_1 = this.registerModule('branch3x3_1', new BasicConv2d(cin, 192, 1));
    this.branch3x3_2 = this.registerModule('branch3x3_2', new BasicConv2d(192, 320, 3, { stride: 2 }));
    this.branch7x7x3_1 = this.registerModule('branch7x7x3_1', new BasicConv2d(cin, 192, 1));
    this.branch7x7x3_2 = this.registerModule('branch7x7x3_2', new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] }));
    this.branch7x7x3_3 = this.registerModule('branch7x7x3_3', new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] }));
    this.branch7x7x3_4 = this.registerModule('branch7x7x3_4', new BasicConv2d(192, 192, 3, { stride: 2 }));
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      chain(x, this.branch3x3_1, this.branch3x3_2),
      chain(x, this.branch7x7x3_1, this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4),
      F.maxPool2d(x, 3, { stride: 2 }),
    ], 1);
  }
}

/**
 * Mixed_7b (FIDInceptionE_1, 'avg': padding-free average pool) and Mixed_7c
 * (FIDInceptionE_2, 'max': the TF graph's max pool, which pytorch-fid keeps for fidelity).
 */
class InceptionE extends nn.Module {
  readonly branch1x1: BasicConv2d;
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2a: BasicConv2d;
  readonly branch3x3_2b: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3a: BasicConv2d;
  readonly branch3x3dbl_3b: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(cin: number, readonly pool: 'avg' | 'max') {
    super();
    const row = { padding: [0, 1] as [number, number] };
    const col = { padding: [1, 0] as [number, number] };
    this.branch1x1 = this.registerModule('branch1x1', new BasicConv2d(cin, 320, 1));
    this.branch3x3_1 = this.registerModule('branch3x3_1', new BasicConv2d(cin, 384, 1));
    this.branch3x3_2a = this.registerModule('branch3x3_2a', new BasicConv2d(384, 384, [1, 3], row));
    this.branch3x3_2b = this.registerModule('branch3x3_2b', new BasicConv2d(384, 384, [3, 1], col));
    this.branch3x3dbl_1 = this.registerModule('branch3x3dbl_1', new BasicConv2d(cin, 448, 1));
    this.branch3x3dbl_2 = this.registerModule('branch3x3dbl_2', new BasicConv2d(448, 384, 3, { padding: 1 }));
    this.branch3x3dbl_3a = this.registerModule('branch3x3dbl_3a', new BasicConv2d(384, 384, [1, 3], row));
    this.branch3x3dbl_3b = this.registerModule('branch3x3dbl_3b', new BasicConv2d(384, 384, [3, 1], col));
    this.branch_pool = this.registerModule('branch_pool', new BasicConv2d(cin, 192, 1));
  }

  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3_1.forward(x);
    const d3 = chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2);
    const pooled = this.pool === 'max' ? F.maxPool2d(x, 3, { stride: 1, padding: 1 }) : tfAvgPool(x);
    return torch.cat([
      this.branch1x1.forward(x),
      this.branch3x3_2a.forward(b3), this.branch3x3_2b.forward(b3),
      this.branch3x3dbl_3a.forward(d3), this.branch3x3dbl_3b.forward(d3),
      this.branch_pool.forward(pooled),
    ], 1);
  }
}

export class InceptionFid extends nn.Module {
  readonly Conv2d_1a_3x3 = this.registerModule('Conv2d_1a_3x3', new BasicConv2d(3, 32, 3, { stride: 2 }));
  readonly Conv2d_2a_3x3 = this.registerModule('Conv2d_2a_3x3', new BasicConv2d(32, 32, 3));
  readonly Conv2d_2b_3x3 = this.registerModule('Conv2d_2b_3x3', new BasicConv2d(32, 64, 3, { padding: 1 }));
  readonly Conv2d_3b_1x1 = this.registerModule('Conv2d_3b_1x1', new BasicConv2d(64, 80, 1));
  readonly Conv2d_4a_3x3 = this.registerModule('Conv2d_4a_3x3', new BasicConv2d(80, 192, 3));
  readonly Mixed_5b = this.registerModule('Mixed_5b', new InceptionA(192, 32));
  readonly Mixed_5c = this.registerModule('Mixed_5c', new InceptionA(256, 64));
  readonly Mixed_5d = this.registerModule('Mixed_5d', new InceptionA(288, 64));
  readonly Mixed_6a = this.registerModule('Mixed_6a', new InceptionB(288));
  readonly Mixed_6b = this.registerModule('Mixed_6b', new InceptionC(768, 128));
  readonly Mixed_6c = this.registerModule('Mixed_6c', new InceptionC(768, 160));
  readonly Mixed_6d = this.registerModule('Mixed_6d', new InceptionC(768, 160));
  readonly Mixed_6e = this.registerModule('Mixed_6e', new InceptionC(768, 192));
  readonly Mixed_7a = this.registerModule('Mixed_7a', new InceptionD(768));
  readonly Mixed_7b = this.registerModule('Mixed_7b', new InceptionE(1280, 'avg'));
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
      let x = this.prepare(images);
      x = chain(x, this.Conv2d_1a_3x3, this.Conv2d_2a_3x3, this.Conv2d_2b_3x3);
      x = F.maxPool2d(x, 3, { stride: 2 });
      x = chain(x, this.Conv2d_3b_1x1, this.Conv2d_4a_3x3);
      x = F.maxPool2d(x, 3, { stride: 2 });
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
