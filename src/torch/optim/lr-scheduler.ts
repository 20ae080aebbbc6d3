// Learning-rate schedules (torch.optim.lr_scheduler): each step() sets every group's lr.
// The recursive ("chainable") formulas are PyTorch 1.13's own, so sequences match Python's;
// state dicts use PyTorch's keys (base_lrs, last_epoch, _step_count, _last_lr, options).
import type { Optimizer } from './optimizer.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  baseLrs: number[];
  lastEpoch: number;
  protected stepCount = 0;
  private lastLr: number[] = [];

  protected constructor(optimizer: AnyOptimizer, lastEpoch = -1) {
    this.optimizer = optimizer;
    const groups = optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) throw new Error(`${this.constructor.name}: param group ${i} has no initialLr; resuming with lastEpoch ${lastEpoch} needs the optimizer's saved state loaded first`);
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** PyTorch's _initial_step: every subclass constructor ends with it, once its options are set. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rates for epoch lastEpoch, from the groups' current rates (chainable form). */
  protected abstract computeLr(): number[];

  /** The schedule's own options under PyTorch's names (step_size, gamma, T_max...). */
  protected abstract options(): Record<string, number>;
  protected abstract setOptions(o: Record<string, unknown>): void;

  /** Advances one epoch and writes the new rates into the optimizer's groups. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const values = this.computeLr();
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = values[i]; });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rates the last step() set, one per param group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): Record<string, unknown> {
    return {
      ...this.options(),
      base_lrs: [...this.baseLrs],
      last_epoch: this.lastEpoch,
      verbose: false,
      _step_count: this.stepCount,
      _get_lr_called_within_step: false,
      _last_lr: [...this.lastLr],
    };
  }

  loadStateDict(sd: Record<string, unknown>): void {
    const name = `${this.constructor.name}.loadStateDict`;
    const groups = this.optimizer.paramGroups.length;
    const numbers = (k: string): number[] => {
      const v = sd?.[k];
      if (!Array.isArray(v) || v.length !== groups || !v.every((x) => typeof x === 'number')) {
        throw new Error(`${name}: "${k}" must list ${groups} number(s), one per param group (got ${JSON.stringify(v)})`);
      }
      return [...(v as number[])];
    };
    const baseLrs = numbers('base_lrs');
    const lastLr = numbers('_last_lr');
    for (const k of ['last_epoch', '_step_count']) {
      if (!Number.isInteger(sd[k])) throw new Error(`${name}: "${k}" must be an integer (got ${JSON.stringify(sd[k])})`);
    }
    this.setOptions(sd);
    this.baseLrs = baseLrs;
    this.lastLr = lastLr;
    this.lastEpoch = sd.last_epoch as number;
    this.stepCount = sd._step_count as number;
  }
}

function optionNumber(sd: Record<string, unknown>, key: string, owner: string): number {
  const v = sd[key];
  if (typeof v !== 'number') throw new Error(`${owner}.loadStateDict: "${key}" must be a number (got ${JSON.stringify(v)})`);
  return v;
}

/** Multiplies the rate by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: AnyOptimizer, stepSize: number, gamma = 0.1, lastEpoch = -1) {
    super(optimizer, lastEpoch);
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new Error(`StepLR: stepSize must be a positive integer (got ${stepSize})`);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }
  protected override computeLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }
  protected override options() { return { step_size: this.stepSize, gamma: this.gamma }; }
  protected override setOptions(o: Record<string, unknown>) {
    this.stepSize = optionNumber(o, 'step_size', 'StepLR');
    this.gamma = optionNumber(o, 'gamma', 'StepLR');
  }
}

/** Scales the rate linearly from startFactor to endFactor over totalIters epochs. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(optimizer: AnyOptimizer, o: { startFactor?: number; endFactor?: number; totalIters?: number } = {}, lastEpoch = -1) {
    super(optimizer, lastEpoch);
    this.startFactor = o.startFactor ?? 1 / 3;
    this.endFactor = o.endFactor ?? 1;
    this.totalIters = o.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1] (got ${this.startFactor})`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1] (got ${this.endFactor})`);
    if (!Number.isInteger(this.totalIters) || this.totalIters < 1) throw new Error(`LinearLR: totalIters must be a positive integer (got ${this.totalIters})`);
    this.initialStep();
  }
  protected override computeLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0) return lrs.map((lr) => lr * s);
    if (this.lastEpoch > n) return lrs;
    return lrs.map((lr) => lr * (1 + (e - s) / (n * s + (this.lastEpoch - 1) * (e - s))));
  }
  protected override options() { return { start_factor: this.startFactor, end_factor: this.endFactor, total_iters: this.totalIters }; }
  protected override setOptions(o: Record<string, unknown>) {
    this.startFactor = optionNumber(o, 'start_factor', 'LinearLR');
    this.endFactor = optionNumber(o, 'end_factor', 'LinearLR');
    this.totalIters = optionNumber(o, 'total_iters', 'LinearLR');
  }
}

/**
 * Cosine annealing from the base rate to etaMin over tMax epochs, rising again after
 * (SGDR without restarts). Math.cos may differ from glibc's cos in the last bit, so rates
 * agree with Python's to about 1e-16 relative rather than exactly.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(optimizer: AnyOptimizer, tMax: number, etaMin = 0, lastEpoch = -1) {
    super(optimizer, lastEpoch);
    if (!(tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive (got ${tMax})`);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }
  protected override computeLr(): number[] {
    const { tMax, etaMin, lastEpoch: e } = this;
    const lrs = this.groupLrs();
    if (e === 0) return lrs;
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / tMax))) / 2);
    }
    if (mod(e - 1 - tMax, 2 * tMax) === 0) {
      return lrs.map((lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) * (lr - etaMin) + etaMin);
  }
  protected override options() { return { T_max: this.tMax, eta_min: this.etaMin }; }
  protected override setOptions(o: Record<string, unknown>) {
    this.tMax = optionNumber(o, 'T_max', 'CosineAnnealingLR');
    this.etaMin = optionNumber(o, 'eta_min', 'CosineAnnealingLR');
  }
}

/** The rate is baseLr * lambda(epoch) (functions are not saved in state dicts, as in PyTorch). */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: ((epoch: number) => number)[];
  constructor(optimizer: AnyOptimizer, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[], lastEpoch = -1) {
    super(optimizer, lastEpoch);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda) && lrLambda.length !== n) throw new Error(`LambdaLR: expected ${n} lr lambdas (one per param group), got ${lrLambda.length}`);
    this.lrLambdas = Array.isArray(lrLambda) ? [...lrLambda] : new Array(n).fill(lrLambda);
    this.initialStep();
  }
  protected override computeLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }
  protected override options(): Record<string, number> { return {}; }
  protected override setOptions(): void {}
  override stateDict(): Record<string, unknown> {
    return { ...super.stateDict(), lr_lambdas: this.lrLambdas.map(() => null) };
  }
}

/**
 * pix2pixHD's schedule: the base rate for constantEpochs, then linear decay reaching 0
 * after decayEpochs more (factor 1 - max(0, epoch - constantEpochs) / decayEpochs).
 */
export class LinearDecayLR extends LambdaLR {
  readonly constantEpochs: number;
  readonly decayEpochs: number;
  constructor(optimizer: AnyOptimizer, o: { constantEpochs: number; decayEpochs: number }, lastEpoch = -1) {
    const { constantEpochs, decayEpochs } = o ?? {};
    if (!Number.isInteger(constantEpochs) || constantEpochs < 0) throw new Error(`LinearDecayLR: constantEpochs must be a non-negative integer (got ${constantEpochs})`);
    if (!Number.isInteger(decayEpochs) || decayEpochs < 1) throw new Error(`LinearDecayLR: decayEpochs must be a positive integer (got ${decayEpochs})`);
    super(optimizer, (epoch) => Math.max(0, 1 - Math.max(0, epoch - constantEpochs) / decayEpochs), lastEpoch);
    this.constantEpochs = constantEpochs;
    this.decayEpochs = decayEpochs;
  }
  protected override options(): Record<string, number> {
    return { constant_epochs: this.constantEpochs, decay_epochs: this.decayEpochs };
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n; // Python's % takes the divisor's sign
}
