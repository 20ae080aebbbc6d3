// The building blocks of Inception-v3 (Szegedy et al. 2016) as torchvision's inception.py
// names them, shared by the two networks built from them: the grader backbone
// (inception-v3.ts, torchvision's Inception3) and the FID network (inception-fid.ts,
// pytorch-fid's port of the TF graph). They differ only in how the pooled branch of blocks
// A, C and E pools (BranchPool), and the grader may be narrowed by a width function.
import * as torch from '../torch/index.js';

const { nn, F } = torch;
type Tensor = torch.Tensor;
type Pair = number | [number, number];

/**
 * Maps a published channel count to the built one: the identity for the published network,
 * max(1, floor(c / d)) for one narrowed by a width divisor d.
 */
export type Width = (channels: number) => number;

export const FULL_WIDTH: Width = (c) => c;

export function dividedWidth(divisor: number): Width {
  return (c) => Math.max(1, Math.floor(c / divisor));
}

/**
 * The pooled branch's 3x3 stride-1 pool: 'avg' is torchvision's (the zero padding counts in
 * the mean), 'avg-tf' the TF graph's (padded positions left out), 'max' the max pool that
 * the TF graph has in Mixed_7c.
 */
export type BranchPool = 'avg' | 'avg-tf' | 'max';

function poolBranch(x: Tensor, pool: BranchPool): Tensor {
  if (pool === 'max') return F.maxPool2d(x, 3, { stride: 1, padding: 1 });
  return F.avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: pool === 'avg' });
}

/** Conv (no bias) + batch norm (TF's eps 0.001) + ReLU; torchvision's BasicConv2d. */
export class BasicConv2d extends nn.Module {
  readonly conv: torch.nn.Conv2d;
  readonly bn: torch.nn.BatchNorm2d;

  constructor(readonly cin: number, readonly cout: number, kernel: Pair, o: { stride?: Pair; padding?: Pair } = {}) {
    super();
    this.conv = this.registerModule('conv', new nn.Conv2d(cin, cout, kernel, { ...o, bias: false }));
    this.bn = this.registerModule('bn', new nn.BatchNorm2d(cout, { eps: 0.001 }));
  }

  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}

/** Applies layers one after another. */
export function chain(x: Tensor, ...layers: { forward(x: Tensor): Tensor }[]): Tensor {
  return layers.reduce((y, l) => l.forward(y), x);
}

const ROW3 = { padding: [0, 1] as [number, number] };
const COL3 = { padding: [1, 0] as [number, number] };
const ROW7 = { padding: [0, 3] as [number, number] };
const COL7 = { padding: [3, 0] as [number, number] };

/** Mixed_5b..5d (InceptionA): 1x1, 5x5, double 3x3 and pooled branches. */
export class InceptionA extends nn.Module {
  readonly branch1x1: BasicConv2d;
  readonly branch5x5_1: BasicConv2d;
  readonly branch5x5_2: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;
  readonly branch_pool: BasicConv2d;
  readonly outChannels: number;

  constructor(cin: number, poolFeatures: number, readonly pool: 'avg' | 'avg-tf', w: Width = FULL_WIDTH) {
    super();
    this.branch1x1 = this.registerModule('branch1x1', new BasicConv2d(cin, w(64), 1));
    this.branch5x5_1 = this.registerModule('branch5x5_1', new BasicConv2d(cin, w(48), 1));
    this.branch5x5_2 = this.registerModule('branch5x5_2', new BasicConv2d(w(48), w(64), 5, { padding: 2 }));
    this.branch3x3dbl_1 = this.registerModule('branch3x3dbl_1', new BasicConv2d(cin, w(64), 1));
    this.branch3x3dbl_2 = this.registerModule('branch3x3dbl_2', new BasicConv2d(w(64), w(96), 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.registerModule('branch3x3dbl_3', new BasicConv2d(w(96), w(96), 3, { padding: 1 }));
    this.branch_pool = this.registerModule('branch_pool', new BasicConv2d(cin, w(poolFeatures), 1));
    this.outChannels = 2 * w(64) + w(96) + w(poolFeatures);
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      this.branch1x1.forward(x),
      chain(x, this.branch5x5_1, this.branch5x5_2),
      chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3),
      this.branch_pool.forward(poolBranch(x, this.pool)),
    ], 1);
  }
}

/** Mixed_6a (InceptionB): 35 -> 17 grid reduction. */
export class InceptionB extends nn.Module {
  readonly branch3x3: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;
  readonly outChannels: number;

  constructor(cin: number, w: Width = FULL_WIDTH) {
    super();
    this.branch3x3 = this.registerModule('branch3x3', new BasicConv2d(cin, w(384), 3, { stride: 2 }));
    this.branch3x3dbl_1 = this.registerModule('branch3x3dbl_1', new BasicConv2d(cin, w(64), 1));
    this.branch3x3dbl_2 = this.registerModule('branch3x3dbl_2', new BasicConv2d(w(64), w(96), 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.registerModule('branch3x3dbl_3', new BasicConv2d(w(96), w(96), 3, { stride: 2 }));
    this.outChannels = w(384) + w(96) + cin;
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      this.branch3x3.forward(x),
      chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3),
      F.maxPool2d(x, 3, { stride: 2 }),
    ], 1);
  }
}

/** Mixed_6b..6e (InceptionC): factorised 7x7 convolutions with c7 inner channels. */
export class InceptionC extends nn.Module {
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
  readonly outChannels: number;

  constructor(cin: number, c7: number, readonly pool: 'avg' | 'avg-tf', w: Width = FULL_WIDTH) {
    super();
    const c = w(c7);
    this.branch1x1 = this.registerModule('branch1x1', new BasicConv2d(cin, w(192), 1));
    this.branch7x7_1 = this.registerModule('branch7x7_1', new BasicConv2d(cin, c, 1));
    this.branch7x7_2 = this.registerModule('branch7x7_2', new BasicConv2d(c, c, [1, 7], ROW7));
    this.branch7x7_3 = this.registerModule('branch7x7_3', new BasicConv2d(c, w(192), [7, 1], COL7));
    this.branch7x7dbl_1 = this.registerModule('branch7x7dbl_1', new BasicConv2d(cin, c, 1));
    this.branch7x7dbl_2 = this.registerModule('branch7x7dbl_2', new BasicConv2d(c, c, [7, 1], COL7));
    this.branch7x7dbl_3 = this.registerModule('branch7x7dbl_3', new BasicConv2d(c, c, [1, 7], ROW7));
    this.branch7x7dbl_4 = this.registerModule('branch7x7dbl_4', new BasicConv2d(c, c, [7, 1], COL7));
    this.branch7x7dbl_5 = this.registerModule('branch7x7dbl_5', new BasicConv2d(c, w(192), [1, 7], ROW7));
    this.branch_pool = this.registerModule('branch_pool', new BasicConv2d(cin, w(192), 1));
    this.outChannels = 4 * w(192);
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      this.branch1x1.forward(x),
      chain(x, this.branch7x7_1, this.branch7x7_2, this.branch7x7_3),
      chain(x, this.branch7x7dbl_1, this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5),
      this.branch_pool.forward(poolBranch(x, this.pool)),
    ], 1);
  }
}

/** Mixed_7a (InceptionD): 17 -> 8 grid reduction. */
export class InceptionD extends nn.Module {
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2: BasicConv2d;
  readonly branch7x7x3_1: BasicConv2d;
  readonly branch7x7x3_2: BasicConv2d;
  readonly branch7x7x3_3: BasicConv2d;
  readonly branch7x7x3_4: BasicConv2d;
  readonly outChannels: number;

  constructor(cin: number, w: Width = FULL_WIDTH) {
    super();
    this.branch3x3_1 = this.registerModule('branch3x3_1', new BasicConv2d(cin, w(192), 1));
    this.branch3x3_2 = this.registerModule('branch3x3_2', new BasicConv2d(w(192), w(320), 3, { stride: 2 }));
    this.branch7x7x3_1 = this.registerModule('branch7x7x3_1', new BasicConv2d(cin, w(192), 1));
    this.branch7x7x3_2 = this.registerModule('branch7x7x3_2', new BasicConv2d(w(192), w(192), [1, 7], ROW7));
    this.branch7x7x3_3 = this.registerModule('branch7x7x3_3', new BasicConv2d(w(192), w(192), [7, 1], COL7));
    this.branch7x7x3_4 = this.registerModule('branch7x7x3_4', new BasicConv2d(w(192), w(192), 3, { stride: 2 }));
    this.outChannels = w(320) + w(192) + cin;
  }

  forward(x: Tensor): Tensor {
    return torch.cat([
      chain(x, this.branch3x3_1, this.branch3x3_2),
      chain(x, this.branch7x7x3_1, this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4),
      F.maxPool2d(x, 3, { stride: 2 }),
    ], 1);
  }
}

/** Mixed_7b, 7c (InceptionE): expanded filter banks, 1x3 and 3x1 side by side. */
export class InceptionE extends nn.Module {
  readonly branch1x1: BasicConv2d;
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2a: BasicConv2d;
  readonly branch3x3_2b: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3a: BasicConv2d;
  readonly branch3x3dbl_3b: BasicConv2d;
  readonly branch_pool: BasicConv2d;
  readonly outChannels: number;

  constructor(cin: number, readonly pool: BranchPool, w: Width = FULL_WIDTH) {
    super();
    this.branch1x1 = this.registerModule('branch1x1', new BasicConv2d(cin, w(320), 1));
    this.branch3x3_1 = this.registerModule('branch3x3_1', new BasicConv2d(cin, w(384), 1));
    this.branch3x3_2a = this.registerModule('branch3x3_2a', new BasicConv2d(w(384), w(384), [1, 3], ROW3));
    this.branch3x3_2b = this.registerModule('branch3x3_2b', new BasicConv2d(w(384), w(384), [3, 1], COL3));
    this.branch3x3dbl_1 = this.registerModule('branch3x3dbl_1', new BasicConv2d(cin, w(448), 1));
    this.branch3x3dbl_2 = this.registerModule('branch3x3dbl_2', new BasicConv2d(w(448), w(384), 3, { padding: 1 }));
    this.branch3x3dbl_3a = this.registerModule('branch3x3dbl_3a', new BasicConv2d(w(384), w(384), [1, 3], ROW3));
    this.branch3x3dbl_3b = this.registerModule('branch3x3dbl_3b', new BasicConv2d(w(384), w(384), [3, 1], COL3));
    this.branch_pool = this.registerModule('branch_pool', new BasicConv2d(cin, w(192), 1));
    this.outChannels = w(320) + 4 * w(384) + w(192);
  }

  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3_1.forward(x);
    const d3 = chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2);
    return torch.cat([
      this.branch1x1.forward(x),
      this.branch3x3_2a.forward(b3), this.branch3x3_2b.forward(b3),
      this.branch3x3dbl_3a.forward(d3), this.branch3x3dbl_3b.forward(d3),
      this.branch_pool.forward(poolBranch(x, this.pool)),
    ], 1);
  }
}

/** The stem's layers, which both networks hold under these names. */
export interface InceptionStem {
  Conv2d_1a_3x3: BasicConv2d;
  Conv2d_2a_3x3: BasicConv2d;
  Conv2d_2b_3x3: BasicConv2d;
  Conv2d_3b_1x1: BasicConv2d;
  Conv2d_4a_3x3: BasicConv2d;
}

/** Conv2d_1a_3x3 .. Conv2d_4a_3x3 of a 3-channel image, with torchvision's two max pools (299 -> 35). */
export function stemForward(n: InceptionStem, x: Tensor): Tensor {
  let y = chain(x, n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3);
  y = F.maxPool2d(y, 3, { stride: 2 });
  y = chain(y, n.Conv2d_3b_1x1, n.Conv2d_4a_3x3);
  return F.maxPool2d(y, 3, { stride: 2 });
}
