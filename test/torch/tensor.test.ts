// Tensor methods (shape ops, indexing, broadcasting, reductions, linear algebra, elementwise
// math) against Python PyTorch on the same inputs (test/fixtures/ops/tensor.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { assertMatches, fromSpec, loadFixture, type TensorSpec } from './tensor-reference.js';

type Expected = TensorSpec | TensorSpec[];
const fx = loadFixture<{ inputs: Record<string, TensorSpec>; results: Record<string, Expected> }>('tensor');
const I = Object.fromEntries(Object.entries(fx.inputs).map(([k, v]) => [k, fromSpec(v)]));
const { a, b, m, n, bb, idx, gidx, mask, i0 } = I;
const pos = a.abs().add(0.1);

type Result = torch.Tensor | torch.Tensor[];
const groups: Record<string, Record<string, () => Result>> = {
  'shape ops': {
    reshape: () => a.reshape(4, 6),
    view: () => a.view(6, -1),
    permute: () => a.permute(2, 0, 1),
    transpose: () => a.transpose(0, 2),
    flatten1: () => a.flatten(1),
    squeeze: () => b.squeeze(),
    unsqueeze: () => m.unsqueeze(1),
    expand: () => b.expand(3, 4),
    cat1: () => torch.cat([a, a.mul(2)], 1),
    stack2: () => torch.stack([m, m.add(1)], 2),
    split: () => a.split(3, 2),
    split_sizes: () => a.split([1, 2], 1),
    chunk: () => a.chunk(3, 2),
  },
  indexing: {
    slice: () => a.slice(1, 1, 3).slice(2, null, null, 2),
    slice_neg: () => a.slice(-1, -3, -1),
    select: () => a.select(1, 1),
    narrow: () => a.narrow(2, 1, 2),
    index: () => a.index([i0, idx]),
    index_select: () => a.indexSelect(1, idx),
    gather: () => m.gather(1, gidx),
    scatter: () => torch.zeros([3, 4]).scatter(1, gidx.slice(1, 0, 2), m.slice(1, 0, 2)),
    scatter_add: () => torch.zeros([3, 4]).scatterAdd(1, gidx, m),
    masked_fill: () => a.select(0, 0).maskedFill(mask, -7.5),
    where: () => torch.where(mask, a.select(0, 0), m),
  },
  'broadcasting arithmetic and comparisons': {
    add_b: () => a.add(b),
    sub_alpha: () => a.sub(b, 2),
    mul_b: () => a.mul(b),
    div_b: () => a.div(b),
    pow2: () => a.pow(2),
    rsub: () => a.rsub(1),
    div_floor: () => a.mul(3).div(2, 'floor'),
    gt_b: () => a.gt(b),
    eq_s: () => a.round().eq(0),
    max_elem: () => a.maximum(b),
  },
  reductions: {
    sum: () => a.sum(),
    sum_dims: () => a.sum([0, 2]),
    sum_keep: () => a.sum(1, true),
    mean1: () => a.mean(1),
    var2: () => a.var(2),
    var2_biased: () => a.var(2, false),
    std01: () => a.std([0, 1]),
    max: () => a.max(),
    min: () => a.min(),
    max_dim: () => a.maxDim(2),
    min_dim_keep: () => a.minDim(0, true),
    argmax1: () => a.argmax(1),
    argmax_all: () => a.argmax(),
    amax: () => a.amax([0, 2]),
    logsumexp: () => a.logsumexp(2),
    prod: () => m.select(0, 0).prod(),
    norm: () => a.norm(2, 2),
    cumsum: () => a.cumsum(1),
  },
  'matmul, bmm and einsum': {
    matmul: () => m.matmul(n),
    matmul_batched: () => a.matmul(n),
    bmm: () => a.bmm(bb),
    einsum_bij_bjk: () => torch.einsum('bij,bjk->bik', a, bb),
    einsum_trace: () => torch.einsum('ij,kj->ik', m, m),
  },
  'elementwise math and softmax': {
    exp: () => a.exp(),
    log_pos: () => pos.log(),
    sqrt_pos: () => pos.sqrt(),
    rsqrt_pos: () => pos.rsqrt(),
    sigmoid: () => a.sigmoid(),
    tanh: () => a.tanh(),
    sin: () => a.sin(),
    cos: () => a.cos(),
    abs: () => a.abs(),
    clamp: () => a.clamp(-0.5, 0.7),
    log1p_pos: () => pos.log1p(),
    floor: () => a.mul(2).floor(),
    softmax2: () => a.softmax(2),
    softmax0: () => a.softmax(0),
    log_softmax1: () => a.logSoftmax(1),
  },
};

for (const [group, ops] of Object.entries(groups)) {
  test(`${group} equal PyTorch`, () => {
    for (const [name, run] of Object.entries(ops)) {
      const expected = fx.results[name];
      assert.ok(expected, `fixture has ${name}`);
      const got = torch.tidy(run);
      if (Array.isArray(expected)) {
        assert.ok(Array.isArray(got), `${name} returns a list`);
        assert.equal(got.length, expected.length, `${name}: number of results`);
        expected.forEach((e, i) => assertMatches(got[i], e, `${name}[${i}]`));
      } else {
        assertMatches(got as torch.Tensor, expected, name);
      }
      torch.dispose(got);
    }
  });
}

test('every reference result is exercised', () => {
  const covered = new Set(Object.values(groups).flatMap((g) => Object.keys(g)));
  assert.deepEqual(Object.keys(fx.results).filter((k) => !covered.has(k)), []);
});

test('views share memory with their base; reshape of a permuted tensor copies', () => {
  const t = torch.arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3);
  const v = t.transpose(0, 1);
  assert.deepEqual(v.strides, [1, 3]);
  t.select(0, 0).fill_(9);
  assert.deepEqual(v.toArray(), [9, 3, 9, 4, 9, 5]);
  const copy = v.reshape(6);
  t.fill_(0);
  assert.deepEqual(copy.toArray(), [9, 3, 9, 4, 9, 5]);
  assert.throws(() => v.view(6), /view/);
});

test('in-place ops modify the tensor and return it', () => {
  const t = torch.ones([3]);
  assert.equal(t.add_(2).mul_(3), t);
  assert.deepEqual(t.toArray(), [9, 9, 9]);
  t.clamp_(null, 4).sub_(torch.ones([3]));
  assert.deepEqual(t.toArray(), [3, 3, 3]);
  t.zero_();
  assert.deepEqual(t.toArray(), [0, 0, 0]);
});

test('metadata: shape, ndim, numel, size, dtype, device, toString', () => {
  assert.deepEqual(a.shape, [2, 3, 4]);
  assert.equal(a.ndim, 3);
  assert.equal(a.numel, 24);
  assert.equal(a.size(-1), 4);
  assert.equal(a.dtype, 'float32');
  assert.equal(a.device, 'cpu');
  assert.equal(a.toString(), 'Tensor(float32[2,3,4])');
});
