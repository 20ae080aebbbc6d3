// --device is checked where it enters: a bad spelling or a missing GPU is a usage error that
// names the flag, before any model is built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { resolveDevice } from '../../src/cli/device-flag.js';
import { UsageError } from '../../src/cli/flags.js';

const hasCuda = torch.cuda.isAvailable();

test('cpu and its default resolve to cpu', () => {
  assert.equal(resolveDevice('cpu', 'drgan x'), 'cpu');
  assert.equal(resolveDevice(' CPU ', 'drgan x'), 'cpu');
  assert.equal(resolveDevice(undefined, 'drgan x'), 'cpu');
});

test('a malformed device names the flag and the accepted forms', () => {
  for (const bad of ['gpu', 'cuda:', 'cuda:-1', 'cuda:x', 'mps']) {
    assert.throws(() => resolveDevice(bad, 'drgan train gan'), (e: Error) => e instanceof UsageError && /drgan train gan: --device/.test(e.message) && /cpu, cuda or cuda:N/.test(e.message), bad);
  }
});

test('cuda without a CUDA device is a usage error that says how to get one', { skip: hasCuda ? 'a CUDA device is present' : false }, () => {
  assert.throws(() => resolveDevice('cuda', 'drgan synth'), (e: Error) => e instanceof UsageError && /--device cuda/.test(e.message) && /DRGAN_TORCH_DIR/.test(e.message));
});

test('cuda resolves to cuda:0 and an index past the last device is refused', { skip: hasCuda ? false : 'no CUDA device' }, () => {
  assert.equal(resolveDevice('cuda', 'drgan x'), 'cuda:0');
  const n = torch.cuda.deviceCount();
  assert.equal(resolveDevice(`cuda:${n - 1}`, 'drgan x'), `cuda:${n - 1}`);
  assert.throws(() => resolveDevice(`cuda:${n}`, 'drgan x'), /only \d+ CUDA device/);
});
