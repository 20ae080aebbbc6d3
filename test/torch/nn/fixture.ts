// Loads the nn fixtures (scripts/reference/nn_modules.py writes test/fixtures/nn/*.json)
// and turns their state dicts into tensors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../src/torch/index.js';
import { fromSpec, type TensorSpec } from '../tensor-reference.js';

export { fromSpec, assertMatches, assertClose, specValues, type TensorSpec } from '../tensor-reference.js';

const fixtureDir = fileURLToPath(new URL('../../../../test/fixtures/nn/', import.meta.url));

export function loadNnFixture<T>(name: string): T {
  return JSON.parse(readFileSync(fixtureDir + name + '.json', 'utf8')) as T;
}

export function stateFromSpecs(specs: Record<string, TensorSpec>): Map<string, torch.Tensor> {
  return new Map(Object.entries(specs).map(([k, s]) => [k, fromSpec(s)]));
}
