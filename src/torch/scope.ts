// Tensor lifetimes made explicit (tfjs-style): every tensor created inside `tidy(fn)` is
// disposed when fn returns, except those it returns or `keep()`s. Peaks stay predictable
// without waiting for the garbage collector (which remains the safety net).

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

interface Scope {
  tracked: Disposable[];
}

const stack: Scope[] = [];
const kept = new WeakSet<Disposable>();

/** Called by every new tensor: it belongs to the innermost open scope, if any. */
export function track<T extends Disposable>(t: T): T {
  if (stack.length > 0) stack[stack.length - 1].tracked.push(t);
  return t;
}

/** Exempts a tensor from disposal by any enclosing tidy (parameters, buffers, caches). */
export function keep<T extends Disposable>(t: T): T {
  kept.add(t);
  return t;
}

/**
 * Whether the innermost open tidy created t (or adopted it from a nested tidy's result) and
 * would dispose it on return: t is tracked there and not kept. Code running inside its own
 * tidy uses this to free an intermediate early, knowing nobody outside that tidy holds it.
 */
export function ownedByCurrentScope(t: Disposable): boolean {
  if (stack.length === 0 || kept.has(t)) return false;
  // Search from the end: the intermediate asked about is usually among the newest.
  return stack[stack.length - 1].tracked.lastIndexOf(t) >= 0;
}

function collect(value: unknown, into: Set<Disposable>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (typeof (value as Disposable).dispose === 'function' && 'isDisposed' in (value as object)) {
    into.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, seen);
}

/**
 * Runs fn and disposes every tensor it created that is neither returned (found in the
 * result's arrays, maps and plain objects) nor kept. Returned tensors join the parent scope.
 * fn must be synchronous: an async fn would escape the scope at its first await.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tracked: [] };
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const t of scope.tracked) if (!kept.has(t)) t.dispose();
    throw err;
  }
  stack.pop();
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    throw new Error('tidy(fn): fn returned a Promise; tidy only works with synchronous functions');
  }
  const survivors = new Set<Disposable>();
  collect(result, survivors, new Set());
  const parent = stack.length > 0 ? stack[stack.length - 1] : undefined;
  for (const t of scope.tracked) {
    if (survivors.has(t) || kept.has(t)) {
      if (parent && !kept.has(t)) parent.tracked.push(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Disposes every tensor found in value (arrays, maps, plain objects). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}
