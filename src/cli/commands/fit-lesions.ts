// `drgan fit-lesions`: learns where, how many and how large the lesions of each grade are
// from a prepared data set's masks (synth/lesion-sampler.ts), for `drgan synth --sample-lesions`.
import { bankPathFor, LESION_TYPES, LesionModel } from '../../synth/lesion-sampler.js';
import type { Command } from '../command.js';

export const fitLesionsCommand: Command = {
  name: 'fit-lesions',
  summary: 'learn per-grade lesion counts, sizes, positions and a bank of real lesion shapes from a prepared data set',
  usage: 'drgan fit-lesions --data DIR --out FILE.json [--include-predicted] [--seed S]',
  flags: {
    data: { kind: 'string', required: true, help: 'prepared data set with graded samples and lesion masks (MA, HE, EX, SE, LM, PM)' },
    out: { kind: 'string', required: true, help: 'lesion model file (JSON); the patch bank goes next to it as FILE.bank.bin' },
    'include-predicted': { kind: 'bool', default: false, help: 'also learn from masks a model predicted (drgan masks), not only annotated ones' },
    seed: { kind: 'int', default: 0, min: 0, help: 'seeds which positions and patches are kept when there are more than the model holds' },
  },
  async run(flags) {
    const out = flags.out as string;
    const model = await LesionModel.fit(flags.data as string, { includePredicted: flags['include-predicted'] as boolean, seed: flags.seed as number });
    model.save(out);
    const d = model.data;
    console.log(`lesion model from ${d.imagesPerGrade.reduce((a, b) => a + b, 0)} graded images (per grade ${d.imagesPerGrade.join(', ')}); ` +
      `${d.bank.entries.length} bank patches; disc position assumed in ${d.discAssumed}`);
    console.log(`mean components per image:  grade  ${LESION_TYPES.map((t) => t.padStart(6)).join('')}`);
    d.stats.forEach((s, g) => {
      if (d.imagesPerGrade[g] === 0) return;
      console.log(`                            ${String(g).padStart(5)}  ${LESION_TYPES.map((t) => (s[t].images ? s[t].countMean.toFixed(1) : '-').padStart(6)).join('')}`);
    });
    console.log(`wrote ${out} and ${bankPathFor(out)}`);
    return 0;
  },
};
