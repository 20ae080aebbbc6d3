// Arithmetic of one generator forward pass, counted from module shapes without running a
// tensor: the multiply-adds (MACs) of every conv, transposed conv, linear layer and
// attention product, plus an approximate count of the element-wise work (norms, softmax,
// activations, residual adds). A measured synthesis time divided into 2 MACs + the rest
// gives the GFLOP/s the generator achieves, to set against the machine's matmul rate.
import { nn } from '../torch/index.js';
import type { ChannelAttention, SCA, SpatialAttention } from './attention.js';
import type { Generator, ResidualBlock, SynthesisBlock } from './generator.js';

export type LayerKind = 'conv' | 'convTranspose' | 'linear' | 'attention' | 'elementwise';

export interface LayerCount {
  /** Module path as in the state dict (`global.encoder.1.0`); `#what` marks a functional step. */
  name: string;
  kind: LayerKind;
  /** Input shape: [N, C, H, W] for maps, [N, F] for vectors. */
  input: number[];
  /** Multiply-adds. */
  macs: number;
  /** Other floating-point operations, approximate (exp and divisions count as one). */
  otherFlops: number;
}

export interface FlopCount {
  layers: LayerCount[];
  macs: number;
  otherFlops: number;
  /** 2 x MACs + otherFlops. */
  flops: number;
}

/**
 * Element-wise operations per element, approximate. Batch norm in eval is one multiply and
 * one add; instance norm computes mean and variance first (a sum, a subtract-square-sum).
 */
export const ELEMENTWISE_FLOPS = {
  batchNormEval: 2, batchNormTrain: 6, instanceNorm: 6, activation: 1, add: 1,
  /** logsumexp (max, subtract, exp, sum) then subtract and exp again, per score (the chunked kernel). */
  attentionSoftmax: 6,
  /** Plain softmax: max, subtract, exp, sum, divide. */
  softmax: 5,
} as const;

const product = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function checkMap(who: string, input: number[], channels: number): void {
  if (input.length !== 4 || input[1] !== channels) throw new Error(`${who}: expected an input shape [N, ${channels}, H, W], got [${input.join(', ')}]`);
}

/** out = floor((in + 2p - dil (k - 1) - 1) / s) + 1 per axis; MACs = output elements x (C_in / groups) x kH x kW. */
export function conv2dCount(m: nn.Conv2d, input: number[]): { output: number[]; macs: number } {
  checkMap('conv2dCount', input, m.inChannels);
  const [n, , h, w] = input;
  const size = (x: number, i: 0 | 1) => Math.floor((x + 2 * m.padding[i] - m.dilation[i] * (m.kernelSize[i] - 1) - 1) / m.stride[i]) + 1;
  const output = [n, m.outChannels, size(h, 0), size(w, 1)];
  if (output[2] < 1 || output[3] < 1) throw new Error(`conv2dCount: input [${input.join(', ')}] is smaller than the kernel [${m.kernelSize}]`);
  return { output, macs: product(output) * (m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1] };
}

/** Every input pixel scatters a (C_out / groups) x kH x kW patch: MACs = input elements x that. */
export function convTranspose2dCount(m: nn.ConvTranspose2d, input: number[]): { output: number[]; macs: number } {
  checkMap('convTranspose2dCount', input, m.inChannels);
  const [n, , h, w] = input;
  const size = (x: number, i: 0 | 1) => (x - 1) * m.stride[i] - 2 * m.padding[i] + m.dilation[i] * (m.kernelSize[i] - 1) + m.outputPadding[i] + 1;
  return { output: [n, m.outChannels, size(h, 0), size(w, 1)], macs: product(input) * (m.outChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1] };
}

export function linearCount(m: nn.Linear, input: number[]): { output: number[]; macs: number } {
  if (input.length < 1 || input[input.length - 1] !== m.inFeatures) throw new Error(`linearCount: expected an input shape [..., ${m.inFeatures}], got [${input.join(', ')}]`);
  const rows = product(input.slice(0, -1));
  return { output: [...input.slice(0, -1), m.outFeatures], macs: rows * m.inFeatures * m.outFeatures };
}

/**
 * softmax(Q K^T) V for `batch` maps: Q [Nq, d], K [Nk, d], V [Nk, c]. Forward: Q K^T and
 * P V. Backward (the chunked kernel, which recomputes P): Q K^T again, dV = P^T dO,
 * dP = dO V^T, dQ = dS K, dK = dS^T Q.
 */
export function spatialAttentionProducts(batch: number, nq: number, nk: number, d: number, c: number): { forwardMacs: number; backwardMacs: number; scores: number } {
  const scores = batch * nq * nk;
  return { forwardMacs: scores * (d + c), backwardMacs: scores * (3 * d + 2 * c), scores };
}

/** softmax(I I^T) I over C channels and N positions: two C x C x N products. */
export function channelAttentionProducts(batch: number, c: number, n: number): { macs: number; scores: number } {
  return { macs: 2 * batch * c * c * n, scores: batch * c * c };
}

/** Accumulates layer counts while following a forward pass's shapes. */
export class FlopCounter {
  readonly layers: LayerCount[] = [];
  private readonly names: Map<nn.Module, string>;

  /** `root` names the modules (state-dict paths); `batchNorm` says which batch norm arithmetic to assume. */
  constructor(root: nn.Module, readonly batchNorm: 'eval' | 'train' = 'eval') {
    this.names = new Map(root.namedModules().map(([n, m]) => [m, n]));
  }

  nameOf(m: nn.Module): string {
    const n = this.names.get(m);
    if (n === undefined) throw new Error(`FlopCounter: a ${m.constructor.name} that is not part of the counted model`);
    return n;
  }

  add(name: string, kind: LayerKind, input: number[], macs: number, otherFlops: number): void {
    this.layers.push({ name, kind, input: [...input], macs, otherFlops });
  }

  /** An element-wise step of `perElement` operations over a tensor of this shape. */
  elementwise(name: string, shape: number[], perElement: number): void {
    this.add(name, 'elementwise', shape, 0, perElement * product(shape));
  }

  /** One module of a Sequential (or a Sequential itself); returns its output shape. Unknown layer types are errors, not zeros. */
  module(m: nn.Module, input: number[]): number[] {
    const name = this.nameOf(m);
    if (m instanceof nn.Sequential) {
      let s = input;
      for (const child of m) s = this.module(child, s);
      return s;
    }
    if (m instanceof nn.Conv2d) {
      // A reflect/replicate paddingMode pads by copying: the same arithmetic as zeros.
      const { output, macs } = conv2dCount(m, input);
      this.add(name, 'conv', input, macs, m.bias ? product(output) : 0);
      return output;
    }
    if (m instanceof nn.ConvTranspose2d) {
      const { output, macs } = convTranspose2dCount(m, input);
      this.add(name, 'convTranspose', input, macs, m.bias ? product(output) : 0);
      return output;
    }
    if (m instanceof nn.Linear) {
      const { output, macs } = linearCount(m, input);
      this.add(name, 'linear', input, macs, m.bias ? product(output) : 0);
      return output;
    }
    if (m instanceof nn.ReflectionPad2d || m instanceof nn.ZeroPad2d || m instanceof nn.ReplicationPad2d) {
      const [l, r, t, b] = m.padding;
      return [input[0], input[1], input[2] + t + b, input[3] + l + r];
    }
    if (m instanceof nn.BatchNorm2d) {
      this.elementwise(name, input, this.batchNorm === 'eval' ? ELEMENTWISE_FLOPS.batchNormEval : ELEMENTWISE_FLOPS.batchNormTrain);
      return input;
    }
    if (m instanceof nn.InstanceNorm2d) {
      this.elementwise(name, input, ELEMENTWISE_FLOPS.instanceNorm);
      return input;
    }
    if (m instanceof nn.ReLU || m instanceof nn.LeakyReLU || m instanceof nn.Tanh || m instanceof nn.Sigmoid) {
      this.elementwise(name, input, ELEMENTWISE_FLOPS.activation);
      return input;
    }
    if (m instanceof nn.AdaptiveAvgPool2d) {
      const [oh, ow] = typeof m.outputSize === 'number' ? [m.outputSize, m.outputSize] : m.outputSize;
      this.elementwise(name, input, 1);
      return [input[0], input[1], oh, ow];
    }
    if (m instanceof nn.Flatten) {
      if (m.startDim !== 1 || m.endDim !== -1) throw new Error(`FlopCounter: Flatten(${m.startDim}, ${m.endDim}) at ${name} is not supported (only Flatten(1, -1))`);
      return [input[0], product(input.slice(1))];
    }
    throw new Error(`FlopCounter: no arithmetic model for ${m.constructor.name} at "${name}"`);
  }

  total(): FlopCount {
    const macs = this.layers.reduce((a, l) => a + l.macs, 0);
    const otherFlops = this.layers.reduce((a, l) => a + l.otherFlops, 0);
    return { layers: this.layers, macs, otherFlops, flops: 2 * macs + otherFlops };
  }
}

/** avg pool k, stride s, padding p: k^2 operations per output element. */
function avgPool(counter: FlopCounter, name: string, input: number[], k: number, s: number, p: number): number[] {
  const size = (x: number) => Math.floor((x + 2 * p - k) / s) + 1;
  const output = [input[0], input[1], size(input[2]), size(input[3])];
  counter.elementwise(name, output, k * k);
  return output;
}

function residualBlock(counter: FlopCounter, b: ResidualBlock, input: number[]): number[] {
  const out = counter.module(b.block, input);
  counter.elementwise(`${counter.nameOf(b)}#add`, out, ELEMENTWISE_FLOPS.add);
  return out;
}

function spatialAttention(counter: FlopCounter, m: SpatialAttention, input: number[]): void {
  const name = counter.nameOf(m);
  const [n, , h, w] = input;
  const p = m.keyValuePool;
  const kvInput = p > 1 ? avgPool(counter, `${name}#keyValuePool`, input, p, p, 0) : input;
  const q = counter.module(m.query, input);
  counter.module(m.key, kvInput);
  counter.module(m.value, kvInput);
  const { forwardMacs, scores } = spatialAttentionProducts(n, h * w, kvInput[2] * kvInput[3], q[1], m.channels);
  counter.add(`${name}#attention`, 'attention', input, forwardMacs, scores * ELEMENTWISE_FLOPS.attentionSoftmax);
  counter.elementwise(`${name}#gamma`, input, 2);
}

function channelAttention(counter: FlopCounter, m: ChannelAttention, input: number[]): void {
  const name = counter.nameOf(m);
  const [n, c, h, w] = input;
  const { macs, scores } = channelAttentionProducts(n, c, h * w);
  counter.add(`${name}#attention`, 'attention', input, macs, scores * (ELEMENTWISE_FLOPS.softmax + (m.kind === 'danet' ? 2 : 0)));
  counter.elementwise(`${name}#gamma`, input, 2);
}

function sca(counter: FlopCounter, m: SCA, input: number[]): number[] {
  spatialAttention(counter, m.spatial, input);
  channelAttention(counter, m.channel, input);
  counter.module(m.spatialConv, input);
  const out = counter.module(m.channelConv, input);
  counter.elementwise(`${counter.nameOf(m)}#add`, out, ELEMENTWISE_FLOPS.add);
  return out;
}

function synthesisBlock(counter: FlopCounter, b: SynthesisBlock, input: number[], conditionChannels: number, wShape: number[] | null): number[] {
  const [n, c, h, w] = input;
  let s = input;
  if (b.agm) {
    if (!wShape) throw new Error('generatorFlops: an AGM block without the mapping network');
    s = counter.module(b.agm.fuse, [n, c + b.agm.noiseChannels, h, w]);
    counter.module(b.agm.adain.affine, wShape);
    counter.elementwise(`${counter.nameOf(b.agm.adain)}#normalize`, s, ELEMENTWISE_FLOPS.instanceNorm + 2);
    counter.elementwise(`${counter.nameOf(b.agm)}#relu`, s, ELEMENTWISE_FLOPS.activation);
  }
  // fuse sees cat(h, encoder skip (C channels), condition map).
  s = counter.module(b.fuse, [n, 2 * c + conditionChannels, h, w]);
  if (b.sca) s = sca(counter, b.sca, s);
  return counter.module(b.up, s);
}

/**
 * The arithmetic of `G.forward` on a batch of `batch` condition maps at the model's
 * resolution, in G's current stage, with batch norm as in eval mode (synthesis) unless
 * `batchNorm: 'train'`. Follows generator.ts step by step; the tests check every layer's
 * input shape against a real forward, so the two cannot drift apart silently.
 */
export function generatorFlops(G: Generator, o: { batch?: number; batchNorm?: 'eval' | 'train' } = {}): FlopCount {
  const batch = o.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`generatorFlops: batch must be a positive integer, got ${batch}`);
  const counter = new FlopCounter(G, o.batchNorm ?? 'eval');
  const g = G.global, cfg = G.cfg, R = cfg.resolution, cc = g.conditionChannels;
  const condition = [batch, cc, R, R];
  const half = avgPool(counter, '#downsample', condition, 3, 2, 1);

  const skips: number[][] = [];
  let s = half;
  for (const stage of g.encoder) skips.push(s = counter.module(stage, s));
  counter.module(g.gradeHead, s);
  for (const block of g.residual) s = residualBlock(counter, block as ResidualBlock, s);
  const wShape = g.mapping ? counter.module(g.mapping.net, [batch, cfg.generator.gradingVectorDim]) : null;
  for (let i = 0; i < g.synthesis.length; i++) {
    const block = g.synthesis.at(i), skip = skips[3 - i];
    if (skip[2] !== s[2] || skip[1] !== block.channels) throw new Error(`generatorFlops: synthesis block ${i} gets [${s}] but its encoder skip is [${skip}]`);
    // Area resizing reads every pixel of the half-resolution condition map once.
    counter.elementwise(`${counter.nameOf(block)}#resizeCondition`, half, 1);
    s = synthesisBlock(counter, block, s, cc, wShape);
  }
  // generator.halfScaleFusion: cat(h, encoder stem feature, condition map at R/2).
  if (g.halfScaleFusion) s = counter.module(g.halfScaleFusion, [batch, s[1] + skips[0][1] + cc, s[2], s[3]]);
  const local = G.local;
  if (!local) {
    counter.module(g.outputHead, s);
  } else {
    const down = counter.module(local.down, condition);
    counter.elementwise(`${counter.nameOf(local)}#addGlobal`, down, ELEMENTWISE_FLOPS.add);
    let h = down;
    for (const block of local.residual) h = residualBlock(counter, block as ResidualBlock, h);
    counter.module(local.up, h);
  }
  return counter.total();
}
