// The module base (torch.nn.Module): a module owns parameters, buffers and submodules,
// registered explicitly under names. Those names, joined by dots along the attribute path,
// are the state dict keys (`encoder.blocks.2.conv.weight`), so weights saved here load in
// PyTorch and back without a mapping table.
//
// Registration is explicit, in declaration order, and the registering call returns what
// it registered so the field and the registry are set in one line:
//
//   class Block extends Module {
//     readonly conv = this.registerModule('conv', new Conv2d(3, 8, 3, { padding: 1 }));
//     readonly scale = this.registerParameter('scale', torch.ones([8, 1, 1]));
//     forward(x: Tensor): Tensor { return this.conv.forward(x).mul(this.scale); }
//   }
//
// The registry, not the field, is the truth for stateDict/parameters/to/dispose: to swap a
// parameter or child, register again under the same name (and update the field).
import { noGrad } from '../autograd.js';
import { isFloating, type DType } from '../dtype.js';
import { opRef } from '../ops.js';
import { keep } from '../scope.js';
import { Tensor, call, type Device } from '../tensor.js';

/** An ordered state dict: dotted attribute path -> tensor. */
export type StateDict = Map<string, Tensor>;

export interface LoadStateDictOptions {
  /** Missing or unexpected keys are errors (default true). Shape mismatches always are. */
  strict?: boolean;
}
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface RegisterBufferOptions {
  /** Whether the buffer is part of the state dict (default true), as in PyTorch. */
  persistent?: boolean;
}

// Replaces a tensor's data (dtype, device) while keeping the same tensor object, so that
// fields, optimisers and state dicts holding it stay valid (PyTorch's `param.data = ...`).
const SET_DATA = opRef('set_data');

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new Error(`${kind} name must be a non-empty string without ".", got ${JSON.stringify(name)}`);
  }
}

export abstract class Module {
  /** Training mode (batch norm statistics, dropout); set by train()/eval(). */
  training = true;
  // Declaration order is the order of parameters(), stateDict() and the repr.
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module | null>();

  /** The computation. Subclasses narrow the signature, e.g. `forward(x: Tensor): Tensor`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...inputs: any[]): any;

  /** forward(), for call sites that read better as "call the module". */
  call(...inputs: Parameters<this['forward']>): ReturnType<this['forward']> {
    return this.forward(...inputs);
  }

  // ---- registration

  /**
   * Registers a parameter (a leaf tensor; floating ones get requiresGrad). null reserves the
   * name (like PyTorch's `bias=None`): absent from parameters and state dict.
   * The tensor is kept from any enclosing tidy().
   */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    checkName('parameter', name);
    this.checkFree(name, this._parameters);
    if (t !== null) {
      if (!t.isLeaf) throw new Error(`registerParameter("${name}"): a parameter must be a leaf tensor; create it under noGrad() or pass t.detach()`);
      keep(t);
      if (isFloating(t.dtype) && !t.requiresGrad) t.requiresGrad_(true);
    }
    this._parameters.set(name, t);
    return t;
  }

  /** Registers a buffer: state that is not trained (running statistics, counters). */
  registerBuffer<T extends Tensor | null>(name: string, t: T, o: RegisterBufferOptions = {}): T {
    checkName('buffer', name);
    this.checkFree(name, this._buffers);
    if (t !== null) keep(t);
    this._buffers.set(name, t);
    if (o.persistent === false) this._nonPersistent.add(name);
    else this._nonPersistent.delete(name);
    return t;
  }

  /** Registers a submodule; its entries appear under `name.` in names and state dicts. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    checkName('module', name);
    this.checkFree(name, this._modules);
    if (m !== null && !(m instanceof Module)) throw new Error(`registerModule("${name}"): expected a Module, got ${typeof m}`);
    this._modules.set(name, m);
    return m;
  }

  private checkFree(name: string, own: Map<string, unknown>): void {
    for (const m of [this._parameters, this._buffers, this._modules]) {
      if (m !== own && m.has(name)) throw new Error(`cannot register "${name}" on ${this.constructor.name}: the name is taken by another parameter, buffer or module`);
    }
  }

  // ---- traversal

  /** Direct children in registration order. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [n, m] of this._modules) if (m) out.push([n, m]);
    return out;
  }
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all descendants, depth first, each once (shared modules too). */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.namedChildren()) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n, seen));
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with dotted names; a tensor shared by two modules is listed once. */
  namedParameters(recurse = true): [string, Tensor][] {
    return this.namedTensors(this.walk(recurse), (m) => m._parameters, false);
  }
  parameters(recurse = true): Tensor[] {
    return this.namedParameters(recurse).map(([, t]) => t);
  }
  /** Buffers with dotted names (persistent and not). */
  namedBuffers(recurse = true): [string, Tensor][] {
    return this.namedTensors(this.walk(recurse), (m) => m._buffers, false);
  }
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers(recurse).map(([, t]) => t);
  }

  private walk(recurse: boolean): [string, Module][] {
    return recurse ? this.namedModules() : [['', this]];
  }
  private namedTensors(mods: [string, Module][], pick: (m: Module) => Map<string, Tensor | null>, keepDuplicates: boolean): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of mods) {
      for (const [n, t] of pick(m)) {
        if (!t || (!keepDuplicates && seen.has(t))) continue;
        seen.add(t);
        out.push([prefix ? `${prefix}.${n}` : n, t]);
      }
    }
    return out;
  }

  /** A descendant by dotted path ("encoder.blocks.2"); throws naming the missing part. */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let cur: Module = this;
    for (const part of path.split('.')) {
      const next = cur._modules.get(part);
      if (!next) throw new Error(`getSubmodule("${path}"): ${cur.constructor.name} has no submodule "${part}"`);
      cur = next;
    }
    return cur;
  }

  /** Total elements of all parameters (optionally only those that require grad). */
  numParameters(onlyTrainable = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!onlyTrainable || p.requiresGrad) n += p.numel;
    return n;
  }

  // ---- state dict

  /**
   * Parameters, then persistent buffers, of each module in depth-first order (PyTorch's
   * order and keys). Values are the LIVE tensors, not copies: do not dispose them, and
   * clone() them if you need a snapshot that later training must not change. Shared
   * tensors appear under every name, as in PyTorch.
   */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    this.collectState('', sd);
    return sd;
  }
  private collectState(prefix: string, sd: StateDict): void {
    for (const [n, t] of this._parameters) if (t) sd.set(prefix + n, t);
    for (const [n, t] of this._buffers) if (t && !this._nonPersistent.has(n)) sd.set(prefix + n, t);
    for (const [n, m] of this._modules) if (m) m.collectState(`${prefix}${n}.`, sd);
  }

  /**
   * Copies values into the live parameters and buffers (in place, without recording
   * gradients, converting dtype and device). Everything is checked before anything is
   * copied: one error names every missing key, unexpected key and shape mismatch.
   */
  loadStateDict(source: Map<string, Tensor> | Record<string, Tensor>, o: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = o.strict ?? true;
    const given = source instanceof Map ? source : new Map(Object.entries(source));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    for (const [k, dst] of own) {
      const src = given.get(k);
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) problems.push(`  "${k}": expected a Tensor, got ${src === null ? 'null' : typeof src}`);
      else if (src.isDisposed) problems.push(`  "${k}": the given tensor is disposed`);
      else if (!sameShape(src.shape, dst.shape)) problems.push(`  "${k}": shape [${src.shape.join(', ')}] in the state dict, [${dst.shape.join(', ')}] in the model`);
    }
    if (strict && missingKeys.length > 0) problems.unshift(`  missing keys: ${missingKeys.map((k) => `"${k}"`).join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`  unexpected keys: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
    if (problems.length > 0) {
      throw new Error(`loadStateDict into ${this.constructor.name} failed (nothing was copied):\n${problems.join('\n')}`);
    }
    noGrad(() => {
      for (const [k, dst] of own) {
        const src = given.get(k);
        if (src && src !== dst) dst.copy_(src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- modes and whole-model operations

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every descendant, then on this module (children first, like PyTorch). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Moves to a device and/or converts floating parameters and buffers to a dtype (integer
   * buffers such as num_batches_tracked keep theirs, as in PyTorch). The tensor objects stay
   * the same, so references held by fields and optimisers remain valid; grads follow.
   */
  to(target: DType | Device | { dtype?: DType; device?: Device }): this {
    const opts = typeof target === 'string' ? (isDTypeName(target) ? { dtype: target } : { device: target }) : target;
    if (opts.dtype && !isFloating(opts.dtype)) throw new Error(`Module.to: dtype must be floating point, got ${opts.dtype}`);
    const convert = (t: Tensor): Tensor => t.to({ device: opts.device, dtype: isFloating(t.dtype) ? opts.dtype : undefined });
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.buffers()]) {
        const data = convert(t);
        if (data === t) continue;
        const g = t.grad;
        if (g) t.grad = null;
        call(SET_DATA, t, data);
        data.dispose();
        if (g) {
          t.grad = convert(g);
          g.dispose();
        }
      }
    });
    return this;
  }
  float(): this { return this.to('float32'); }
  double(): this { return this.to('float64'); }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) if (p.grad) p.grad = null;
  }

  /** Turns gradient recording on or off for every parameter (false freezes the module). */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad_(on);
    return this;
  }

  /** Frees every parameter and buffer (the module is unusable afterwards). */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) {
      if (t.grad) t.grad = null;
      t.dispose();
    }
  }

  // ---- printing

  /** One line of settings shown in the repr, e.g. "3, 8, kernelSize=[3, 3]". */
  extraRepr(): string {
    return '';
  }
  toString(): string {
    const children = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (children.length === 0) return `${head})`;
    const lines = children.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function isDTypeName(s: string): s is DType {
  return ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'].includes(s);
}
