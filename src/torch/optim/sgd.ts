// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay:
// PyTorch 1.13's _single_tensor_sgd, op for op, so parameters match Python bit for bit.
import type { Tensor } from '../tensor.js';
import { keep } from '../scope.js';
import { Optimizer, requireStateKeys, type GroupOptions, type ParamGroup, type ParamsArg, type ParamState } from './optimizer.js';

export interface SGDOptions extends GroupOptions {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArg<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    if (typeof options?.lr !== 'number') throw new Error('SGD: options.lr is required (there is no default learning rate)');
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options });
  }

  protected override checkOptions(g: ParamGroup<SGDOptions>, where: string): void {
    super.checkOptions(g, where);
    if (!(g.momentum >= 0)) throw new Error(`SGD: ${where}: invalid momentum ${g.momentum} (must be >= 0)`);
    if (!(g.weightDecay >= 0)) throw new Error(`SGD: ${where}: invalid weightDecay ${g.weightDecay} (must be >= 0)`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new Error(`SGD: ${where}: nesterov needs momentum > 0 and dampening 0 (got momentum ${g.momentum}, dampening ${g.dampening})`);
    }
  }

  protected updateGroup(g: ParamGroup<SGDOptions>): void {
    for (const p of g.params) {
      const grad = p.grad;
      if (!grad) continue;
      let dP: Tensor = g.maximize ? grad.neg() : grad;
      if (g.weightDecay !== 0) dP = dP.add(p, g.weightDecay);
      let state = this.state.get(p);
      if (!state) this.state.set(p, (state = {}));
      if (g.momentum !== 0) {
        let buf = state.momentum_buffer as Tensor | null | undefined;
        if (!buf) {
          buf = keep(dP.clone());
          state.momentum_buffer = buf;
        } else {
          buf.mul_(g.momentum).add_(dP, 1 - g.dampening);
        }
        dP = g.nesterov ? dP.add(buf, g.momentum) : buf;
      } else if (!('momentum_buffer' in state)) {
        state.momentum_buffer = null; // PyTorch records the absent buffer too
      }
      p.add_(dP, -g.lr);
    }
  }

  protected checkLoadedState(state: ParamState, g: ParamGroup<SGDOptions>, where: string): void {
    // A buffer is created lazily at the first step, so null (or absent) is valid state.
    if (state.momentum_buffer != null) requireStateKeys(state, ['momentum_buffer'], where, false);
    void g;
  }
}
