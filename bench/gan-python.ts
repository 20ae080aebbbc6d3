// The DR-GAN training step (ganStep: G update, then D update, Eq. 1) in TypeScript against the
// same step in plain PyTorch (bench/python/drgan_step.py on scripts/reference/drgan_reference.py),
// from the same weights and inputs, in one run: `npm run bench:gan-python`.
// For each stage and thread count the TS side builds the preset's networks (seeded), writes
// their state dicts with savePth, and the Python process loads them by name (strict); both run
// one step from the same AGM noise seed (the first step's losses must agree), then rounds of
// `--steps` TS steps and `--steps` Python steps alternate so the machine's noise falls on both.
// Perceptual loss off (no VGG-19 weights here). Reports median ms per step and TS/Python.
//   node --single-threaded-gc dist/bench/gan-python.js [--preset cpu128] [--resolution R] [--batch B]
//     [--stages 1,2] [--threads 1,2] [--rounds 2] [--steps 2] [--seed 1] [--device cpu|cuda|cuda:N] [--tolerance T]
// --device cuda: both sides put G, D, the inputs and the grading vectors on the GPU (weights are
// built and written on the CPU first, and the AGM noise is drawn on the CPU and moved, as
// Generator.drawNoise does, so both sides start from the same numbers). GPU steps are timed
// between device synchronisations, on both sides. On a GPU pass --resolution: the paper's 1280
// makes the Python side's full attention map [B, 160^2, 160^2] (2.6 GB per sample, twice with
// its softmax), which does not fit at batch 16; 256 or 512 is a bench of minutes, not hours.
// The Python interpreter is DRGAN_PYTHON (default /usr/bin/python3).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { DEFAULT_CONFIG, makeConfig, PRESETS, type ConfigOverrides, type DrganConfig, type PresetName } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';
import { MultiscaleDiscriminator } from '../src/gan/discriminator.js';
import { ganStep } from '../src/train/gan-trainer.js';
import { PythonWorker, pythonScript } from './engine/python.js';
import { median, summary } from './engine/stats.js';

// dist/bench/gan-python.js -> repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Relative agreement of the first step's loss terms: float32 on both sides, same ATen kernels
// except the chunked attention (another summation order); the tiny-preset test pins 1e-5.
const CPU_LOSS_TOLERANCE = 1e-4;
// On a GPU, cuDNN convolutions run in TF32 on both sides (libtorch's default; drgan_step.py pins
// Python to it): inputs rounded to 10 mantissa bits, unit roundoff 2^-11 = 4.9e-4. With the same
// libtorch and cuDNN both sides pick the same algorithms and land close to the CPU agreement,
// but a TS addon built on another libtorch/cuDNN than Python's may pick others, and then each
// conv output moves by about a roundoff; the losses pass through dozens of convs (G then D), so a
// few roundoffs is the honest bound. 2e-3 still flags real mismatches (other weights, noise or
// a missing term move the losses by 1e-2 and more). --tolerance overrides either.
const CUDA_LOSS_TOLERANCE = 2e-3;

const { values: opt } = parseArgs({ options: {
  preset: { type: 'string', default: 'cpu128' },
  stages: { type: 'string', default: '1,2' },
  threads: { type: 'string', default: '1,2' },
  rounds: { type: 'string', default: '2' },
  steps: { type: 'string', default: '2' },
  seed: { type: 'string', default: '1' },
  resolution: { type: 'string' },
  batch: { type: 'string' },
  device: { type: 'string', default: 'cpu' },
  tolerance: { type: 'string' },
} });

function ints(name: keyof typeof opt, min: number): number[] {
  const vs = String(opt[name]).split(',').map(Number);
  for (const v of vs) if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be integers >= ${min}, got "${opt[name]}"`);
  return vs;
}
if (!(opt.preset! in PRESETS)) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got "${opt.preset}"`);
const preset = opt.preset as PresetName;
const stages = ints('stages', 1) as (1 | 2)[];
if (stages.some((s) => s > 2)) throw new Error(`--stages must be 1 and/or 2, got "${opt.stages}"`);
const threadCounts = ints('threads', 1);
const [rounds] = ints('rounds', 1), [steps] = ints('steps', 1), [seed] = ints('seed', 0);
const resolution = opt.resolution === undefined ? undefined : ints('resolution', 32)[0];
const batch = opt.batch === undefined ? undefined : ints('batch', 1)[0];
const device = resolveDevice(opt.device!);
const tolerance = opt.tolerance === undefined ? (device === 'cpu' ? CPU_LOSS_TOLERANCE : CUDA_LOSS_TOLERANCE) : Number(opt.tolerance);
if (!(tolerance > 0)) throw new Error(`--tolerance must be a positive number, got "${opt.tolerance}"`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

type Terms = { G: Record<string, number>; D: Record<string, number> };

/** 'cpu' or 'cuda:N' (the form tensors report, so Tensor.to sees an equal device as equal). */
function resolveDevice(v: string): torch.Device {
  if (v === 'cpu') return 'cpu';
  const m = /^cuda(?::(\d+))?$/.exec(v);
  if (!m) throw new Error(`--device must be cpu, cuda or cuda:N, got "${v}"`);
  if (!torch.cuda.isAvailable()) throw new Error(`--device ${v}: this libtorch sees no CUDA device (the addon must be built against a CUDA libtorch: DRGAN_TORCH_DIR=... node native/build.mjs)`);
  const index = Number(m[1] ?? 0), count = torch.cuda.deviceCount();
  if (index >= count) throw new Error(`--device ${v}: only ${count} CUDA device(s) visible`);
  return `cuda:${index}`;
}
// GPU work is queued: the clock is read only once the device has finished what came before.
const sync = device === 'cpu' ? () => {} : () => torch.cuda.synchronize(Number(device.slice(5)));
// GPU steps take milliseconds, not seconds: one decimal there.
const digits = device === 'cpu' ? 0 : 1;

/** The preset with the command line's size overrides (unset ones keep the preset's). */
function benchConfig(extra: ConfigOverrides = {}): DrganConfig {
  return makeConfig(preset, { ...extra, resolution, train: { batchSize: batch } });
}

interface Setup {
  cfg: DrganConfig;
  G: Generator;
  D: MultiscaleDiscriminator;
  optG: torch.optim.Adam;
  optD: torch.optim.Adam;
  inputs: { c: torch.Tensor; x: torch.Tensor; y: torch.Tensor; z: torch.Tensor | null };
  dir: string;
}

/** Seeded networks and a batch of the data contract's shapes, written where Python reads them. */
function setup(stage: 1 | 2): Setup {
  const cfg = benchConfig({ ablation: { noPerceptual: true } });
  const B = cfg.train.batchSize, R = cfg.resolution;
  torch.manualSeed(seed);
  const G = new Generator(cfg, stage), D = new MultiscaleDiscriminator(cfg);
  // SCA's gammas start at 0, which would leave the attention out of the losses compared below
  // (not of the time: it runs either way); 0.1 makes it count.
  torch.noGrad(() => { for (const [k, p] of G.namedParameters()) if (k.endsWith('.gamma')) p.fill_(0.1); });
  const cpuInputs = torch.tidy(() => ({
    c: torch.rand([B, 8, R, R]).gt(0.9).float(), x: torch.rand([B, 3, R, R]).mul(2).sub(1),
    y: torch.tensor(Int32Array.from({ length: B }, (_, i) => i % cfg.numGrades)).long(),
    z: cfg.ablation.noAGM ? null : torch.randn([B, cfg.generator.gradingVectorDim]),
  }));
  const dir = mkdtempSync(join(tmpdir(), 'drgan-gan-python-'));
  // The defaults let Python accept options it does not implement only while they are off.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ config: cfg, defaults: DEFAULT_CONFIG }));
  // Written from the CPU (what savePth takes); each side then moves its copy to the device.
  torch.io.savePth(join(dir, 'G.pth'), G.stateDict());
  torch.io.savePth(join(dir, 'D.pth'), D.stateDict());
  const { z, ...rest } = cpuInputs;
  torch.io.savePth(join(dir, 'inputs.pth'), z ? { ...rest, z } : rest);
  // No-ops on the CPU (Module.to and Tensor.to keep a tensor that is already there), so the
  // CPU run goes through the same lines as a GPU one.
  G.to({ device });
  D.to({ device });
  const toDevice = (t: torch.Tensor): torch.Tensor => {
    const moved = t.to({ device });
    if (moved !== t) t.dispose();
    return moved;
  };
  const inputs = { c: toDevice(rest.c), x: toDevice(rest.x), y: toDevice(rest.y), z: z ? toDevice(z) : null };
  G.train();
  D.train();
  const adam = (params: torch.Tensor[]) => new torch.optim.Adam(params, { lr: cfg.train.lr, betas: cfg.train.betas });
  return { cfg, G, D, optG: adam(G.parameters()), optD: adam(D.parameters()), inputs, dir };
}

function tsStep(s: Setup): { terms: Terms; ms: number } {
  const { c, x, y, z } = s.inputs;
  sync();
  const t0 = performance.now();
  const terms = torch.tidy(() => ganStep({ G: s.G, D: s.D, optG: s.optG, optD: s.optD, cfg: s.cfg, perceptual: null }, c, x, y, z));
  sync();
  return { terms, ms: performance.now() - t0 };
}

function agreement(ts: Terms, py: Terms): { worst: number; line: string } {
  let worst = 0;
  const parts: string[] = [];
  for (const net of ['G', 'D'] as const) {
    for (const [k, want] of Object.entries(py[net])) {
      const got = ts[net][k];
      if (got === undefined) throw new Error(`loss term ${net}/${k} is in Python's step but not in ganStep's (${Object.keys(ts[net]).join(', ')})`);
      worst = Math.max(worst, Math.abs(got - want) / Math.max(Math.abs(want), 1e-12));
      parts.push(`${net}/${k} ${got.toFixed(5)}|${want.toFixed(5)}`);
    }
  }
  return { worst, line: parts.join('  ') };
}

interface Row { stage: number; threads: number; ts: number[]; py: number[]; lossDiff: number }

/** What drgan_step.py reports on a GPU: the card, and its TF32 settings before and after it pinned them. */
interface CudaInfo { name: string; tf32: Record<string, string>; tf32Before: Record<string, string> }
function cudaLine(c: CudaInfo): string {
  const now = Object.entries(c.tf32).map(([k, v]) => `${k} ${v}`).join(', ');
  const changed = Object.keys(c.tf32).filter((k) => c.tf32Before[k] !== c.tf32[k]);
  return `, ${c.name}, TF32: ${now}${changed.length ? ` (changed from Python's default: ${changed.map((k) => `${k} was ${c.tf32Before[k]}`).join(', ')})` : ''}`;
}

async function measure(stage: 1 | 2, threads: number): Promise<Row> {
  torch.setNumThreads(threads);
  const s = setup(stage);
  let worker: PythonWorker | null = null;
  try {
    // First step of each side from identical weights, inputs and noise seed: also the warm-up.
    // Python starts only now, so that its start and first step do not overlap TS's.
    torch.manualSeed(seed);
    const first = tsStep(s);
    const env = { ...process.env, OMP_NUM_THREADS: String(threads) };
    worker = new PythonWorker(pythonScript(ROOT, 'drgan_step.py'), [s.dir, String(threads), String(stage), String(seed), device], env);
    const ref = await worker.read<{ losses: Terms; ms: number; torch: string; threads: number; cuda?: CudaInfo }>();
    const { worst, line } = agreement(first.terms, ref.losses);
    console.log(`stage ${stage}, ${threads} thread(s) (python torch ${ref.torch}, ${ref.threads} threads${ref.cuda ? cudaLine(ref.cuda) : ''}): first step ts|python  ${line}`);
    console.log(`  max relative difference ${worst.toExponential(2)} (${worst <= tolerance ? 'OK' : 'MISMATCH'}, tolerance ${tolerance}); warm-up ms ts ${first.ms.toFixed(0)} python ${ref.ms.toFixed(0)}`);
    const ts: number[] = [], py: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const a = Array.from({ length: steps }, () => tsStep(s).ms);
      const b = (await worker.request<{ ms: number[] }>(`time ${steps}`)).ms;
      ts.push(...a);
      py.push(...b);
      console.log(`  round ${r + 1}: ts ${a.map((v) => v.toFixed(digits)).join(' ')} ms | python ${b.map((v) => v.toFixed(digits)).join(' ')} ms | load ${load()}`);
    }
    return { stage, threads, ts, py, lossDiff: worst };
  } finally {
    worker?.close();
    s.optG.disposeState();
    s.optD.disposeState();
    s.G.dispose();
    s.D.dispose();
    torch.dispose([s.inputs.c, s.inputs.x, s.inputs.y, ...(s.inputs.z ? [s.inputs.z] : [])]);
    rmSync(s.dir, { recursive: true, force: true });
  }
}

const cfg0 = benchConfig();
console.log(`DR-GAN ganStep, TS against plain PyTorch: preset ${preset} (R ${cfg0.resolution}, ngf ${cfg0.generator.ngf}, ndf ${cfg0.discriminator.ndf}, batch ${cfg0.train.batchSize}), perceptual off${device === 'cpu' ? '' : `, on ${device} (steps timed between device synchronisations)`}`);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}; load average at start ${load()}; ${rounds} rounds of ${steps} steps per side after 1 warm-up step`);
const rows: Row[] = [];
for (const threads of threadCounts) for (const stage of stages) rows.push(await measure(stage, threads));
console.log(`load average at end: ${load()}`);
console.log('stage threads  ts ms/step (median)                python ms/step (median)            ts/python  first-step losses');
for (const r of rows) {
  console.log(`${String(r.stage).padEnd(5)} ${String(r.threads).padEnd(7)}  ${summary(r.ts, digits).padEnd(34)} ${summary(r.py, digits).padEnd(34)} ${(median(r.ts) / median(r.py)).toFixed(2).padStart(9)}  ${r.lossDiff <= tolerance ? 'agree' : 'DIFFER'} (${r.lossDiff.toExponential(1)})`);
}
if (rows.some((r) => r.lossDiff > tolerance)) process.exitCode = 1;
