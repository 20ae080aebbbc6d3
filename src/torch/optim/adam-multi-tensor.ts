// Adam's update for a list of parameters at once with _foreach_* ops: PyTorch 1.13's
// _multi_tensor_adam / _multi_tensor_adamw (capturable=False), op for op, so on CPU every
// parameter and moment gets the same bits as the per-parameter loop in adam.ts (ATen runs
// each foreach op on CPU as the plain per-tensor op). Python passes per-parameter bias
// corrections as scalar lists; the addon does not convert Scalar[], so the caller hands
// in a bucket whose parameters share one step count, hence one bias correction.
import type { Tensor } from '../tensor.js';
import {
  foreachAdd, foreachAdd_, foreachAddcdiv_, foreachAddcmul_, foreachDiv_, foreachMaximum_, foreachMul_, foreachNeg, foreachSqrt,
} from '../foreach.js';

/** Tensors of parameters on one device, of one dtype, at one step count. */
export interface AdamBucket {
  params: Tensor[];
  grads: Tensor[];
  expAvgs: Tensor[];
  expAvgSqs: Tensor[];
  /** The running maxima when amsgrad is on, else empty. */
  maxExpAvgSqs: Tensor[];
}

export interface AdamBucketOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  /** AdamW: decay parameters by lr * weightDecay instead of adding weightDecay * p to the gradient. */
  decoupledWeightDecay: boolean;
  /** 1 - beta1^step and 1 - beta2^step for the bucket's (shared, already incremented) step. */
  biasCorrection1: number;
  biasCorrection2: number;
}

/** One Adam step over a bucket, in place on params and moments; the grads are left untouched. */
export function multiTensorAdamStep(b: AdamBucket, o: AdamBucketOptions): void {
  const { params, expAvgs, expAvgSqs } = b;
  if (params.length === 0) return;
  // Gradients the step owns (negated or weight-decayed copies) are freed as soon as the
  // moments hold them: on a GPU a parameter-sized list is worth returning early.
  let grads = b.grads;
  const owned: Tensor[][] = [];
  if (o.maximize) owned.push(grads = foreachNeg(grads));
  if (o.decoupledWeightDecay) {
    // Python multiplies even when weightDecay is 0 (by exactly 1); skipping it saves a call.
    if (o.weightDecay !== 0) foreachMul_(params, 1 - o.lr * o.weightDecay);
  } else if (o.weightDecay !== 0) {
    // PyTorch 1.13 adds in place into p.grad here (a bug fixed in 2.x); never touch the caller's grads.
    if (o.maximize) foreachAdd_(grads, params, o.weightDecay);
    else owned.push(grads = foreachAdd(grads, params, o.weightDecay));
  }

  foreachMul_(expAvgs, o.beta1);
  foreachAdd_(expAvgs, grads, 1 - o.beta1);
  foreachMul_(expAvgSqs, o.beta2);
  foreachAddcmul_(expAvgSqs, grads, grads, 1 - o.beta2);
  for (const list of owned) for (const t of list) t.dispose();

  const stepSize = o.lr / o.biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(o.biasCorrection2);
  let second = expAvgSqs;
  if (o.amsgrad) {
    foreachMaximum_(b.maxExpAvgSqs, expAvgSqs);
    second = b.maxExpAvgSqs;
  }
  // Python adds eps out of place (_foreach_add); in place on the fresh sqrt list is the same
  // arithmetic with one list fewer alive.
  const denom = foreachSqrt(second);
  foreachDiv_(denom, biasCorrection2Sqrt);
  foreachAdd_(denom, o.eps);
  foreachAddcdiv_(params, expAvgs, denom, -stepSize);
  for (const t of denom) t.dispose();
}
