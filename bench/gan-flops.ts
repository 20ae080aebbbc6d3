// Where the generator's arithmetic goes: GFLOP per image of one synthesis forward pass
// (stage 2, eval, batch 1), by part, at each resolution, counted from module shapes by
// src/gan/flops.ts (nothing is run). FLOP = 2 x multiply-adds + element-wise work.
//   node dist/bench/gan-flops.js [--resolutions 256,512,1280] [--ngf 64,32] [--stage 2]
import { parseArgs } from 'node:util';
import * as torch from '../src/torch/index.js';
import { makeConfig } from '../src/gan/config.js';
import { Generator } from '../src/gan/generator.js';
import { generatorFlops, type LayerCount } from '../src/gan/flops.js';

/** A readable part of the generator for a counted layer's state-dict path. */
function partOf(l: LayerCount): string {
  const block = /^global\.synthesis\.(\d)[.#]/.exec(l.name);
  if (block) {
    const i = Number(block[1]);
    if (l.name.includes('.sca.spatial#attention')) return `synthesis ${i}: spatial attention products`;
    if (l.name.includes('.sca.channel#attention')) return `synthesis ${i}: channel attention products`;
    return `synthesis ${i}: convs, AGM, norms`;
  }
  const parts: [RegExp, string][] = [
    [/^#downsample/, 'input downsample'], [/^global\.encoder\./, 'G_m encoder'], [/^global\.gradeHead\./, 'G_m grade head'],
    [/^global\.residual\./, 'G_m residual blocks'], [/^global\.mapping\./, 'mapping network'], [/^global\.outputHead\./, 'G_m output head'],
    [/^global\.halfScaleFusion\./, 'G_m half-scale fusion'], [/^local[.#]/, 'G_l (local enhancer)'],
  ];
  const hit = parts.find(([re]) => re.test(l.name));
  if (!hit) throw new Error(`gan-flops: no part for layer "${l.name}"`);
  return hit[1];
}

const { values: opt } = parseArgs({ options: {
  resolutions: { type: 'string', default: '256,512,1280' },
  ngf: { type: 'string', default: '64,32' },
  stage: { type: 'string', default: '2' },
} });
const resolutions = opt.resolutions!.split(',').map(Number);
const stage = Number(opt.stage);
if (stage !== 1 && stage !== 2) throw new Error(`--stage: "${opt.stage}" is not 1 or 2`);

for (const ngf of opt.ngf!.split(',').map(Number)) {
  const byPart = new Map<string, number[]>();
  const totals: { gflop: number; macs: number; params: number }[] = [];
  resolutions.forEach((R, j) => {
    torch.tidy(() => {
      const G = new Generator(makeConfig('paper', { resolution: R, generator: { ngf } }), stage as 1 | 2);
      const count = generatorFlops(G);
      for (const l of count.layers) {
        const row = byPart.get(partOf(l)) ?? resolutions.map(() => 0);
        row[j] += (2 * l.macs + l.otherFlops) / 1e9;
        byPart.set(partOf(l), row);
      }
      totals.push({ gflop: count.flops / 1e9, macs: count.macs / 1e9, params: G.parameters().reduce((a, p) => a + p.numel, 0) });
      G.dispose();
    });
  });
  console.log(`\nngf ${ngf} (${ngf === 64 ? "the paper's width" : ngf === 32 ? "the cpu presets' width" : "paper: 64"}), stage ${stage}, GFLOP per image, batch 1, eval`);
  console.log(`${'part'.padEnd(40)} ${resolutions.map((R) => `R=${R}`.padStart(10)).join(' ')}   share at R=${resolutions[resolutions.length - 1]}`);
  const last = resolutions.length - 1;
  for (const [part, row] of [...byPart.entries()].sort((a, b) => b[1][last] - a[1][last])) {
    console.log(`${part.padEnd(40)} ${row.map((v) => v.toFixed(2).padStart(10)).join(' ')}   ${(100 * row[last] / totals[last].gflop).toFixed(1).padStart(5)}%`);
  }
  console.log(`${'total GFLOP'.padEnd(40)} ${totals.map((t) => t.gflop.toFixed(1).padStart(10)).join(' ')}`);
  console.log(`${'of which multiply-adds (G MAC)'.padEnd(40)} ${totals.map((t) => t.macs.toFixed(1).padStart(10)).join(' ')}`);
  console.log(`${'parameters (M)'.padEnd(40)} ${totals.map((t) => (t.params / 1e6).toFixed(1).padStart(10)).join(' ')}`);
}
