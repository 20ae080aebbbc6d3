// `drgan export`: a synthesis-only model file from a DR-GAN training checkpoint (synth/export-model.ts):
// the generator's weights, optionally float16, with its config and grading space embedded,
// for sharing a trained model or moving it off the machine that trained it.
import { exportGenerator } from '../../synth/export-model.js';
import type { Command } from '../command.js';

const MB = 2 ** 20;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a self-contained synthesis model (generator weights, config, grading space; optionally float16) from a DR-GAN checkpoint',
  usage: 'drgan export --model CKPT --out FILE [--half] [--grading-space FILE]',
  flags: {
    model: { kind: 'string', required: true, help: 'DR-GAN training checkpoint (drgan train gan: latest.safetensors or step-*.safetensors)' },
    out: { kind: 'string', required: true, help: 'the model file to write (safetensors; drgan synth --model reads it)' },
    half: { kind: 'bool', default: false, help: 'store the weights as float16: about half the size; images differ from the checkpoint\'s by rounding' },
    'grading-space': { kind: 'string', help: 'grading space to embed (drgan latent); default the one the model was trained with' },
  },
  async run(flags) {
    const r = exportGenerator({
      checkpoint: flags.model as string, out: flags.out as string, half: flags.half as boolean,
      gradingSpace: flags['grading-space'] as string | undefined,
    });
    console.log(`wrote ${r.out}: stage-${r.stage} generator, ${(r.values / 1e6).toFixed(2)} M values as ${r.dtype}, ` +
      `${(r.bytes / MB).toFixed(1)} MB (the checkpoint: ${(r.checkpointBytes / MB).toFixed(1)} MB); ` +
      (r.gradingSpace ? `grading space embedded from ${r.gradingSpace}` : 'no grading space (the model was trained without one)'));
    return 0;
  },
};
