// The optimiser base (torch.optim.Optimizer): parameter groups with per-group options,
// per-parameter state, zeroGrad, and state dicts in PyTorch's layout (state keyed by the
// parameter's index across groups, options in snake_case) so a run resumes exactly and a
// checkpoint's optimiser state reads the same in Python.
import { Tensor } from '../tensor.js';
import { full } from '../creation.js';
import { noGrad } from '../autograd.js';
import { keep, tidy } from '../scope.js';

/** Options every optimiser's groups carry; subclasses add theirs. */
export interface GroupOptions {
  lr: number;
}

/** A parameter group as the optimiser holds it: tensors plus resolved options. */
export type ParamGroup<O extends GroupOptions> = O & { params: Tensor[]; initialLr?: number };

/** What a constructor accepts: parameters, or groups overriding some defaults. */
export type ParamsArg<O extends GroupOptions> = Tensor[] | ({ params: Tensor[] } & Partial<O>)[];

/** One parameter's state: tensors (exp_avg, momentum_buffer...), the step count, or null. */
export type ParamState = Record<string, Tensor | number | null>;

/** PyTorch's optimizer.state_dict() layout. Tensors are copies owned by the caller. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: ({ params: number[] } & Record<string, unknown>)[];
}

const camelToSnake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const snakeToCamel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export abstract class Optimizer<O extends GroupOptions> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly defaults: Readonly<O>;
  protected readonly state = new Map<Tensor, ParamState>();

  protected constructor(params: ParamsArg<O>, defaults: O) {
    this.defaults = defaults;
    if (!Array.isArray(params) || params.length === 0) throw new Error(`${this.name}: got an empty parameter list`);
    const groups = (params[0] instanceof Tensor ? [{ params: params as Tensor[] }] : params) as ({ params: Tensor[] } & Partial<O>)[];
    for (const g of groups) this.addParamGroup(g);
  }

  /** The optimiser's name, for error messages. */
  protected get name(): string {
    return this.constructor.name;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() => tidy(() => {
      for (const group of this.paramGroups) this.updateGroup(group);
    }));
  }

  /** Updates one group; runs under noGrad inside a tidy scope (new state must be keep()'d). */
  protected abstract updateGroup(group: ParamGroup<O>): void;

  /** Checks a loaded parameter state holds what this optimiser needs; throws naming what lacks. */
  protected abstract checkLoadedState(state: ParamState, group: ParamGroup<O>, where: string): void;

  addParamGroup(group: { params: Tensor[] } & Partial<O>): void {
    if (!group || !Array.isArray(group.params) || group.params.length === 0) {
      throw new Error(`${this.name}: param group ${this.paramGroups.length} has no params (expected {params: Tensor[], ...options})`);
    }
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    group.params.forEach((p, i) => {
      const where = `param group ${this.paramGroups.length}, params[${i}]`;
      if (!(p instanceof Tensor)) throw new Error(`${this.name}: ${where} is not a Tensor`);
      if (!p.isLeaf) throw new Error(`${this.name}: ${where} is not a leaf tensor (optimise the tensor you created, not a result computed from it)`);
      if (seen.has(p)) throw new Error(`${this.name}: ${where} appears in more than one place; each parameter may be optimised once`);
      seen.add(p);
    });
    const resolved = { ...this.defaults, ...group, params: [...group.params] } as ParamGroup<O>;
    this.checkOptions(resolved, `param group ${this.paramGroups.length}`);
    this.paramGroups.push(resolved);
  }

  /** Validates a group's options (ranges, combinations); throws naming the option. */
  protected checkOptions(group: ParamGroup<O>, where: string): void {
    if (!(group.lr >= 0)) throw new Error(`${this.name}: ${where}: invalid lr ${group.lr} (must be >= 0)`);
  }

  /** Clears gradients: to null by default (PyTorch's set_to_none), or to zeros. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) {
          p.grad = null;
        } else {
          const g = p.grad;
          if (g) {
            noGrad(() => g.zero_());
            g.dispose();
          }
        }
      }
    }
  }

  /** A snapshot of the state in PyTorch's layout; the caller owns (and disposes) its tensors. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const param_groups = this.paramGroups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') packed[camelToSnake(k)] = Array.isArray(v) ? [...v] : v;
      packed.params = g.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return packed as { params: number[] } & Record<string, unknown>;
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        if (k === 'step' && typeof v === 'number') copy[k] = full([], v, { dtype: 'float32' });
        else copy[k] = v instanceof Tensor ? noGrad(() => v.clone()) : v;
      }
      state[index.get(p)!] = copy;
    }
    return { state, param_groups };
  }

  /**
   * Restores a state from stateDict() (or PyTorch's, converted). The dict is copied, so the
   * caller still owns its tensors. Throws, changing nothing, when it does not fit these groups.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || typeof sd.state !== 'object' || sd.state === null) {
      throw new Error(`${this.name}.loadStateDict: expected {state, param_groups} as written by stateDict()`);
    }
    const saved = sd.param_groups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(`${this.name}.loadStateDict: the saved state has ${saved.length} parameter group(s) but this optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, { param: Tensor; group: ParamGroup<O>; where: string }>();
    saved.forEach((sg, gi) => {
      const group = this.paramGroups[gi];
      if (!Array.isArray(sg.params) || sg.params.length !== group.params.length) {
        throw new Error(`${this.name}.loadStateDict: saved param group ${gi} has ${sg.params?.length ?? 'no'} parameters but this optimizer's group ${gi} has ${group.params.length}`);
      }
      sg.params.forEach((id, pi) => byIndex.set(id, { param: group.params[pi], group, where: `parameter ${id} (group ${gi}, params[${pi}])` }));
    });
    // Validate everything before changing anything, so a bad dict leaves the optimiser intact.
    const entries = Object.entries(sd.state).map(([key, s]) => {
      const target = byIndex.get(Number(key));
      if (!target) throw new Error(`${this.name}.loadStateDict: state for parameter index ${key}, which no saved param group lists`);
      const { param, group, where } = target;
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor && k !== 'step' && !sameShape(v.shape, param.shape)) {
          throw new Error(`${this.name}.loadStateDict: ${where}: ${k} has shape [${v.shape.join(', ')}] but the parameter has shape [${param.shape.join(', ')}]`);
        }
      }
      this.checkLoadedState(s, group, `${this.name}.loadStateDict: ${where}`);
      return { param, s };
    });
    const newGroups = saved.map((sg, gi) => {
      const options: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(sg)) {
        const key = snakeToCamel(k);
        if (k !== 'params' && (key in this.paramGroups[gi] || key === 'initialLr')) options[key] = Array.isArray(v) ? [...v] : v;
      }
      const g = { ...this.paramGroups[gi], ...options, params: this.paramGroups[gi].params } as ParamGroup<O>;
      this.checkOptions(g, `loadStateDict: saved param group ${gi}`);
      return g;
    });

    this.disposeState();
    for (const { param, s } of entries) {
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        if (k === 'step') copy[k] = v instanceof Tensor ? v.item() : v;
        else if (v instanceof Tensor) copy[k] = keep(noGrad(() => v.to({ dtype: param.dtype, device: param.device }).clone()));
        else copy[k] = v;
      }
      this.state.set(param, copy);
    }
    newGroups.forEach((g, gi) => { this.paramGroups[gi] = g; });
  }

  /** Frees the state tensors (moments, momentum buffers); the optimiser starts afresh. */
  disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks a loaded state has tensor entries under the given keys and a numeric step. */
export function requireStateKeys(state: ParamState, keys: string[], where: string, needStep: boolean): void {
  if (needStep) {
    const step = state.step;
    if (!(typeof step === 'number' || step instanceof Tensor)) throw new Error(`${where}: the state lacks "step"; was it saved by a different optimizer?`);
  }
  for (const k of keys) {
    if (!(state[k] instanceof Tensor)) throw new Error(`${where}: the state lacks tensor "${k}"; was it saved by a different optimizer or with other options?`);
  }
}
