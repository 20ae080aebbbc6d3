// Adam (L2 weight decay folded into the gradient) and AdamW (decoupled weight decay):
// PyTorch 1.13's _single_tensor_adam / _single_tensor_adamw, op for op, so parameters and
// moments match Python bit for bit. The step count lives as a number (Python keeps a
// float32 tensor; both count exactly to 2^24) and is written as that tensor in state dicts.
// By default a group updates all its parameters together with _foreach_* ops
// (adam-multi-tensor.ts): one native call per op rather than per op per parameter, the
// same updates, and the same state layout, so checkpoints do not depend on the path.
import { Tensor, callT } from '../tensor.js';
import { opRef } from '../ops.js';
import { zerosLike } from '../creation.js';
import { keep } from '../scope.js';
import { PowCache } from './libm.js';
import { multiTensorAdamStep, type AdamBucket } from './adam-multi-tensor.js';
import { Optimizer, requireStateKeys, type GroupOptions, type ParamGroup, type ParamsArg, type ParamState } from './optimizer.js';

export interface AdamOptions extends GroupOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  /**
   * Update the group's parameters together with _foreach_* ops (true) or one parameter at a
   * time (false). Unset or null (PyTorch's default None) picks foreach when every parameter
   * of the group is on one device. Kept out of the defaults so state dicts stay as before.
   */
  foreach?: boolean | null;
}

const MAXIMUM_OUT = opRef('maximum', 'out');

export class Adam extends Optimizer<AdamOptions> {
  /** AdamW decays parameters directly instead of adding weightDecay * p to the gradient. */
  protected readonly decoupledWeightDecay: boolean = false;
  private readonly powers = new PowCache();

  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }

  protected override checkOptions(g: ParamGroup<AdamOptions>, where: string): void {
    super.checkOptions(g, where);
    const n = this.name;
    if (!(g.eps >= 0)) throw new Error(`${n}: ${where}: invalid eps ${g.eps} (must be >= 0)`);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) throw new Error(`${n}: ${where}: betas must be [beta1, beta2]`);
    g.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new Error(`${n}: ${where}: invalid betas[${i}] ${b} (must be in [0, 1))`);
    });
    if (!(g.weightDecay >= 0)) throw new Error(`${n}: ${where}: invalid weightDecay ${g.weightDecay} (must be >= 0)`);
    if (g.foreach !== undefined && g.foreach !== null && typeof g.foreach !== 'boolean') {
      throw new Error(`${n}: ${where}: foreach must be true, false or null, got ${String(g.foreach)}`);
    }
  }

  protected updateGroup(g: ParamGroup<AdamOptions>): void {
    const params: Tensor[] = [];
    const grads: Tensor[] = [];
    for (const p of g.params) {
      const grad = p.grad;
      if (grad) {
        params.push(p);
        grads.push(grad);
      }
    }
    if (params.length === 0) return;
    if (g.foreach === false) {
      params.forEach((p, i) => this.updateOne(g, p, grads[i]));
      return;
    }
    const devices = params.map((p) => p.device);
    // Parameters are always dense here (the addon makes no sparse tensors), so PyTorch 2.x's
    // rule for defaulting to foreach reduces to "all on one device".
    if (g.foreach ?? devices.every((d) => d === devices[0])) this.updateForeach(g, params, grads, devices);
    else params.forEach((p, i) => this.updateOne(g, p, grads[i]));
  }

  /** The parameter's state, created (zero moments, step 0) on its first update. */
  private stateOf(p: Tensor, g: ParamGroup<AdamOptions>): ParamState {
    let state = this.state.get(p);
    if (!state || state.step === undefined) {
      state = { step: 0, exp_avg: keep(zerosLike(p)), exp_avg_sq: keep(zerosLike(p)) };
      if (g.amsgrad) state.max_exp_avg_sq = keep(zerosLike(p));
      this.state.set(p, state);
    }
    return state;
  }

  private maxExpAvgSqOf(state: ParamState): Tensor {
    const maxSq = state.max_exp_avg_sq;
    if (!(maxSq instanceof Tensor)) throw new Error(`${this.name}: amsgrad is on but parameter state has no max_exp_avg_sq (state was made with amsgrad off)`);
    return maxSq;
  }

  /**
   * All parameters of the group at once. Buckets by device and dtype (as PyTorch does: a
   * foreach kernel wants one of each) and by step count (parameters skipped on some step lag
   * behind, and a bucket takes one bias correction); usually the whole group is one bucket.
   */
  private updateForeach(g: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[], devices: string[]): void {
    const [beta1, beta2] = g.betas;
    // Look everything up before counting the step, so a bad state changes nothing.
    const states = params.map((p) => this.stateOf(p, g));
    const maxSqs = g.amsgrad ? states.map((s) => this.maxExpAvgSqOf(s)) : [];
    const buckets = new Map<string, AdamBucket & { step: number }>();
    params.forEach((p, i) => {
      const state = states[i];
      const step = (state.step as number) + 1;
      state.step = step;
      const key = `${devices[i]}|${p.dtype}|${step}`;
      let b = buckets.get(key);
      if (!b) buckets.set(key, b = { params: [], grads: [], expAvgs: [], expAvgSqs: [], maxExpAvgSqs: [], step });
      b.params.push(p);
      b.grads.push(grads[i]);
      b.expAvgs.push(state.exp_avg as Tensor);
      b.expAvgSqs.push(state.exp_avg_sq as Tensor);
      if (g.amsgrad) b.maxExpAvgSqs.push(maxSqs[i]);
    });
    for (const b of buckets.values()) {
      multiTensorAdamStep(b, {
        lr: g.lr, beta1, beta2, eps: g.eps, weightDecay: g.weightDecay, amsgrad: g.amsgrad, maximize: g.maximize,
        decoupledWeightDecay: this.decoupledWeightDecay,
        biasCorrection1: 1 - this.powers.pow(beta1, b.step),
        biasCorrection2: 1 - this.powers.pow(beta2, b.step),
      });
    }
  }

  /** One parameter (PyTorch's foreach=False loop). */
  private updateOne(g: ParamGroup<AdamOptions>, p: Tensor, rawGrad: Tensor): void {
    const [beta1, beta2] = g.betas;
    const state = this.stateOf(p, g);
    const expAvg = state.exp_avg as Tensor;
    const expAvgSq = state.exp_avg_sq as Tensor;
    const step = (state.step as number) + 1;
    state.step = step;

    let grad = g.maximize ? rawGrad.neg() : rawGrad;
    if (this.decoupledWeightDecay) {
      if (g.weightDecay !== 0) p.mul_(1 - g.lr * g.weightDecay);
    } else if (g.weightDecay !== 0) {
      grad = grad.add(p, g.weightDecay);
    }
    expAvg.mul_(beta1).add_(grad, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

    const biasCorrection1 = 1 - this.powers.pow(beta1, step);
    const biasCorrection2 = 1 - this.powers.pow(beta2, step);
    const stepSize = g.lr / biasCorrection1;
    const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);

    let second = expAvgSq;
    if (g.amsgrad) {
      const maxSq = this.maxExpAvgSqOf(state);
      callT(MAXIMUM_OUT, maxSq, expAvgSq, maxSq);
      second = maxSq;
    }
    const denom = second.sqrt().div(biasCorrection2Sqrt).add_(g.eps);
    p.addcdiv_(expAvg, denom, -stepSize);
  }

  protected checkLoadedState(state: ParamState, g: ParamGroup<AdamOptions>, where: string): void {
    requireStateKeys(state, g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'], where, true);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); weightDecay defaults to 1e-2. */
export class AdamW extends Adam {
  protected override readonly decoupledWeightDecay: boolean = true;

  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...options });
  }
}
