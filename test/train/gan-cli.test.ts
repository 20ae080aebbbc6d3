// `drgan train gan`: flag and config validation with errors naming the flag or file, a short
// real run through the CLI, the sample grid's PNG size, and the progress line formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch/index.js';
import { main } from '../../src/cli/main.js';
import { parseFlags, UsageError } from '../../src/cli/flags.js';
import { resolveGanConfig, trainGanCommand } from '../../src/cli/commands/train-gan.js';
import { Generator } from '../../src/gan/generator.js';
import { GRID_PAD, saveSampleGrid, tileImages } from '../../src/train/sample-grid.js';
import { formatDuration, ProgressBar } from '../../src/train/progress.js';
import { ganPhantomSet, tempDir, tinyConfig } from './gan-fixtures.js';

torch.setNumThreads(1);

const parse = (args: string[]) => parseFlags(['--data', 'D', '--out', 'O', ...args], trainGanCommand.flags, 'drgan train gan').flags;

test('configuration flags are validated with the flag or file named', (t) => {
  assert.throws(() => resolveGanConfig(parse([])), (e: Error) => e instanceof UsageError && /--preset .*tiny.* or --config FILE/.test(e.message));
  assert.throws(() => resolveGanConfig(parse(['--preset', 'tiny', '--config', 'x.json'])), /not both/);
  assert.throws(() => parse(['--preset', 'huge']), /--preset must be one of paper\|cpu128\|cpu256\|tiny, got "huge"/);
  assert.throws(() => parse(['--preset', 'tiny', '--batch', '0']), /--batch must be >= 1, got 0/);
  assert.throws(() => parse(['--preset', 'tiny', '--epochs1', '1.5']), /--epochs1 must be an integer/);
  assert.throws(() => parse(['--preset', 'tiny', '--lr', 'fast']), /--lr must be a number/);
  assert.throws(() => parse(['--preset', 'tiny', '--cache-mb', '-1']), /--cache-mb must be >= 0, got -1/);
  assert.throws(() => parse(['--preset', 'tiny', '--bogus', '1']), /unknown flag --bogus/);
  assert.throws(() => resolveGanConfig(parse(['--resume', '--epochs1', '3'])), /need the --preset or --config they modify/);
  assert.equal(resolveGanConfig(parse(['--resume'])), undefined);

  const cfg = resolveGanConfig(parse(['--preset', 'cpu128', '--epochs1', '3', '--epochs2', '0', '--batch', '2', '--lr', '0.0002', '--no-perceptual', '--freeze-global', '1']))!;
  assert.equal(cfg.resolution, 128);
  assert.deepEqual([cfg.train.stage1Epochs, cfg.train.stage2Epochs, cfg.train.batchSize, cfg.train.lr, cfg.train.freezeGlobalEpochs], [3, 0, 2, 0.0002, 1]);
  assert.deepEqual(cfg.train.betas, [0.5, 0.999]);
  assert.equal(cfg.ablation.noPerceptual, true);

  const dir = tempDir(t, 'drgan-gan-cfg-');
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ preset: 'tiny', generator: { ngf: 8 }, loss: { adversarial: 'hinge' } }));
  const fromFile = resolveGanConfig(parse(['--config', good, '--batch', '3']))!;
  assert.deepEqual([fromFile.resolution, fromFile.generator.ngf, fromFile.loss.adversarial, fromFile.train.batchSize], [32, 8, 'hinge', 3]);
  const unknown = join(dir, 'unknown.json');
  writeFileSync(unknown, JSON.stringify({ generator: { ngff: 8 } }));
  assert.throws(() => resolveGanConfig(parse(['--config', unknown])), (e: Error) => e.message.includes(unknown) && /unknown field "generator.ngff"/.test(e.message));
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"preset": "tiny",');
  assert.throws(() => resolveGanConfig(parse(['--config', broken])), (e: Error) => e.message.includes(broken) && /not valid JSON/.test(e.message));
  assert.throws(() => resolveGanConfig(parse(['--config', join(dir, 'nope.json')])), /nope\.json: file not found/);
  const badPreset = join(dir, 'badpreset.json');
  writeFileSync(badPreset, JSON.stringify({ preset: 'giant' }));
  assert.throws(() => resolveGanConfig(parse(['--config', badPreset])), /"preset" must be one of/);
});

test('drgan train gan runs, stops at --max-steps and resumes; missing VGG weights are an error', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const errs: string[] = [];
  const origErr = console.error, origLog = console.log, origWrite = process.stderr.write.bind(process.stderr);
  console.error = (m: string) => { errs.push(String(m)); };
  console.log = () => {};
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await main(['train', 'gan', '--data', data, '--out', join(out, 'v'), '--preset', 'tiny', '--max-steps', '1']), 1);
    assert.match(errs.join('\n'), /no VGG-19 weights given.*--vgg FILE.*--no-perceptual/s);
    const args = ['train', 'gan', '--data', data, '--out', join(out, 'r'), '--preset', 'tiny', '--no-perceptual', '--sample-every', '1', '--threads', '1'];
    assert.equal(await main([...args, '--max-steps', '2']), 0);
    assert.equal(await main([...args, '--max-steps', '3', '--resume', '--lr', '0.5']), 1);
    assert.match(errs.join('\n'), /config given differs from the checkpoint's: train\.lr \(0\.5 vs 0\.0001\)/);
    assert.equal(await main(['train', 'gan', '--data', data, '--out', join(out, 'r'), '--resume', '--max-steps', '3', '--sample-every', '1', '--cache-mb', '0']), 0);
  } finally {
    console.error = origErr;
    console.log = origLog;
    process.stderr.write = origWrite;
  }
  assert.ok(existsSync(join(out, 'r', 'latest.safetensors')));
  assert.deepEqual(readdirSync(join(out, 'r', 'samples')).sort(), ['step-00000001.png', 'step-00000002.png', 'step-00000003.png']);
});

test('the sample grid has one row per condition map and 1 + 5 columns', async (t) => {
  const dir = tempDir(t, 'drgan-grid-');
  const cfg = tinyConfig();
  torch.manualSeed(0);
  const G = new Generator(cfg);
  const K = 3;
  const c = torch.rand([K, 8, 32, 32]), x = torch.rand([K, 3, 32, 32]).mul(2).sub(1);
  t.after(() => { c.dispose(); x.dispose(); G.dispose(); });
  const z = torch.zeros([K, cfg.generator.gradingVectorDim]);
  const path = join(dir, 'grid.png');
  const before = torch.rand([1]).item();
  torch.manualSeed(0);
  torch.rand([1]);
  const size = await saveSampleGrid(path, G, { conditions: c, images: x, gradingVectors: () => z, numGrades: 5, noiseSeed: 1 });
  const S = 16; // stage 1 output is R/2
  const meta = await sharp(path).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [6 * S + 7 * GRID_PAD, K * S + (K + 1) * GRID_PAD, 'png']);
  assert.deepEqual(size, { width: meta.width, height: meta.height });
  assert.equal(G.training, true, 'the generator must be back in training mode');
  assert.notEqual(torch.rand([1]).item(), before, 'sampling must not rewind or reuse the training RNG');
  // Tiles: pixel values land where expected (a white image in tile 1 of a 2-wide grid).
  const imgs = torch.cat([torch.full([1, 3, 4, 4], -1), torch.full([1, 3, 4, 4], 1)], 0);
  const tiles = tileImages(imgs, 2);
  assert.deepEqual([tiles.width, tiles.height], [2 * 4 + 3 * GRID_PAD, 4 + 2 * GRID_PAD]);
  const at = (x0: number, y0: number) => tiles.data[(y0 * tiles.width + x0) * 3];
  assert.deepEqual([at(GRID_PAD, GRID_PAD), at(2 * GRID_PAD + 4, GRID_PAD), at(0, 0)], [0, 255, 128]);
  assert.throws(() => tileImages(torch.zeros([2, 1, 4, 4]), 2), /expected images \[N, 3, S, S\]/);
});

test('progress: a redrawn bar on a TTY, plain lines every N steps elsewhere', () => {
  const tty: string[] = [], plain: string[] = [];
  const a = new ProgressBar({ total: 10, stream: { write: (s: string) => (tty.push(s), true), isTTY: true, columns: 200 } });
  const b = new ProgressBar({ total: 10, stream: { write: (s: string) => (plain.push(s), true), isTTY: false }, plainEvery: 5 });
  for (let step = 1; step <= 10; step++) {
    const u = { step, epoch: 0, stage: 1, losses: { 'G/adversarial': 0.5, 'D/adversarial': 1.25 }, imagesPerSec: 2 };
    a.update(u);
    b.update(u);
  }
  a.finish();
  assert.equal(tty.length, 11);
  assert.ok(tty[0].startsWith('\r\x1b[2K[##'));
  assert.match(tty[9], /\[#{20}\] step 10\/10 stage 1 epoch 1 2\.00 img\/s ETA 0s \| G\/adversarial 0\.500 D\/adversarial 1\.250/);
  assert.deepEqual(plain.map((l) => l.split(' ').slice(0, 2).join(' ')), ['step 5/10', 'step 10/10']);
  assert.ok(plain.every((l) => !l.includes('\r') && l.endsWith('\n')));
  assert.deepEqual([formatDuration(5), formatDuration(125), formatDuration(3725), formatDuration(NaN)], ['5s', '2m05s', '1h02m', '?']);
});
