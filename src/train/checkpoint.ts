// A training checkpoint with several networks and optimisers (DR-GAN: G and D) in ONE
// safetensors file: weights under `module.<name>.<key>`, optimiser tensors under
// `optim.<name>.<param index>.<key>`, libtorch's RNG state as `rng`, and JSON metadata
// "drgan.checkpoint" = {kind, version, state (stage, step, loader position, config, ...),
// optim (param groups and scalar state)}. "drgan.sha256" holds a SHA-256 over the tensor
// table, the other metadata and the data section, so a truncated or bit-flipped file is
// refused by name instead of resuming from garbage.
//
// Files are written to a temporary file, fsynced and renamed (and the folder fsynced), so a
// run killed mid-save leaves the previous checkpoint as it was.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, copyFileSync, mkdirSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as torch from '../torch/index.js';
import { writeFileAtomic } from '../torch/io/atomic-write.js';

type Tensor = torch.Tensor;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = torch.optim.Optimizer<any>;

export const CHECKPOINT_META_KEY = 'drgan.checkpoint';
export const CHECKSUM_META_KEY = 'drgan.sha256';
const FORMAT_VERSION = 1;

export interface CheckpointContent {
  /** What trained it ("drgan-gan"); checked on load. */
  kind: string;
  /** Live modules, or state dicts already taken (an export that stores converted weights). */
  modules: Record<string, torch.nn.Module | ReadonlyMap<string, Tensor>>;
  optimizers?: Record<string, AnyOptimizer>;
  /** JSON-serialisable run state: stage, step, epoch, loader position, resolved config... */
  state: Record<string, unknown>;
  /** Store the CPU generator state (needed for an exact resume). */
  rng?: boolean;
  /** With `rng`: the run's CUDA device, whose generator (AGM noise drawn there) is stored too. */
  rngDevice?: torch.Device;
}

interface OptimMeta {
  param_groups: torch.optim.OptimizerStateDict['param_groups'];
  scalars: Record<string, Record<string, unknown>>;
}
interface CheckpointMeta {
  kind: string;
  version: number;
  state: Record<string, unknown>;
  optim: Record<string, OptimMeta>;
}

function checkName(name: string, what: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`checkpoint: ${what} name "${name}" must be letters, digits, _ or - (it prefixes tensor keys)`);
}

/** The digest covers everything a reader trusts: tensor table, metadata (minus the digest) and data. */
function digest(entries: torch.io.SafetensorsEntry[], metadata: Record<string, string>, data: Uint8Array): string {
  const meta = Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== CHECKSUM_META_KEY).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const table = entries.map((e) => [e.name, e.dtype, e.shape, e.begin, e.end]);
  return createHash('sha256').update(JSON.stringify({ table, meta })).update(data).digest('hex');
}

/** The file's bytes: serialized with a placeholder digest that is then patched in place. */
export function serializeCheckpoint(c: CheckpointContent): Uint8Array {
  const tensors = new Map<string, Tensor>();
  const owned: Tensor[] = [];
  const meta: CheckpointMeta = { kind: c.kind, version: FORMAT_VERSION, state: c.state, optim: {} };
  try {
    for (const [name, m] of Object.entries(c.modules)) {
      checkName(name, 'module');
      for (const [k, v] of m instanceof Map ? m : (m as torch.nn.Module).stateDict()) tensors.set(`module.${name}.${k}`, v);
    }
    for (const [name, opt] of Object.entries(c.optimizers ?? {})) {
      checkName(name, 'optimizer');
      const sd = opt.stateDict();
      const scalars: Record<string, Record<string, unknown>> = {};
      for (const [id, s] of Object.entries(sd.state)) {
        for (const [k, v] of Object.entries(s)) {
          if (v instanceof torch.Tensor) {
            owned.push(v);
            // The step count is a scalar tensor in PyTorch's layout; JSON keeps it exact.
            if (k === 'step') (scalars[id] ??= {})[k] = v.item();
            else tensors.set(`optim.${name}.${id}.${k}`, v);
          } else {
            (scalars[id] ??= {})[k] = v;
          }
        }
      }
      meta.optim[name] = { param_groups: sd.param_groups, scalars };
    }
    if (c.rng) {
      const rng = torch.getRngState();
      owned.push(rng);
      tensors.set('rng', rng);
      if (c.rngDevice && c.rngDevice !== 'cpu') {
        const cudaRng = torch.getRngState(c.rngDevice);
        owned.push(cudaRng);
        tensors.set('rng_cuda', cudaRng);
      }
    }
    const placeholder = '0'.repeat(64);
    const metadata = { format: 'pt', [CHECKPOINT_META_KEY]: JSON.stringify(meta), [CHECKSUM_META_KEY]: placeholder };
    const bytes = torch.io.serializeSafetensors(tensors, metadata);
    const header = torch.io.parseSafetensorsHeader(bytes, 'checkpoint');
    const sum = digest(header.entries, header.metadata, bytes.subarray(header.dataStart));
    const marker = Buffer.from(`${JSON.stringify(CHECKSUM_META_KEY)}:"${placeholder}"`);
    const at = Buffer.from(bytes.buffer, bytes.byteOffset, header.dataStart).indexOf(marker);
    if (at < 0) throw new Error('checkpoint: could not locate the checksum placeholder in the header');
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).write(sum, at + marker.length - 65, 'latin1');
    return bytes;
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Writes the checkpoint atomically (temp file, fsync, rename, fsync of the folder). */
export function saveCheckpoint(path: string, c: CheckpointContent): void {
  mkdirSync(dirname(path), { recursive: true });
  const bytes = serializeCheckpoint(c);
  writeFileAtomic(path, (write) => write(bytes));
  syncDir(dirname(path));
}

function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder; the rename itself is still atomic.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export interface LoadedCheckpoint {
  path: string;
  kind: string;
  state: Record<string, unknown>;
  /** Per module name, its state dict (keys without the prefix). */
  modules: Record<string, Map<string, Tensor>>;
  optimizers: Record<string, torch.optim.OptimizerStateDict>;
  rng: Tensor | null;
  /** The CUDA generator's state when the run trained on a GPU. */
  rngCuda: Tensor | null;
  /** Frees every tensor read from the file (after they were copied into models/optimisers). */
  dispose(): void;
}

/** Reads and verifies a checkpoint; any damage is an error naming the file and what is wrong. */
export function loadCheckpoint(path: string, expectKind?: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new Error(`${path}: checkpoint not found`);
  const bytes = new Uint8Array(readFileSync(path));
  const corrupt = (why: string): never => {
    throw new Error(`${path}: corrupt or truncated checkpoint, refusing to load it: ${why}`);
  };
  let header: torch.io.SafetensorsHeader;
  try {
    header = torch.io.parseSafetensorsHeader(bytes, path);
  } catch (err) {
    return corrupt((err as Error).message);
  }
  const metaRaw = header.metadata[CHECKPOINT_META_KEY];
  const sum = header.metadata[CHECKSUM_META_KEY];
  if (metaRaw === undefined || sum === undefined) corrupt(`metadata lacks "${CHECKPOINT_META_KEY}" or "${CHECKSUM_META_KEY}" (not a drgan training checkpoint?)`);
  const actual = digest(header.entries, header.metadata, bytes.subarray(header.dataStart));
  if (actual !== sum) corrupt(`SHA-256 mismatch (stored ${sum.slice(0, 16)}..., computed ${actual.slice(0, 16)}...)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metaRaw) as CheckpointMeta;
  } catch (err) {
    return corrupt(`metadata "${CHECKPOINT_META_KEY}" is not JSON (${(err as Error).message})`);
  }
  if (meta.version !== FORMAT_VERSION) throw new Error(`${path}: checkpoint format version ${meta.version}, this build reads ${FORMAT_VERSION}`);
  if (expectKind && meta.kind !== expectKind) throw new Error(`${path}: a "${meta.kind}" checkpoint, expected "${expectKind}"`);

  const all = torch.io.parseSafetensors(bytes, { name: path });
  const modules: Record<string, Map<string, Tensor>> = {};
  const optimTensors: Record<string, Map<string, Tensor>> = {};
  let rng: Tensor | null = null;
  let rngCuda: Tensor | null = null;
  for (const [k, v] of all) {
    const [head, name] = k.split('.', 2);
    const rest = k.slice(head.length + (name?.length ?? 0) + 2);
    if (head === 'module' && name) (modules[name] ??= new Map()).set(rest, v);
    else if (head === 'optim' && name) (optimTensors[name] ??= new Map()).set(rest, v);
    else if (k === 'rng') rng = v;
    else if (k === 'rng_cuda') rngCuda = v;
    else v.dispose();
  }
  const optimizers: Record<string, torch.optim.OptimizerStateDict> = {};
  for (const [name, o] of Object.entries(meta.optim ?? {})) {
    const state: Record<number, torch.optim.ParamState> = {};
    for (const [id, s] of Object.entries(o.scalars)) state[Number(id)] = { ...(s as torch.optim.ParamState) };
    for (const [k, v] of optimTensors[name] ?? new Map<string, Tensor>()) {
      const dot = k.indexOf('.');
      (state[Number(k.slice(0, dot))] ??= {})[k.slice(dot + 1)] = v;
    }
    optimizers[name] = { state, param_groups: o.param_groups };
  }
  return {
    path, kind: meta.kind, state: meta.state, modules, optimizers, rng, rngCuda,
    dispose() {
      for (const t of all.values()) t.dispose();
    },
  };
}

/**
 * Copies a loaded checkpoint into live modules and optimisers (strict: every key must fit)
 * and, when asked, restores the RNG state. Errors name the checkpoint and the part.
 */
export function restoreCheckpoint(
  ck: LoadedCheckpoint,
  into: { modules: Record<string, torch.nn.Module>; optimizers?: Record<string, AnyOptimizer>; rng?: boolean; rngDevice?: torch.Device },
): { cudaRngRestored: boolean } {
  const wrap = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      throw new Error(`${ck.path}: cannot restore ${what}: ${(err as Error).message}`);
    }
  };
  for (const [name, m] of Object.entries(into.modules)) {
    const sd = ck.modules[name];
    if (!sd) throw new Error(`${ck.path}: no weights for module "${name}" (has: ${Object.keys(ck.modules).join(', ') || 'none'})`);
    wrap(`module "${name}"`, () => m.loadStateDict(sd));
  }
  for (const [name, opt] of Object.entries(into.optimizers ?? {})) {
    const sd = ck.optimizers[name];
    if (!sd) throw new Error(`${ck.path}: no state for optimizer "${name}" (has: ${Object.keys(ck.optimizers).join(', ') || 'none'})`);
    wrap(`optimizer "${name}"`, () => opt.loadStateDict(sd));
  }
  if (into.rng) {
    if (!ck.rng) throw new Error(`${ck.path}: no RNG state stored; an exact resume needs it`);
    torch.setRngState(ck.rng);
  }
  // A run resumed on a GPU continues that GPU's noise stream only when the checkpoint has one
  // (saved on a GPU); the caller says so when it does not, since the resume is then not exact.
  const wantCuda = !!into.rng && !!into.rngDevice && into.rngDevice !== 'cpu';
  if (wantCuda && ck.rngCuda) torch.setRngState(ck.rngCuda, into.rngDevice);
  return { cudaRngRestored: wantCuda && !!ck.rngCuda };
}

/** File names a run folder uses: `latest` and `step-<n>` copies. */
export const LATEST_CHECKPOINT = 'latest.safetensors';
export function stepCheckpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.safetensors`;
}

/**
 * Saves `DIR/latest.safetensors` and, when `keepAs` is given, keeps the same bytes under that
 * name too (a hard link: the later atomic replacement of `latest` gives it a new inode, so
 * the kept file never changes).
 */
export function saveRunCheckpoint(dir: string, c: CheckpointContent, keepAs?: string): string {
  const latest = join(dir, LATEST_CHECKPOINT);
  saveCheckpoint(latest, c);
  if (keepAs) {
    const kept = join(dir, keepAs);
    if (existsSync(kept)) unlinkSync(kept);
    try {
      linkSync(latest, kept);
    } catch {
      copyFileSync(latest, kept);
    }
    syncDir(dir);
  }
  return latest;
}
