import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../src/torch/index.js';
import { trainTiny } from '../examples/train-tiny.js';

test('the README example trains: loss falls and no tensor is left behind', () => {
  const before = torch.memoryStats().handles;
  const losses = trainTiny(100);
  assert.ok(losses[99] < losses[0] * 0.7, `loss ${losses[0]} -> ${losses[99]}`);
  assert.ok(torch.memoryStats().handles <= before, 'every tensor of the example is freed');
});
