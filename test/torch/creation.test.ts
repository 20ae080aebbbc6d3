// Factories and the random generator, against Python PyTorch (test/fixtures/ops/creation.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { assertMatches, loadFixture, type TensorSpec } from './tensor-reference.js';

type Fixture = Record<string, TensorSpec> & {
  seed1234: Record<string, TensorSpec>;
  seed42_sequence: TensorSpec[];
  seed3_dropout_half: TensorSpec;
};
const fx = loadFixture<Fixture>('creation');
const exact = { rtol: 0, atol: 0 };

test('zeros, ones, full, eye and linspace equal PyTorch', () => {
  assertMatches(torch.zeros([2, 3]), fx.zeros, 'zeros', exact);
  assertMatches(torch.ones([2, 2], { dtype: 'int64' }), fx.ones_int64, 'ones int64', exact);
  assertMatches(torch.full([2, 3], 2.5), fx.full, 'full', exact);
  assertMatches(torch.eye(3, 4), fx.eye, 'eye', exact);
  assertMatches(torch.linspace(-1, 2, 7), fx.linspace, 'linspace', exact);
});

test('arange gives int64 for integer arguments and float32 otherwise, as PyTorch', () => {
  assertMatches(torch.arange(2, 11, 3), fx.arange_int, 'arange int', exact);
  assertMatches(torch.arange(5, -3, -2), fx.arange_neg, 'arange negative step', exact);
  assertMatches(torch.arange(0.5, 2.0, 0.3), fx.arange_float, 'arange float', exact);
  assert.deepEqual(torch.arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(torch.arange(0, 3, 1, { dtype: 'float64' }).dtype, 'float64');
});

test('dtype conversions truncate and saturate like PyTorch', () => {
  const src = torch.tensor([-1.7, -0.2, 0.0, 2.5, 3.99, 200.0]);
  assertMatches(src, fx.cast_src, 'source', exact);
  assertMatches(src.to('int64'), fx.cast_int64, 'to int64', exact);
  assertMatches(src.to('bool'), fx.cast_bool, 'to bool', exact);
  assertMatches(src.abs().to('uint8'), fx.cast_uint8, 'to uint8', exact);
  assertMatches(src.double(), fx.cast_float64, 'to float64', exact);
});

test('every dtype round-trips through typed arrays and nested arrays', () => {
  const f32 = torch.tensor(new Float32Array([1.5, -2.25, 3e-8]), [3]);
  assert.equal(f32.dtype, 'float32');
  assert.deepEqual(Array.from(f32.dataSync() as Float32Array), Array.from(new Float32Array([1.5, -2.25, 3e-8])));
  const f64 = torch.tensor(new Float64Array([Math.PI, -1e300, 5e-324]), [3]);
  assert.equal(f64.dtype, 'float64');
  assert.deepEqual(Array.from(f64.dataSync() as Float64Array), [Math.PI, -1e300, 5e-324]);
  const big = torch.tensor(new BigInt64Array([2n ** 62n, -5n, 0n]), [3]);
  assert.equal(big.dtype, 'int64');
  assert.deepEqual(Array.from(big.dataSync() as BigInt64Array), [2n ** 62n, -5n, 0n]);
  const u8 = torch.tensor(new Uint8Array([0, 128, 255, 7]), [2, 2]);
  assert.equal(u8.dtype, 'uint8');
  assert.deepEqual(u8.shape, [2, 2]);
  assert.deepEqual(u8.toArray(), [0, 128, 255, 7]);
  const b = torch.tensor([[true, false], [false, true]]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [1, 0, 0, 1]);
  const nestedInt = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int64' });
  assert.deepEqual(nestedInt.shape, [2, 3]);
  assert.deepEqual(nestedInt.sum().item(), 21);
  const nestedF64 = torch.tensor([[0.1, 0.2]], { dtype: 'float64' });
  assert.deepEqual(nestedF64.toArray(), [0.1, 0.2]);
  assert.equal(torch.tensor(3.5).ndim, 0);
  assert.equal(torch.tensor(3.5).item(), 3.5);
  for (const dtype of ['float32', 'float64', 'int64', 'uint8', 'bool'] as const) {
    const t = torch.tensor([1, 0, 1, 1], { dtype });
    const bytes = torch.toBytes(t);
    const back = torch.fromBytes(bytes, dtype, [4]);
    assert.equal(back.dtype, dtype);
    assert.ok(back.equal(t), `${dtype} survives toBytes/fromBytes`);
  }
});

test('ragged nested arrays and bad shapes are rejected with the shape in the message', () => {
  assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged.*\[2, 2\]/);
  assert.throws(() => torch.zeros([2, -1]), /zeros: shape \[2, -1\]/);
  assert.throws(() => torch.tensor(new Float32Array(5), [2, 3]), /5 elements but shape needs 6/);
});

test('rand, randn, randint, randperm after manualSeed equal Python torch.manual_seed', () => {
  torch.manualSeed(1234);
  const s = fx.seed1234;
  assertMatches(torch.randn([7]), s.randn7, 'randn(7)', exact);
  assertMatches(torch.rand([2, 3]), s.rand2x3, 'rand(2, 3)', exact);
  assertMatches(torch.randint(0, 100, [6]), s.randint6, 'randint', exact);
  assertMatches(torch.randn([20]), s.randn20, 'randn(20)', exact);
  assertMatches(torch.randn([5], { dtype: 'float64' }), s.randn_f64, 'randn float64', exact);
  assertMatches(torch.randperm(8), s.randperm8, 'randperm', exact);
  assertMatches(torch.randLike(torch.zeros([3])), s.rand_like, 'rand_like', exact);
});

test('a sequence of randn calls continues the same stream as Python', () => {
  torch.manualSeed(42);
  fx.seed42_sequence.forEach((spec, i) => assertMatches(torch.randn(spec.shape), spec, `randn call ${i}`, exact));
});

test('manualSeed makes draws reproducible and different seeds differ', () => {
  torch.manualSeed(5);
  const a = torch.randn([16]).toArray();
  torch.manualSeed(5);
  assert.deepEqual(torch.randn([16]).toArray(), a);
  torch.manualSeed(6);
  assert.notDeepEqual(torch.randn([16]).toArray(), a);
});

test('getRngState / setRngState restore the stream exactly', () => {
  torch.manualSeed(9);
  torch.randn([3]);
  const state = torch.getRngState();
  assert.equal(state.dtype, 'uint8');
  const first = [torch.randn([5]).toArray(), torch.rand([4]).toArray(), torch.randint(0, 1000, [4]).toArray()];
  torch.randn([100]);
  torch.setRngState(state);
  const again = [torch.randn([5]).toArray(), torch.rand([4]).toArray(), torch.randint(0, 1000, [4]).toArray()];
  assert.deepEqual(again, first);
});

test('dropout draws the same mask as Python for the same seed', () => {
  torch.manualSeed(3);
  assertMatches(torch.F.dropout(torch.ones([4, 8]), 0.5, true), fx.seed3_dropout_half, 'dropout mask', exact);
});
