// Loads test/fixtures/optim/optim.json (written by scripts/reference/optim.py) and builds
// the parameters and gradients it describes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../src/torch/index.js';

export interface TensorJson { shape: number[]; data: number[] }
export interface OptimCase {
  name: 'sgd' | 'adam' | 'adamw';
  options: Record<string, unknown>;
  groups?: ({ params: number[] } & Record<string, unknown>)[];
  history: number[][][];
  stateDict?: { state: Record<string, Record<string, TensorJson | number | null>>; param_groups: Record<string, unknown>[] };
}
export interface OptimFixture {
  params0: TensorJson[];
  grads: (TensorJson | null)[][];
  optimizers: OptimCase[];
  groupCase: OptimCase;
  schedulers: { name: string; options: Record<string, number>; lrs: number[][] }[];
  clip: { grads: TensorJson[]; cases: { maxNorm: number; normType: number | 'inf'; total: number; grads: number[][] }[] };
}

const path = fileURLToPath(new URL('../../../../test/fixtures/optim/optim.json', import.meta.url));
export const fixture: OptimFixture = JSON.parse(readFileSync(path, 'utf8'));

export function fromJson(t: TensorJson): torch.Tensor {
  return torch.tensor(Float32Array.from(t.data), t.shape);
}

/** Fresh leaf parameters holding the fixture's starting values. */
export function freshParams(): torch.Tensor[] {
  return fixture.params0.map((p) => fromJson(p).requiresGrad_(true));
}

/** Gives each parameter the fixture's gradient for this step (or none). */
export function setGrads(params: torch.Tensor[], step: number): void {
  params.forEach((p, i) => {
    const g = fixture.grads[step][i];
    p.grad = g ? fromJson(g) : null;
  });
}

type Ctor = new (params: torch.optim.ParamsArg<any>, options: any) => torch.optim.Optimizer<any>;
export const OPTIMIZERS: Record<OptimCase['name'], Ctor> = { sgd: torch.optim.SGD, adam: torch.optim.Adam, adamw: torch.optim.AdamW };

/** The optimiser a case describes, over the given parameters. */
export function build(c: OptimCase, params: torch.Tensor[]): torch.optim.Optimizer<any> {
  const ctor = OPTIMIZERS[c.name];
  if (!c.groups) return new ctor(params, c.options);
  return new ctor(c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]) })), c.options);
}

/** Float32 values as JS numbers, for exact comparison with Python's tolist(). */
export function values(t: torch.Tensor): number[] {
  return Array.from(t.dataSync() as Float32Array);
}

export function describe(c: OptimCase): string {
  return `${c.name} ${JSON.stringify(c.options)}${c.groups ? ' groups ' + JSON.stringify(c.groups) : ''}`;
}
