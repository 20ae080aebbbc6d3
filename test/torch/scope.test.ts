// Explicit tensor lifetimes: tidy disposes what fn created except what it returns or keeps;
// dispose is idempotent; a disposed tensor refuses further use with a clear message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

// Every test disposes what it creates, so a garbage-collection finalizer cannot change the
// live-handle count between two readings.
const live = () => torch.memoryStats().handles;

test('tidy disposes intermediates and keeps the returned tensor', () => {
  const x = torch.ones([4]);
  const before = live();
  let inner: torch.Tensor[] = [];
  const y = torch.tidy(() => {
    const a = x.mul(2);
    const b = a.add(1);
    inner = [a, b];
    return b.exp();
  });
  assert.equal(inner[0].isDisposed, true);
  assert.equal(inner[1].isDisposed, true);
  assert.equal(y.isDisposed, false);
  assert.equal(x.isDisposed, false, 'tensors from outside the scope are untouched');
  assert.equal(live(), before + 1);
  assert.ok(Math.abs(y.toArray()[0] - Math.exp(3)) < 1e-4);
  torch.dispose([x, y]);
});

test('tidy keeps tensors inside returned arrays, plain objects and maps', () => {
  const before = live();
  let scratch: torch.Tensor | undefined;
  const r = torch.tidy(() => {
    scratch = torch.zeros([2]);
    const m = new Map<string, torch.Tensor>([['m', torch.ones([1])]]);
    return { list: [torch.ones([1]), [torch.ones([2])]], nested: { deep: { t: torch.ones([3]) } }, m, n: 5 };
  });
  assert.equal(scratch!.isDisposed, true);
  assert.equal(r.list[0] instanceof torch.Tensor && !r.list[0].isDisposed, true);
  assert.equal((r.list[1] as torch.Tensor[])[0].isDisposed, false);
  assert.equal(r.nested.deep.t.isDisposed, false);
  assert.equal(r.m.get('m')!.isDisposed, false);
  assert.equal(live(), before + 4);
  torch.dispose(r);
  assert.equal(live(), before);
  assert.equal(r.nested.deep.t.isDisposed, true);
});

test('kept tensors survive every enclosing tidy', () => {
  let kept: torch.Tensor | undefined;
  let dropped: torch.Tensor | undefined;
  torch.tidy(() => {
    torch.tidy(() => {
      kept = torch.keep(torch.ones([2]));
      dropped = torch.ones([2]);
    });
  });
  assert.equal(kept!.isDisposed, false);
  assert.equal(dropped!.isDisposed, true);
  kept!.dispose();
});

test('a tensor returned by an inner tidy belongs to the outer one', () => {
  let fromInner: torch.Tensor | undefined;
  const out = torch.tidy(() => {
    fromInner = torch.tidy(() => torch.ones([2]).mul(3));
    assert.equal(fromInner.isDisposed, false);
    return fromInner.sum();
  });
  assert.equal(fromInner!.isDisposed, true, 'disposed by the outer tidy, which did not return it');
  assert.equal(out.item(), 6);
  out.dispose();
});

test('tidy disposes its tensors when fn throws, and rethrows', () => {
  const before = live();
  let made: torch.Tensor | undefined;
  assert.throws(() => torch.tidy(() => { made = torch.ones([8]); throw new Error('boom'); }), /boom/);
  assert.equal(made!.isDisposed, true);
  assert.equal(live(), before);
});

test('tidy refuses async functions with a clear message', () => {
  assert.throws(() => torch.tidy((async () => torch.ones([1])) as unknown as () => torch.Tensor), /fn returned a Promise/);
});

test('dispose twice is harmless and frees the handle once', () => {
  const before = live();
  const t = torch.ones([16]);
  assert.equal(live(), before + 1);
  t.dispose();
  t.dispose();
  torch.dispose([t, { t }]);
  assert.equal(live(), before);
  assert.equal(t.isDisposed, true);
});

test('using a disposed tensor throws "tensor was disposed" naming the operation', () => {
  const t = torch.ones([2]);
  t.dispose();
  assert.throws(() => t.add(1), /aten::add\.Scalar argument 'self': tensor was disposed/);
  assert.throws(() => t.toArray(), /toTypedArray: tensor was disposed/);
  assert.throws(() => t.shape, /tensor was disposed/);
  const other = torch.ones([2]);
  assert.throws(() => torch.cat([other, t]), /aten::cat argument 'tensors': tensor was disposed/);
  other.dispose();
  assert.throws(() => t.backward(), /tensor was disposed/);
});

test('disposing a view leaves its base usable (handles are independent)', () => {
  const base = torch.arange(4, undefined, 1, { dtype: 'float32' });
  const view = base.reshape(2, 2);
  view.dispose();
  assert.deepEqual(base.toArray(), [0, 1, 2, 3]);
  base.dispose();
});

test('memoryStats counts handles and bytes', () => {
  const before = torch.memoryStats();
  const t = torch.zeros([10, 10], { dtype: 'float64' });
  const during = torch.memoryStats();
  assert.equal(during.handles, before.handles + 1);
  assert.equal(during.bytes, before.bytes + 800);
  t.dispose();
  assert.deepEqual(torch.memoryStats(), before);
});
