// Containers: Sequential (a pipeline), ModuleList and ModuleDict (registered collections).
// List children are named "0", "1", ...; dict children by their keys, so state dict keys
// read `blocks.2.conv.weight` exactly as in PyTorch.
import { isGradEnabled } from '../../autograd.js';
import { ownedByCurrentScope, tidy } from '../../scope.js';
import { Tensor } from '../../tensor.js';
import { Module } from '../module.js';

function index(i: number, length: number, what: string): number {
  const j = i < 0 ? i + length : i;
  if (!Number.isInteger(j) || j < 0 || j >= length) throw new Error(`${what}: index ${i} out of range for length ${length}`);
  return j;
}

/** Runs its children in order, each on the previous one's output. */
export class Sequential extends Module {
  private readonly items: Module[] = [];

  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** A Sequential whose children have names instead of numbers (PyTorch's OrderedDict form). */
  static named(entries: Record<string, Module> | [string, Module][]): Sequential {
    const s = new Sequential();
    for (const [n, m] of Array.isArray(entries) ? entries : Object.entries(entries)) {
      s.registerModule(n, m);
      s.items.push(m);
    }
    return s;
  }

  append(m: Module): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number { return this.items.length; }
  at(i: number): Module { return this.items[index(i, this.items.length, 'Sequential.at')]; }
  [Symbol.iterator](): Iterator<Module> { return this.items[Symbol.iterator](); }

  // Without autograd, nothing but this loop refers to a child's output once the next child
  // has read it, so it is freed then rather than when the caller's tidy ends: the peak is
  // about two layers' activations instead of all of them (one DR-GAN synthesis at
  // R = 1280, paper widths: 3,023 -> 1,464 MiB; docs/benchmarks.md). With autograd recording,
  // the graph keeps what backward needs whatever is freed here, so the loop leaves
  // everything to this call's tidy. Only tensors created inside this call are freed:
  // never the caller's input, the result, a kept tensor (parameter, buffer, cache), or a
  // child's output that is its input (Identity, in-place layers).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(x: any): any {
    if (isGradEnabled() && x instanceof Tensor && x.requiresGrad) {
      let y = x;
      for (const m of this.items) y = m.forward(y);
      return y;
    }
    return tidy(() => {
      let y = x;
      for (const m of this.items) {
        const next = m.forward(y);
        if (y !== x && y !== next && y instanceof Tensor && next instanceof Tensor &&
            !(isGradEnabled() && next.requiresGrad) && ownedByCurrentScope(y)) {
          y.dispose();
        }
        y = next;
      }
      return y;
    });
  }
}

/** An indexed list of submodules; forward is yours to write in the owner. */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    this.extend(modules);
  }

  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  get length(): number { return this.items.length; }
  at(i: number): M { return this.items[index(i, this.items.length, 'ModuleList.at')]; }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
  map<T>(fn: (m: M, i: number) => T): T[] { return this.items.map(fn); }

  forward(): never {
    throw new Error('ModuleList has no forward(): iterate over it in the owning module');
  }
}

/** Submodules by name, in insertion order. */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();

  constructor(modules: Record<string, M> | Iterable<[string, M]> = {}) {
    super();
    const entries = Symbol.iterator in modules ? (modules as Iterable<[string, M]>) : Object.entries(modules as Record<string, M>);
    for (const [k, m] of entries) this.set(k, m);
  }

  set(key: string, m: M): this {
    this.registerModule(key, m);
    this.items.set(key, m);
    return this;
  }
  /** The module under key; throws naming the known keys if absent. */
  get(key: string): M {
    const m = this.items.get(key);
    if (!m) throw new Error(`ModuleDict: no module "${key}" (keys: ${[...this.items.keys()].join(', ') || 'none'})`);
    return m;
  }
  has(key: string): boolean { return this.items.has(key); }
  keys(): string[] { return [...this.items.keys()]; }
  values(): M[] { return [...this.items.values()]; }
  entries(): [string, M][] { return [...this.items.entries()]; }
  get size(): number { return this.items.size; }

  forward(): never {
    throw new Error('ModuleDict has no forward(): look modules up in the owning module');
  }
}
