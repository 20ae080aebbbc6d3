// Bad input gives a JavaScript exception that names the operator and the arguments at
// fault, and the process carries on; NaN flows through kernels without crashing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

test('matmul shape mismatch names the op and both shapes', () => {
  const err = catchError(() => torch.zeros([2, 3]).matmul(torch.zeros([4, 5])));
  assert.ok(err instanceof Error);
  assert.match(err.message, /^aten::matmul\(self=float32\[2,3\], other=float32\[4,5\]\)/);
  assert.match(err.message, /cannot be multiplied \(2x3 and 4x5\)/);
  assert.doesNotMatch(err.message, /Exception raised from|frame #/, 'no C++ backtrace');
});

test('conv2d channel mismatch names the op, the input and weight shapes', () => {
  const err = catchError(() => torch.F.conv2d(torch.zeros([1, 3, 8, 8]), torch.zeros([4, 2, 3, 3])));
  assert.match(err.message, /^aten::conv2d\(input=float32\[1,3,8,8\], weight=float32\[4,2,3,3\], bias=None, stride=\[1, 1\]/);
  assert.match(err.message, /expected input\[1, 3, 8, 8\] to have 2 channels/);
});

test('cat size mismatch names the op and every tensor shape', () => {
  const err = catchError(() => torch.cat([torch.zeros([2, 3]), torch.zeros([2, 4])], 0));
  assert.match(err.message, /^aten::cat\(tensors=\[float32\[2,3\], float32\[2,4\]\], dim=0\)/);
  assert.match(err.message, /Expected size 3 but got size 4/);
});

test('wrong dtype into conv2d is a clear error', () => {
  const err = catchError(() => torch.F.conv2d(torch.zeros([1, 1, 4, 4], { dtype: 'int64' }), torch.zeros([1, 1, 3, 3])));
  assert.match(err.message, /^aten::conv2d\(input=int64\[1,1,4,4\], weight=float32\[1,1,3,3\]/);
  assert.match(err.message, /expected scalar type Long but found Float/);
});

test('an unknown operator name is a clear error', () => {
  assert.throws(() => torch.aten('nonexistent')(torch.zeros([1])), /no ATen operator aten::nonexistent/);
  assert.throws(() => torch.aten('add.NoSuchOverload')(torch.zeros([1])), /no ATen operator aten::add\.NoSuchOverload/);
});

test('wrong argument types are TypeErrors naming the op, argument and expected type', () => {
  const x = torch.zeros([2, 3]);
  assert.throws(() => torch.aten('sum.dim_IntList')(x, 'rows'), { name: 'TypeError', message: /aten::sum\.dim_IntList: argument 'dim' \(int\[\]\?\) must be an array of integers/ });
  assert.throws(() => x.select('0' as unknown as number, 1), { name: 'TypeError', message: /aten::select\.int: argument 'dim' \(int\) must be an integer/ });
  assert.throws(() => x.select(0.5, 1), /argument 'dim' must be an integer, got 0\.5/);
  assert.throws(() => torch.aten('add.Scalar')(x, '1'), /aten::add\.Scalar: argument 'other' \(Scalar\) must be a number/);
  assert.throws(() => x.add('1' as unknown as number), /aten::add\.Tensor argument 'other': expected a tensor handle/);
  assert.throws(() => torch.F.dropout(x, 0.5, 'yes' as unknown as boolean), /aten::dropout: argument 'train' \(bool\) must be a boolean/);
  assert.throws(() => torch.aten('relu')({}), /aten::relu argument 'self': expected a tensor handle/);
  assert.throws(() => torch.aten('relu')(x, 1, 2), /aten::relu: takes 1 arguments, got 3/);
  assert.throws(() => torch.aten('add.Tensor')(x), /aten::add\.Tensor: missing argument 'other'/);
  assert.throws(() => torch.tensor(new Uint16Array(3), [3]), /unsupported typed array type/);
  assert.throws(() => torch.manualSeed('7' as unknown as number), /manualSeed: seed must be a non-negative integer/);
  assert.throws(() => torch.manualSeed(-1), /manualSeed: seed must be a non-negative integer/);
});

test('other misuse: item of many elements, bad device, bad byte count, mismatched grad', () => {
  assert.throws(() => torch.zeros([3]).item(), /item\(\) needs a tensor with one element, got float32\[3\]/);
  assert.throws(() => torch.zeros([2], { device: 'banana' }), /device type at start of device string: banana/);
  assert.throws(() => torch.fromBytes(new Uint8Array(3), 'float32', [1]), /3 bytes given, shape and dtype need 4/);
  assert.throws(() => torch.setRngState(torch.zeros([3])), /setRngState: .*ByteTensor/);
  const w = torch.ones([2]);
  assert.throws(() => { w.grad = torch.ones([3]); }, /grad: assigned gradient is float32\[3\] but the tensor is float32\[2\]/);
  assert.throws(() => torch.F.scaledDotProductAttention(torch.zeros([1, 2, 2]), torch.zeros([1, 2, 2]), torch.zeros([1, 2, 2]), { chunkSize: 1.5 }), /chunkSize must be a positive integer/);
});

test('the process survives many failing calls in a row and keeps computing', () => {
  const a = torch.zeros([2, 3]);
  const before = torch.memoryStats().handles;
  for (let i = 0; i < 200; i++) assert.throws(() => torch.aten('mm')(a, a), /aten::mm/);
  // (<=: a garbage-collection finalizer may free earlier tensors meanwhile, never add any)
  assert.ok(torch.memoryStats().handles <= before, 'failed calls leave no handles behind');
  assert.deepEqual(torch.ones([2, 2]).matmul(torch.ones([2, 2])).toArray(), [2, 2, 2, 2]);
});

test('NaN inputs propagate through kernels without crashing', () => {
  const x = torch.tensor([[NaN, 1, 2], [0, NaN, -1]]);
  assert.ok(Number.isNaN(x.sum().item()));
  assert.deepEqual(x.isnan().toArray(), [1, 0, 0, 0, 1, 0]);
  assert.ok(x.softmax(1).toArray().slice(0, 3).every(Number.isNaN));
  assert.ok(Number.isNaN(x.max().item()), 'max propagates NaN like PyTorch');
  const y = torch.F.conv2d(torch.full([1, 1, 4, 4], NaN), torch.ones([1, 1, 3, 3]));
  assert.ok(y.toArray().every(Number.isNaN));
  assert.deepEqual(x.sort(1)[0].shape, [2, 3]);
  const loss = torch.F.crossEntropy(torch.tensor([[NaN, 0]]), torch.tensor([0], { dtype: 'int64' }));
  assert.ok(Number.isNaN(loss.item()));
  const g = torch.tensor([NaN, 1], { requiresGrad: true });
  g.mul(g).sum().backward();
  assert.ok(Number.isNaN(g.grad!.toArray()[0]));
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected an exception');
}

test('a non-number inside a float list names the operator and the argument', () => {
  const x = torch.zeros([1, 1, 2, 2]);
  assert.throws(
    () => torch.aten('upsample_bilinear2d.vec')(x, null, false, ['a', 'b']),
    /aten::upsample_bilinear2d\.vec: argument 'scale_factors' \(float\[\]\?\) must be an array of numbers/,
  );
  x.dispose();
});
