// One training checkpoint = one safetensors file: the model's state dict under `model.`, the
// optimiser's moments under `optim.<param>.<key>`, libtorch's RNG state as `rng`, and JSON
// metadata (`kind`, `config`, `progress`, `optim` groups and scalar state). The file alone
// is enough to rebuild the model (from `config`) and to resume training exactly. Written
// atomically (saveSafetensors renames a finished temporary file), so a killed run leaves the
// previous checkpoint intact.
import * as torch from '../torch/index.js';

type Tensor = torch.Tensor;

export interface CheckpointContent<C, P> {
  kind: string;
  config: C;
  progress: P;
  model: torch.nn.Module;
  optimizer?: torch.optim.Optimizer<any>;
  /** Include the RNG state (latest checkpoints; not needed for a "best" model file). */
  rng?: boolean;
}

export function saveCheckpoint<C, P>(path: string, c: CheckpointContent<C, P>): void {
  const tensors = new Map<string, Tensor>();
  const owned: Tensor[] = [];
  for (const [k, v] of c.model.stateDict()) tensors.set(`model.${k}`, v);
  const metadata: Record<string, string> = {
    kind: c.kind,
    config: JSON.stringify(c.config),
    progress: JSON.stringify(c.progress),
  };
  if (c.optimizer) {
    const sd = c.optimizer.stateDict();
    const scalars: Record<string, Record<string, unknown>> = {};
    for (const [id, s] of Object.entries(sd.state)) {
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof torch.Tensor) {
          // The step counter comes back as a tensor; keep it as a number in the JSON.
          if (k === 'step') (scalars[id] ??= {})[k] = v.item();
          else tensors.set(`optim.${id}.${k}`, v);
          owned.push(v);
        } else {
          (scalars[id] ??= {})[k] = v;
        }
      }
    }
    metadata.optim = JSON.stringify({ param_groups: sd.param_groups, scalars });
  }
  if (c.rng) {
    const rng = torch.getRngState();
    owned.push(rng);
    tensors.set('rng', rng);
  }
  try {
    torch.io.saveSafetensors(path, tensors, metadata);
  } finally {
    for (const t of owned) t.dispose();
  }
}

export interface LoadedCheckpoint<C, P> {
  kind: string;
  config: C;
  progress: P;
  /** Model tensors, keys without the `model.` prefix; the caller disposes them. */
  model: Map<string, Tensor>;
  optim?: torch.optim.OptimizerStateDict;
  rng?: Tensor;
}

export function loadCheckpoint<C, P>(path: string, expectKind?: string): LoadedCheckpoint<C, P> {
  const header = torch.io.readSafetensorsHeader(path);
  const meta = header.metadata;
  const parse = (key: string) => {
    if (meta[key] === undefined) throw new Error(`${path}: not a drgan checkpoint (metadata lacks "${key}")`);
    try {
      return JSON.parse(meta[key]);
    } catch (err) {
      throw new Error(`${path}: metadata "${key}" is not valid JSON (${(err as Error).message})`);
    }
  };
  if (meta.kind === undefined) throw new Error(`${path}: not a drgan checkpoint (metadata lacks "kind")`);
  if (expectKind && meta.kind !== expectKind) throw new Error(`${path}: a "${meta.kind}" checkpoint, expected "${expectKind}"`);
  const all = torch.io.loadSafetensors(path);
  const model = new Map<string, Tensor>();
  const optimTensors = new Map<string, Tensor>();
  let rng: Tensor | undefined;
  for (const [k, v] of all) {
    if (k.startsWith('model.')) model.set(k.slice(6), v);
    else if (k.startsWith('optim.')) optimTensors.set(k.slice(6), v);
    else if (k === 'rng') rng = v;
    else v.dispose();
  }
  let optim: torch.optim.OptimizerStateDict | undefined;
  if (meta.optim !== undefined) {
    const o = parse('optim') as { param_groups: torch.optim.OptimizerStateDict['param_groups']; scalars: Record<string, Record<string, unknown>> };
    const state: Record<number, torch.optim.ParamState> = {};
    for (const [id, s] of Object.entries(o.scalars)) state[Number(id)] = { ...(s as torch.optim.ParamState) };
    for (const [k, v] of optimTensors) {
      const dot = k.indexOf('.');
      const id = Number(k.slice(0, dot));
      (state[id] ??= {})[k.slice(dot + 1)] = v;
    }
    optim = { state, param_groups: o.param_groups };
  } else {
    for (const v of optimTensors.values()) v.dispose();
  }
  return { kind: meta.kind, config: parse('config'), progress: parse('progress'), model, optim, rng };
}

/** Frees the tensors of a loaded checkpoint once they have been copied into a model/optimiser. */
export function disposeCheckpoint(c: LoadedCheckpoint<unknown, unknown>): void {
  for (const v of c.model.values()) v.dispose();
  if (c.optim) for (const s of Object.values(c.optim.state)) for (const v of Object.values(s)) if (v instanceof torch.Tensor) v.dispose();
  c.rng?.dispose();
}

/**
 * Puts a loaded checkpoint back into training: model weights, optimiser state and the CPU
 * generator, then frees the loaded tensors. Returns the saved progress.
 */
export function restoreCheckpoint<P>(c: LoadedCheckpoint<unknown, P>, model: torch.nn.Module, optimizer: torch.optim.Optimizer<any>): P { // eslint-disable-line @typescript-eslint/no-explicit-any
  model.loadStateDict(c.model);
  if (c.optim) optimizer.loadStateDict(c.optim);
  if (c.rng) torch.setRngState(c.rng);
  disposeCheckpoint(c);
  return c.progress;
}
