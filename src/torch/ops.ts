// Resolves ATen operators once by name and calls them through the addon's generic entry
// point. Typed wrappers (tensor.ts, functional.ts) sit on top; `aten(name)` reaches the rest.
import { native, type OpHandle, type RawResult } from './native.js';

export interface OpRef {
  readonly name: string;
  readonly overload: string;
  handle(): OpHandle;
}

const resolved = new Map<string, OpHandle>();

/** A lazily resolved operator: `opRef('add', 'Tensor')` is aten::add.Tensor. */
export function opRef(name: string, overload = ''): OpRef {
  const key = `${name}.${overload}`;
  let cached: OpHandle | undefined;
  return {
    name,
    overload,
    handle() {
      if (cached) return cached;
      cached = resolved.get(key);
      if (!cached) {
        cached = native.findOp(name.includes('::') ? name : `aten::${name}`, overload);
        resolved.set(key, cached);
      }
      return cached;
    },
  };
}

export function callRaw(op: OpRef, args: unknown[]): RawResult {
  return native.callOp(op.handle(), args);
}

/** The full schema text of an operator, e.g. for `aten::conv2d`. */
export function schemaOf(name: string, overload = ''): string {
  return native.opSchema(opRef(name, overload).handle());
}
