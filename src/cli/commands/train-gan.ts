// `drgan train gan`: trains DR-GAN (G_m at R/2, then G_m + G_l at R) on a prepared data set.
// The configuration is a named preset or a JSON file, with a few flags on top; a resumed run
// continues with its checkpoint's configuration. Ctrl-C finishes the step and checkpoints.
import { existsSync, readFileSync } from 'node:fs';
import { makeConfig, PRESETS, type ConfigOverrides, type DrganConfig, type PresetName } from '../../gan/config.js';
import { NonFiniteLossError, trainGan } from '../../train/gan-trainer.js';
import type { Command } from '../command.js';
import { DEVICE_FLAG, resolveDevice } from '../device-flag.js';
import { UsageError, type FlagValues } from '../flags.js';

const NAME = 'drgan train gan';

/** Flags that change the configuration (applied over the preset or file). */
function flagOverrides(f: FlagValues): ConfigOverrides {
  const train: Partial<DrganConfig['train']> = {};
  if (f.epochs1 !== undefined) train.stage1Epochs = f.epochs1 as number;
  if (f.epochs2 !== undefined) train.stage2Epochs = f.epochs2 as number;
  if (f.batch !== undefined) train.batchSize = f.batch as number;
  if (f.lr !== undefined) train.lr = f.lr as number;
  if (f['freeze-global'] !== undefined) train.freezeGlobalEpochs = f['freeze-global'] as number;
  const over: ConfigOverrides = {};
  if (Object.keys(train).length) over.train = train;
  if (f['no-perceptual']) over.ablation = { noPerceptual: true };
  return over;
}

function mergeOverrides(a: ConfigOverrides, b: ConfigOverrides): ConfigOverrides {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && typeof prev === 'object' && !Array.isArray(prev) ? { ...(prev as object), ...(v as object) } : v;
  }
  return out as ConfigOverrides;
}

/**
 * The configuration the flags ask for; undefined when resuming without --preset/--config
 * (the checkpoint's is used). Throws UsageError naming the flag or file at fault.
 */
export function resolveGanConfig(f: FlagValues): DrganConfig | undefined {
  const file = f.config as string | undefined;
  const preset = f.preset as string | undefined;
  const over = flagOverrides(f);
  if (file && preset) throw new UsageError(`${NAME}: give --config FILE or --preset NAME, not both (a config file may name its own "preset")`);
  if (!file && !preset) {
    if (f.resume && Object.keys(over).length === 0) return undefined;
    throw new UsageError(f.resume
      ? `${NAME}: configuration flags (--epochs1, --batch, --lr, ...) need the --preset or --config they modify; with --resume alone the checkpoint's configuration is used`
      : `${NAME}: a configuration is required: --preset ${Object.keys(PRESETS).join('|')} or --config FILE`);
  }
  let base: PresetName = (preset ?? 'paper') as PresetName;
  let fileOver: ConfigOverrides = {};
  if (file) {
    if (!existsSync(file)) throw new UsageError(`${NAME}: --config ${file}: file not found`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`${NAME}: --config ${file}: not valid JSON (${(err as Error).message})`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`${NAME}: --config ${file}: must hold a JSON object`);
    const { preset: p, ...rest } = json as Record<string, unknown>;
    if (p !== undefined) {
      if (typeof p !== 'string' || !(p in PRESETS)) throw new UsageError(`${NAME}: --config ${file}: "preset" must be one of ${Object.keys(PRESETS).join('|')}, got ${JSON.stringify(p)}`);
      base = p as PresetName;
    }
    fileOver = rest as ConfigOverrides;
  }
  try {
    return makeConfig(base, mergeOverrides(fileOver, over));
  } catch (err) {
    throw new UsageError(`${NAME}: ${file ? `--config ${file}: ` : ''}${(err as Error).message}`);
  }
}

export const trainGanCommand: Command = {
  name: 'train gan',
  summary: 'train DR-GAN: G_m at R/2 (stage 1), then G_m + G_l at R (stage 2); resumable, Ctrl-C checkpoints',
  usage: `${NAME} --data DIR --out DIR (--preset ${Object.keys(PRESETS).join('|')} | --config FILE) [--grading-space FILE] [--vgg FILE | --grader FILE | --no-perceptual] [--epochs1 N] [--epochs2 N] [--batch B] [--lr X] [--lr-decay] [--device cpu|cuda[:N]] [--max-steps N] [--max-minutes M] [--cache-mb N] [--limit N] [--resume]`,
  flags: {
    data: { kind: 'string', required: true, help: 'prepared data set (its train split trains)' },
    out: { kind: 'string', required: true, help: 'run folder: latest.safetensors, step-*.safetensors, losses.jsonl, events.out.tfevents.*, samples/' },
    preset: { kind: 'choice', choices: Object.keys(PRESETS), help: 'named configuration' },
    config: { kind: 'string', help: 'JSON configuration: {"preset": NAME, ...fields to override}' },
    'grading-space': { kind: 'string', help: 'grading space file (drgan latent); without it a fixed one-hot grade embedding is used, with a warning' },
    vgg: { kind: 'string', help: 'torchvision VGG-19 weights (.pth or .safetensors) for the perceptual loss' },
    grader: { kind: 'string', help: 'trained grader (drgan train grader) whose backbone stands in for VGG-19 in the perceptual loss when no --vgg is given (with a warning; not the paper\'s loss)' },
    'no-perceptual': { kind: 'bool', help: 'turn the perceptual loss off (ablation w/o perceptual)' },
    epochs1: { kind: 'int', min: 0, max: 100000, help: 'stage-1 epochs (G_m alone at R/2)' },
    epochs2: { kind: 'int', min: 0, max: 100000, help: 'stage-2 epochs (G_m + G_l at R)' },
    'freeze-global': { kind: 'int', min: 0, max: 100000, help: 'keep G_m frozen for the first N epochs of stage 2' },
    batch: { kind: 'int', min: 1, max: 4096, help: 'batch size' },
    lr: { kind: 'number', min: 0, max: 1, help: 'Adam learning rate of G and D (betas 0.5, 0.999)' },
    'lr-decay': { kind: 'bool', help: 'per stage: constant rate for the first half of its epochs, then linear decay to 0' },
    seed: { kind: 'int', min: 0, help: 'seed of initialisation, batch order, noise and grading vectors (default 0)' },
    'sample-every': { kind: 'int', default: 500, min: 0, help: 'save a sample grid every N steps (0: only at the end)' },
    'checkpoint-every': { kind: 'int', default: 1000, min: 0, help: 'keep a step-N checkpoint every N steps (latest is also written every epoch)' },
    'max-steps': { kind: 'int', min: 1, help: 'stop with a checkpoint after this many steps in total (continue with --resume)' },
    'max-minutes': { kind: 'number', min: 0, help: 'stop with a checkpoint once this many minutes of training have passed in this process (a time budget; continue with --resume)' },
    limit: { kind: 'int', min: 1, help: 'train on the first N samples of the train split only (manifest order; fixed by the checkpoint)' },
    'cache-mb': { kind: 'number', default: 1024, min: 0, help: 'megabytes of decoded training images kept in memory for later epochs (0: decode every epoch); changes no batch' },
    device: DEVICE_FLAG,
    resume: { kind: 'bool', default: false, help: 'continue OUT/latest.safetensors exactly where it stopped' },
    threads: { kind: 'int', min: 1, max: 256, help: 'libtorch threads (on a busy machine, fewer is often faster)' },
  },
  async run(f) {
    const config = resolveGanConfig(f);
    const device = resolveDevice(f.device, NAME);
    if (f.threads) (await import('../../torch/index.js')).setNumThreads(f.threads as number);
    const ac = new AbortController();
    const onSigint = () => {
      process.stderr.write('\ninterrupt: finishing the current step, then writing a checkpoint (Ctrl-C again to quit at once)\n');
      ac.abort();
      process.removeListener('SIGINT', onSigint);
    };
    process.on('SIGINT', onSigint);
    try {
      const r = await trainGan({
        data: f.data as string,
        out: f.out as string,
        config,
        gradingSpace: f['grading-space'] as string | undefined,
        vgg: f.vgg as string | undefined,
        grader: f.grader as string | undefined,
        seed: f.seed as number | undefined,
        lrDecay: f['lr-decay'] === undefined ? undefined : (f['lr-decay'] as boolean),
        sampleEvery: f['sample-every'] as number,
        checkpointEvery: f['checkpoint-every'] as number,
        maxSteps: f['max-steps'] as number | undefined,
        maxSeconds: f['max-minutes'] === undefined ? undefined : (f['max-minutes'] as number) * 60,
        cacheMegabytes: f['cache-mb'] as number,
        limit: f.limit as number | undefined,
        device,
        resume: f.resume as boolean,
        signal: ac.signal,
      });
      console.log(`${r.stopped}: step ${r.step}, stage ${r.stage}; checkpoint ${r.latest}; losses ${r.losses}; TensorBoard ${r.events}`);
      return r.stopped === 'interrupted' ? 130 : 0;
    } catch (err) {
      if (err instanceof NonFiniteLossError) {
        console.error(`${NAME}: ${err.message}`);
        return 3;
      }
      throw err;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
