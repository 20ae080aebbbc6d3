// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), op for op as
// PyTorch 1.13 so the total norm and the scaled gradients match Python's.
import { Tensor, callT } from '../tensor.js';
import { opRef } from '../ops.js';
import { stack, zeros } from '../creation.js';
import { noGrad } from '../autograd.js';
import { tidy } from '../scope.js';

const NORM = opRef('norm', 'ScalarOpt_dim');

/** torch.norm(t, p) with no dim: aten::norm over every dimension. */
function pNorm(t: Tensor, p: number): Tensor {
  return callT(NORM, t, p, Array.from({ length: t.ndim }, (_, i) => i), false);
}

function gradsOf(params: Tensor | Tensor[]): Tensor[] {
  const list = params instanceof Tensor ? [params] : params;
  if (!Array.isArray(list)) throw new Error('clipGrad: params must be a Tensor or an array of Tensors');
  return list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
}

/**
 * Scales all gradients together so their joint normType-norm is at most maxNorm; returns
 * the norm before clipping (a 0-d tensor the caller owns). normType may be Infinity.
 */
export function clipGradNorm_(params: Tensor | Tensor[], maxNorm: number, normType = 2, errorIfNonfinite = false): Tensor {
  if (!(typeof maxNorm === 'number' && maxNorm >= 0)) throw new Error(`clipGradNorm_: maxNorm must be a number >= 0 (got ${maxNorm})`);
  if (!(typeof normType === 'number' && normType > 0)) throw new Error(`clipGradNorm_: normType must be a positive number or Infinity (got ${normType})`);
  return noGrad(() => tidy(() => {
    const grads = gradsOf(params);
    if (grads.length === 0) return zeros([]);
    const total = normType === Infinity
      ? (grads.length === 1 ? grads[0].abs().max() : stack(grads.map((g) => g.abs().max())).max())
      : pNorm(stack(grads.map((g) => pNorm(g, normType))), normType);
    if (errorIfNonfinite && !total.isfinite().item()) {
      throw new Error(`clipGradNorm_: the total norm of order ${normType} of the gradients is non-finite (${total.item()}); set errorIfNonfinite false to scale by it anyway`);
    }
    // Python's `max_norm / tensor` is tensor.reciprocal() * max_norm.
    const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1.0);
    for (const g of grads) g.mul_(coef);
    return total;
  }));
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue_(params: Tensor | Tensor[], clipValue: number): void {
  if (!(typeof clipValue === 'number' && clipValue >= 0)) throw new Error(`clipGradValue_: clipValue must be a number >= 0 (got ${clipValue})`);
  noGrad(() => tidy(() => {
    for (const g of gradsOf(params)) g.clamp_(-clipValue, clipValue);
  }));
}
