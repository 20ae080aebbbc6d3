// The DR-GAN generator (method.md sections 2-3): G_m, an encoder / residual / synthesis
// network at R/2 conditioned on the masks and the grading vector, and G_l, pix2pixHD's
// local enhancer that brings it to R. `Generator` holds both and the training stage.
import * as torch from '../torch/index.js';
import { nn } from '../torch/index.js';
import { AGMBlock } from './agm.js';
import { SCA } from './attention.js';
import { conditionChannels, type DrganConfig, type NormKind, type UpsamplingKind } from './config.js';
import { MappingNetwork } from './mapping.js';

/** Paper: BatchNorm; pix2pixHD: InstanceNorm without affine parameters. */
export function makeNorm(kind: NormKind, channels: number): nn.Module {
  if (kind === 'batch') return new nn.BatchNorm2d(channels);
  if (kind === 'instance') return new nn.InstanceNorm2d(channels);
  throw new Error(`norm must be batch|instance, got "${kind as string}"`);
}

/** Halves a map as the multi-scale inputs do: avg pool 3, stride 2, pad 1, padding not counted. */
export function downsample(x: torch.Tensor): torch.Tensor {
  return torch.F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false });
}

/**
 * The condition channels this configuration uses, from a full 8-channel map (the data
 * set's) or from a map that already has exactly those channels.
 */
export function selectConditionChannels(c: torch.Tensor, cfg: DrganConfig): torch.Tensor {
  const want = conditionChannels(cfg).length;
  const s = c.shape;
  if (s.length !== 4) throw new Error(`condition map must be [N, C, H, W], got shape [${s.join(', ')}]`);
  if (s[1] === want) return c;
  if (s[1] === 8 && want < 8) return c.narrow(1, 0, want);
  throw new Error(`condition map has ${s[1]} channels; this configuration uses ${want} (${conditionChannels(cfg).join(', ')})`);
}

/** conv3x3-norm-ReLU-conv3x3-norm with x + block(x); reflection padding as pix2pixHD. */
export class ResidualBlock extends nn.Module {
  readonly block: nn.Sequential;
  constructor(channels: number, norm: NormKind) {
    super();
    this.block = this.registerModule('block', new nn.Sequential(
      new nn.ReflectionPad2d(1), new nn.Conv2d(channels, channels, 3), makeNorm(norm, channels), new nn.ReLU(),
      new nn.ReflectionPad2d(1), new nn.Conv2d(channels, channels, 3), makeNorm(norm, channels),
    ));
  }
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => x.add(this.block.forward(x) as torch.Tensor));
  }
}

/** Exact doubling, then norm + ReLU: transposed conv3x3 stride 2, or nearest x2 + conv3x3 (generator.upsampling). */
function upsamplingLayers(inC: number, outC: number, norm: NormKind, kind: UpsamplingKind = 'transposed'): nn.Module[] {
  const double = kind === 'resize'
    ? [new nn.Upsample({ scaleFactor: 2, mode: 'nearest' }), new nn.ReflectionPad2d(1), new nn.Conv2d(inC, outC, 3)]
    : [new nn.ConvTranspose2d(inC, outC, 3, { stride: 2, padding: 1, outputPadding: 1 })];
  return [...double, makeNorm(norm, outC), new nn.ReLU()];
}

/**
 * One synthesis block at one scale: AGM -> concat(encoder feature, condition map) ->
 * conv3x3 back to C -> SCA -> up to the next scale with C/2 channels.
 */
export class SynthesisBlock extends nn.Module {
  readonly agm: AGMBlock | null;
  readonly fuse: nn.Conv2d;
  readonly sca: SCA | null;
  readonly up: nn.Sequential;

  constructor(readonly channels: number, readonly conditionChannels: number, reduction: number, cfg: DrganConfig) {
    super();
    const g = cfg.generator;
    this.agm = this.registerModule('agm', cfg.ablation.noAGM ? null : new AGMBlock(channels, g.mappingWidth, g.noiseChannelDivisor));
    // The encoder feature of this scale has as many channels as the block itself.
    this.fuse = this.registerModule('fuse', new nn.Conv2d(2 * channels + conditionChannels, channels, 3, { padding: 1 }));
    this.sca = this.registerModule('sca', cfg.ablation.noSCA ? null : new SCA(channels, reduction, {
      channelKind: cfg.attention.channel, keyValuePool: cfg.attention.keyValuePool, memoryBudgetBytes: cfg.attention.memoryBudgetBytes,
    }));
    this.up = this.registerModule('up', new nn.Sequential(...upsamplingLayers(channels, channels / 2, g.norm, g.upsampling)));
  }

  forward(x: torch.Tensor, skip: torch.Tensor, condition: torch.Tensor, w: torch.Tensor | null, noise?: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      let h = x;
      if (this.agm) {
        if (!w) throw new Error('SynthesisBlock: the AGM needs the grading code w (got null)');
        h = this.agm.forward(h, w, noise);
      }
      h = this.fuse.forward(torch.cat([h, skip, condition], 1));
      if (this.sca) h = this.sca.forward(h);
      return this.up.forward(h) as torch.Tensor;
    });
  }
}

export interface GlobalOutput {
  /** The last transposed conv's output (after the half-scale fusion when on): ngf channels at R/2 (what G_l adds to). */
  features: torch.Tensor;
  /** The encoder's grade head: [N, numGrades] logits. */
  gradeLogits: torch.Tensor;
}

/** G_m: condition map at R/2 (+ grading vector) -> features and image at R/2. */
export class GlobalGenerator extends nn.Module {
  readonly encoder: nn.ModuleList<nn.Sequential>;
  readonly residual: nn.Sequential;
  readonly mapping: MappingNetwork | null;
  readonly synthesis: nn.ModuleList<SynthesisBlock>;
  /** generator.halfScaleFusion: stem feature + condition map fused at R/2; null when off. */
  readonly halfScaleFusion: nn.Sequential | null;
  readonly outputHead: nn.Sequential;
  readonly gradeHead: nn.Sequential;
  readonly conditionChannels: number;

  constructor(readonly cfg: DrganConfig) {
    super();
    const g = cfg.generator, ngf = g.ngf;
    this.conditionChannels = conditionChannels(cfg).length;
    const widths = [ngf, 2 * ngf, 4 * ngf, 8 * ngf];
    const stem = new nn.Sequential(new nn.ReflectionPad2d(3), new nn.Conv2d(this.conditionChannels, ngf, 7), makeNorm(g.norm, ngf), new nn.ReLU());
    const downs = [1, 2, 3].map((i) => new nn.Sequential(new nn.Conv2d(widths[i - 1], widths[i], 3, { stride: 2, padding: 1 }), makeNorm(g.norm, widths[i]), new nn.ReLU()));
    this.encoder = this.registerModule('encoder', new nn.ModuleList([stem, ...downs]));
    this.residual = this.registerModule('residual', new nn.Sequential(...Array.from({ length: g.residualBlocks }, () => new ResidualBlock(8 * ngf, g.norm))));
    this.mapping = this.registerModule('mapping', cfg.ablation.noAGM ? null : new MappingNetwork(g.gradingVectorDim, g.mappingWidth, g.mappingLayers));
    this.synthesis = this.registerModule('synthesis', new nn.ModuleList([8 * ngf, 4 * ngf, 2 * ngf].map((c, i) => new SynthesisBlock(c, this.conditionChannels, cfg.attention.reductions[i], cfg))));
    this.halfScaleFusion = this.registerModule('halfScaleFusion', g.halfScaleFusion ? new nn.Sequential(
      new nn.ReflectionPad2d(1), new nn.Conv2d(2 * ngf + this.conditionChannels, ngf, 3), makeNorm(g.norm, ngf), new nn.ReLU(),
    ) : null);
    this.outputHead = this.registerModule('outputHead', new nn.Sequential(new nn.ReflectionPad2d(3), new nn.Conv2d(ngf, 3, 7), new nn.Tanh()));
    this.gradeHead = this.registerModule('gradeHead', new nn.Sequential(
      new nn.Conv2d(8 * ngf, 8 * ngf, 3, { padding: 1 }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(8 * ngf, cfg.numGrades),
    ));
  }

  /** Noise shapes of the three AGM blocks for a batch of n at input size `size` (= R/2); [] without AGM. */
  noiseShapes(n: number, size: number): number[][] {
    if (this.cfg.ablation.noAGM) return [];
    // Block i works at (size / 8) * 2^i: R/16, R/8, R/4 of the full resolution.
    return this.synthesis.map((b, i) => [n, b.agm!.noiseChannels, (size / 8) * 2 ** i, (size / 8) * 2 ** i]);
  }

  private resizeCondition(c: torch.Tensor, size: number): torch.Tensor {
    const mode = this.cfg.generator.conditionResize;
    if (mode === 'area') return torch.F.adaptiveAvgPool2d(c, size);
    return torch.F.interpolate(c, { size, mode, ...(mode === 'bilinear' ? { alignCorners: false } : {}) });
  }

  /** c [N, condCh, S, S] with S = R/2, z [N, zDim] (null without AGM), noise per block. */
  run(c: torch.Tensor, z: torch.Tensor | null, noise?: torch.Tensor[]): GlobalOutput {
    const s = c.shape, size = this.cfg.resolution / 2;
    if (s.length !== 4 || s[1] !== this.conditionChannels || s[2] !== size || s[3] !== size) {
      throw new Error(`GlobalGenerator: expected a condition map [N, ${this.conditionChannels}, ${size}, ${size}] (R/2 for R=${this.cfg.resolution}), got shape [${s.join(', ')}]`);
    }
    if (this.mapping && !z) throw new Error('GlobalGenerator: a grading vector z [N, gradingVectorDim] is required (ablation.noAGM is off)');
    if (noise && noise.length !== 3) throw new Error(`GlobalGenerator: noise must hold one tensor per synthesis block (3), got ${noise.length}`);
    return torch.tidy(() => {
      const skips: torch.Tensor[] = [];
      let h = c;
      for (const stage of this.encoder) skips.push(h = stage.forward(h) as torch.Tensor);
      const gradeLogits = this.gradeHead.forward(h) as torch.Tensor;
      h = this.residual.forward(h) as torch.Tensor;
      const w = this.mapping ? this.mapping.forward(z!) : null;
      this.synthesis.map((block, i) => {
        const skip = skips[3 - i];
        h = block.forward(h, skip, this.resizeCondition(c, skip.shape[2]), w, noise?.[i]);
      });
      if (this.halfScaleFusion) h = this.halfScaleFusion.forward(torch.cat([h, skips[0], c], 1)) as torch.Tensor;
      return { features: h, gradeLogits };
    });
  }

  /** Stage-1 output: image [N, 3, R/2, R/2] in [-1, 1] and grade logits. */
  forward(c: torch.Tensor, z: torch.Tensor | null, noise?: torch.Tensor[]): { image: torch.Tensor; gradeLogits: torch.Tensor } {
    return torch.tidy(() => {
      const { features, gradeLogits } = this.run(c, z, noise);
      return { image: this.outputHead.forward(features) as torch.Tensor, gradeLogits };
    });
  }
}

/**
 * Frees a map this forward created, once read, when no autograd graph can refer to it (the
 * same rule as Sequential.forward): at R = 1280 each of G_l's ngf x R/2 x R/2 maps would
 * otherwise stay alive through the full-resolution layers that set the peak. With autograd
 * recording it is left to the enclosing tidy. Only for tensors created in the calling
 * forward's own tidy, never its inputs; `result` is what was computed from it, kept if it is t.
 */
function releaseIntermediate(t: torch.Tensor, result: torch.Tensor): void {
  if (t !== result && !(torch.isGradEnabled() && t.requiresGrad)) t.dispose();
}

/** G_l: condition map at R plus G_m's features at R/2 -> image at R. */
export class LocalEnhancer extends nn.Module {
  readonly down: nn.Sequential;
  readonly residual: nn.Sequential;
  readonly up: nn.Sequential;

  constructor(readonly cfg: DrganConfig) {
    super();
    const g = cfg.generator, ngf = g.ngf, half = ngf / 2;
    const condCh = conditionChannels(cfg).length;
    this.down = this.registerModule('down', new nn.Sequential(
      new nn.ReflectionPad2d(3), new nn.Conv2d(condCh, half, 7), makeNorm(g.norm, half), new nn.ReLU(),
      new nn.Conv2d(half, ngf, 3, { stride: 2, padding: 1 }), makeNorm(g.norm, ngf), new nn.ReLU(),
    ));
    this.residual = this.registerModule('residual', new nn.Sequential(...Array.from({ length: g.localResidualBlocks }, () => new ResidualBlock(ngf, g.norm))));
    // [decision] the paper's "second transposed conv" is this stride-1 7x7 output layer.
    this.up = this.registerModule('up', new nn.Sequential(
      ...upsamplingLayers(ngf, half, g.norm, g.upsampling),
      new nn.ReflectionPad2d(3), new nn.Conv2d(half, 3, 7), new nn.Tanh(),
    ));
  }

  forward(c: torch.Tensor, globalFeatures: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      const down = this.down.forward(c) as torch.Tensor;
      const h = down.add(globalFeatures);
      releaseIntermediate(down, h);
      const r = this.residual.forward(h) as torch.Tensor;
      releaseIntermediate(h, r); // r is h itself when there are no residual blocks
      return this.up.forward(r) as torch.Tensor;
    });
  }
}

export interface GeneratorOutput {
  /** [N, 3, S, S] in [-1, 1]: S = R/2 in stage 1, R in stage 2. */
  image: torch.Tensor;
  /** [N, numGrades] from the encoder's grade head. */
  gradeLogits: torch.Tensor;
}

/**
 * G_m, and from stage 2 on G_l. Input is always the condition map at R, so data loading
 * does not change between stages: stage 1 downsamples it for G_m and returns an image at R/2.
 */
export class Generator extends nn.Module {
  readonly global: GlobalGenerator;
  private localEnhancer: LocalEnhancer | null;

  constructor(readonly cfg: DrganConfig, stage: 1 | 2 = 1) {
    super();
    this.global = this.registerModule('global', new GlobalGenerator(cfg));
    this.localEnhancer = this.registerModule('local', stage === 2 ? new LocalEnhancer(cfg) : null);
  }

  get stage(): 1 | 2 {
    return this.localEnhancer ? 2 : 1;
  }
  get local(): LocalEnhancer | null {
    return this.localEnhancer;
  }
  /** Side of the generated image in this stage. */
  get outputSize(): number {
    return this.stage === 2 ? this.cfg.resolution : this.cfg.resolution / 2;
  }

  /**
   * Stage 1 -> 2: adds a freshly initialised G_l on G_m's device and dtype. G_m's tensors
   * are untouched (same objects, same values), so optimiser state keyed on them survives.
   */
  addLocalEnhancer(): LocalEnhancer {
    if (this.localEnhancer) throw new Error('Generator.addLocalEnhancer: the generator is already in stage 2');
    const ref = this.global.parameters()[0];
    const local = new LocalEnhancer(this.cfg).to({ device: ref.device, dtype: ref.dtype });
    local.train(this.training);
    this.localEnhancer = this.registerModule('local', local);
    return local;
  }

  /**
   * The AGM noise for a batch of n, drawn on the CPU from torch.randn so that a seed gives
   * the same images on every device. With `seed`, the global generator's state is restored
   * afterwards, so seeded synthesis does not disturb a training run's random stream.
   */
  drawNoise(n: number, seed?: number): torch.Tensor[] {
    const shapes = this.global.noiseShapes(n, this.cfg.resolution / 2);
    const ref = this.global.parameters()[0];
    const draw = () => shapes.map((s) => torch.randn(s, { dtype: ref.dtype }));
    let noise: torch.Tensor[];
    if (seed === undefined) {
      noise = draw();
    } else {
      const saved = torch.getRngState();
      try {
        torch.manualSeed(seed);
        noise = draw();
      } finally {
        torch.setRngState(saved);
        saved.dispose();
      }
    }
    return ref.device === 'cpu' ? noise : noise.map((t) => { const d = t.to({ device: ref.device }); t.dispose(); return d; });
  }

  /**
   * The AGM noise for a batch whose sample i is drawn as drawNoise(1, seeds[i]) would draw
   * it: a batch of seeded images then gets each image's own noise, as if made alone.
   */
  drawNoiseForSeeds(seeds: number[]): torch.Tensor[] {
    if (!seeds.length) throw new Error('Generator.drawNoiseForSeeds: no seeds');
    const each = seeds.map((seed) => this.drawNoise(1, seed));
    try {
      return each[0].map((_, k) => torch.cat(each.map((n) => n[k]), 0));
    } finally {
      for (const n of each) for (const t of n) t.dispose();
    }
  }

  /**
   * c [N, condCh, R, R] in [0, 1] (8 channels are narrowed to the configured ones),
   * z [N, gradingVectorDim] (null when ablation.noAGM). `noise`: a seed for the whole
   * batch's AGM noise, the noise itself (drawNoise / drawNoiseForSeeds), or nothing (the
   * global random stream).
   */
  forward(c: torch.Tensor, z: torch.Tensor | null, noise?: number | torch.Tensor[]): GeneratorOutput {
    const R = this.cfg.resolution;
    return torch.tidy(() => {
      const cond = selectConditionChannels(c, this.cfg);
      const s = cond.shape;
      if (s[2] !== R || s[3] !== R) throw new Error(`Generator: expected a condition map at R=${R} ([N, C, ${R}, ${R}]), got shape [${c.shape.join(', ')}]`);
      if (z && (z.shape.length !== 2 || z.shape[0] !== s[0])) throw new Error(`Generator: expected z [${s[0]}, ${this.cfg.generator.gradingVectorDim}], got shape [${z.shape.join(', ')}]`);
      let agmNoise: torch.Tensor[] | undefined;
      if (!this.cfg.ablation.noAGM) {
        if (Array.isArray(noise)) {
          const want = this.global.noiseShapes(s[0], R / 2);
          const got = noise.map((t) => t.shape.join(','));
          if (got.join(' ') !== want.map((w) => w.join(',')).join(' ')) {
            throw new Error(`Generator: AGM noise must be ${want.length} tensors of shapes ${want.map((w) => `[${w.join(', ')}]`).join(' ')}, got ${got.map((g) => `[${g.split(',').join(', ')}]`).join(' ') || 'none'}`);
          }
          agmNoise = noise;
        } else agmNoise = this.drawNoise(s[0], noise);
      }
      const half = downsample(cond);
      if (!this.localEnhancer) return this.global.forward(half, z, agmNoise);
      const { features, gradeLogits } = this.global.run(half, z, agmNoise);
      return { image: this.localEnhancer.forward(cond, features), gradeLogits };
    });
  }
}
