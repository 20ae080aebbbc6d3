// Finite-difference gradient checking in float64, as torch.autograd.gradcheck: compares the
// gradients autograd computes with central differences of the function itself.
import * as torch from '../../src/torch/index.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /**
   * Outputs with at most this many elements get their full Jacobian checked row by row;
   * larger ones are checked through `probes` random vector-Jacobian products (default 64).
   */
  maxFullRows?: number;
  /** Random output directions v for v^T J when the output is large (default 3). */
  probes?: number;
}

type Fn = (...inputs: torch.Tensor[]) => torch.Tensor;

/**
 * Checks d fn / d inputs for every input that requires grad. Inputs must be float64.
 * Returns true, or throws an Error naming the input, the Jacobian entry and both values.
 * fn must be deterministic and must not modify its inputs.
 */
export function gradcheck(fn: Fn, inputs: torch.Tensor[], opts: GradcheckOptions = {}): true {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const maxFullRows = opts.maxFullRows ?? 64;
  const probes = opts.probes ?? 3;
  inputs.forEach((t, i) => {
    if (t.dtype !== 'float64') throw new Error(`gradcheck: input ${i} is ${t.dtype}; finite differences need float64`);
  });
  const checked = inputs.map((t, i) => i).filter((i) => inputs[i].requiresGrad);
  if (checked.length === 0) throw new Error('gradcheck: no input requires grad');

  const values = inputs.map((t) => Float64Array.from(t.dataSync() as Float64Array));
  const evaluate = (which: number, data: Float64Array): Float64Array =>
    torch.tidy(() => torch.noGrad(() => {
      const args = inputs.map((t, i) => (i === which ? torch.tensor(data, t.shape, { dtype: 'float64' }) : t.detach()));
      return Float64Array.from(fn(...args).dataSync() as Float64Array);
    }));

  // Numerical Jacobian, one column per input element: J[:, j] = (f(x + eps e_j) - f(x - eps e_j)) / 2 eps.
  const numerical = new Map<number, Float64Array[]>();
  let outNumel = -1;
  for (const i of checked) {
    const x = values[i];
    const cols: Float64Array[] = [];
    for (let j = 0; j < x.length; j++) {
      const plus = Float64Array.from(x); plus[j] += eps;
      const minus = Float64Array.from(x); minus[j] -= eps;
      const fp = evaluate(i, plus), fm = evaluate(i, minus);
      outNumel = fp.length;
      cols.push(fp.map((v, r) => (v - fm[r]) / (2 * eps)));
    }
    numerical.set(i, cols);
  }

  // Analytical rows (or random projections) through autograd.grad on one recorded graph.
  const directions: Float64Array[] = [];
  if (outNumel <= maxFullRows) {
    for (let r = 0; r < outNumel; r++) { const v = new Float64Array(outNumel); v[r] = 1; directions.push(v); }
  } else {
    let seed = 12345;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    for (let p = 0; p < probes; p++) directions.push(Float64Array.from({ length: outNumel }, next));
  }
  torch.tidy(() => {
    const out = fn(...inputs);
    if (out.numel !== outNumel) throw new Error(`gradcheck: output has ${out.numel} elements with grad on, ${outNumel} without`);
    directions.forEach((v, d) => {
      const gradOut = torch.tensor(v, out.shape, { dtype: 'float64' });
      const grads = torch.grad(out, checked.map((i) => inputs[i]), { gradOutputs: [gradOut], retainGraph: true, allowUnused: true });
      checked.forEach((i, n) => {
        const analytic = grads[n] ? (grads[n]!.dataSync() as Float64Array) : new Float64Array(values[i].length);
        const cols = numerical.get(i)!;
        for (let j = 0; j < cols.length; j++) {
          let num = 0;
          for (let r = 0; r < outNumel; r++) num += v[r] * cols[j][r];
          const a = analytic[j];
          if (!(Math.abs(a - num) <= atol + rtol * Math.abs(num))) {
            const where = directions.length === outNumel ? `d out[${d}] / d input${i}[${j}]` : `(v${d}^T J) for input${i}[${j}]`;
            throw new Error(`gradcheck: Jacobian mismatch at ${where}: analytical ${a}, numerical ${num} (atol ${atol}, rtol ${rtol})`);
          }
        }
      });
    });
  });
  return true;
}
