// Without VGG-19 weights, `drgan train gan --grader FILE` trains with the grader's backbone as
// the perceptual network: a loud warning on stderr, finite perceptual losses, the extractor
// recorded in the checkpoint (and reopened on --resume); with nothing at all, a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { main } from '../../src/cli/main.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { ganPhantomSet, saveTinyGrader, tempDir } from './gan-fixtures.js';

torch.setNumThreads(1);

/** Runs the CLI with stderr and console captured. */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const errs: string[] = [];
  const origErr = console.error, origLog = console.log, origWrite = process.stderr.write.bind(process.stderr);
  console.error = (m: string) => { errs.push(String(m)); };
  console.log = () => {};
  process.stderr.write = ((s: string | Uint8Array) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr: errs.join('') };
  } finally {
    console.error = origErr;
    console.log = origLog;
    process.stderr.write = origWrite;
  }
}

test('--grader without --vgg: loud warning, finite perceptual loss, extractor recorded and reopened on resume', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const graderPath = saveTinyGrader(join(out, 'grader.safetensors'));

  const run = join(out, 'run');
  const base = ['train', 'gan', '--data', data, '--out', run, '--sample-every', '0', '--threads', '1'];
  const first = await cli([...base, '--preset', 'tiny', '--grader', graderPath, '--max-steps', '1']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /!{78}\nWARNING: no VGG-19 weights: the perceptual loss uses "trained grader's resnet18 backbone/);
  assert.match(first.stderr, /NOT comparable with the paper's VGG-19 perceptual loss/);
  assert.match(first.stderr, /--vgg FILE.*\n.*vgg19-dcbb9e9d\.pth/);

  const ck = loadCheckpoint(join(run, 'latest.safetensors'));
  const recorded = ck.state.perceptual as { kind: string; extractor: string; file: string };
  ck.dispose();
  assert.deepEqual([recorded.kind, recorded.file], ['grader', graderPath]);
  assert.match(recorded.extractor, /^trained grader's resnet18 backbone/);

  // --resume alone reopens the recorded grader (with the warning again) rather than failing.
  const second = await cli([...base, '--resume', '--max-steps', '2']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /WARNING: no VGG-19 weights/);
  const lines = readFileSync(join(run, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; G: Record<string, number> });
  assert.deepEqual(lines.map((l) => l.step), [1, 2]);
  for (const l of lines) assert.ok(Number.isFinite(l.G.perceptual) && l.G.perceptual > 0, `perceptual loss ${l.G.perceptual} at step ${l.step}`);

  // Another network on resume would change the loss mid-run: refused, naming both.
  const vggGrader = saveTinyGrader(join(out, 'vgg-grader.safetensors'), 'vgg16');
  const third = await cli([...base, '--resume', '--grader', vggGrader, '--max-steps', '3']);
  assert.equal(third.code, 1);
  assert.match(third.stderr, /perceptual loss used "trained grader's resnet18 backbone.*" and this run would use "trained grader's vgg16 backbone/);
});

test('with no --vgg, --grader or --no-perceptual the run stops with an error naming all three', async (t) => {
  const data = await ganPhantomSet(t);
  const out = tempDir(t);
  const r = await cli(['train', 'gan', '--data', data, '--out', join(out, 'r'), '--preset', 'tiny', '--max-steps', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no VGG-19 weights given.*--vgg FILE.*--grader FILE.*--no-perceptual.*a random network is never used/s);
  const missing = await cli(['train', 'gan', '--data', data, '--out', join(out, 's'), '--preset', 'tiny', '--grader', join(out, 'nope.safetensors'), '--max-steps', '1']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.safetensors: grader file for the perceptual loss's fallback not found/);
});
