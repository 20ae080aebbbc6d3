// The Module base: state dict names and order as PyTorch, loading with named errors,
// modes, dtype conversion, freezing, gradients and tensor lifetimes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { nn } from '../../../src/torch/index.js';
import { assertMatches, fromSpec, loadNnFixture, stateFromSpecs, type TensorSpec } from './fixture.js';

// The TypeScript twin of Block/Net in scripts/reference/nn_modules.py.
class Block extends nn.Module {
  readonly conv: nn.Conv2d;
  readonly norm: nn.InstanceNorm2d;
  constructor(ch: number) {
    super();
    this.conv = this.registerModule('conv', new nn.Conv2d(ch, ch, 3, { padding: 1, paddingMode: 'reflect' }));
    this.norm = this.registerModule('norm', new nn.InstanceNorm2d(ch, { affine: true, trackRunningStats: true }));
  }
  forward(x: torch.Tensor): torch.Tensor {
    return x.add(this.norm.forward(this.conv.forward(x)).relu());
  }
}
class Net extends nn.Module {
  readonly stem = this.registerModule('stem', new nn.Sequential(new nn.ReflectionPad2d(1), new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU()));
  readonly blocks = this.registerModule('blocks', new nn.ModuleList([new Block(2), new Block(2)]));
  readonly head = this.registerModule('head', new nn.Sequential(new nn.Flatten(), new nn.Linear(2 * 4 * 4, 3)));
  readonly scale = this.registerBuffer('scale', torch.full([1], 2));
  readonly scratch = this.registerBuffer('scratch', torch.zeros([2]), { persistent: false });
  forward(x: torch.Tensor): torch.Tensor {
    let h = this.stem.forward(x) as torch.Tensor;
    for (const b of this.blocks) h = b.forward(h);
    return (this.head.forward(h) as torch.Tensor).mul(this.scale);
  }
}

interface StateDictCase {
  keys: string[];
  parameterNames: string[];
  bufferNames: string[];
  moduleNames: string[];
  state: Record<string, TensorSpec>;
  input: TensorSpec;
  evalOutput: TensorSpec;
}
const ref = loadNnFixture<StateDictCase>('statedict');

test('state dict keys, parameter, buffer and module names equal PyTorch for a nested model', () => {
  const m = new Net();
  assert.deepEqual([...m.stateDict().keys()], ref.keys);
  assert.deepEqual(m.namedParameters().map(([k]) => k), ref.parameterNames);
  assert.deepEqual(m.namedBuffers().map(([k]) => k), ref.bufferNames);
  assert.deepEqual(m.namedModules().map(([k]) => k), ref.moduleNames);
  assert.equal(m.stateDict().get('stem.2.num_batches_tracked')!.dtype, 'int64');
  assert.ok(!m.stateDict().has('scratch'), 'non-persistent buffer stays out of the state dict');
  m.dispose();
});

test('a PyTorch state dict loads without a mapping and the model computes what PyTorch computed', () => {
  torch.tidy(() => {
    const m = new Net().eval();
    m.loadStateDict(stateFromSpecs(ref.state));
    assertMatches(m.forward(fromSpec(ref.input)), ref.evalOutput, 'Net eval output', { rtol: 1e-5, atol: 1e-5 });
    m.dispose();
  });
});

test('stateDict values are the live tensors; loadStateDict copies in place and converts dtype', () => {
  torch.tidy(() => {
    const lin = new nn.Linear(2, 2);
    assert.equal(lin.stateDict().get('weight'), lin.weight);
    const w = lin.weight;
    lin.loadStateDict({ weight: torch.tensor([[1, 2], [3, 4]], { dtype: 'float64' }), bias: torch.tensor([5, 6]) });
    assert.equal(lin.weight, w, 'same tensor object after loading');
    assert.equal(w.dtype, 'float32');
    assert.deepEqual(w.toArray(), [1, 2, 3, 4]);
    assert.ok(w.requiresGrad && w.isLeaf, 'still a trainable leaf');
    assert.equal(w.gradFn, null);
    lin.dispose();
  });
});

test('loadStateDict names every missing key, unexpected key and shape mismatch at once, copying nothing', () => {
  torch.tidy(() => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));
    const before = m.at(0).stateDict().get('bias')!.toArray();
    const sd = new Map(m.stateDict());
    sd.delete('1.running_var');
    sd.set('0.bias', torch.zeros([4]));
    sd.set('2.weight', torch.zeros([1]));
    assert.throws(() => m.loadStateDict(sd), (e: Error) => {
      assert.match(e.message, /missing keys: "1\.running_var"/);
      assert.match(e.message, /unexpected keys: "2\.weight"/);
      assert.match(e.message, /"0\.bias": shape \[4\] in the state dict, \[3\] in the model/);
      return true;
    });
    assert.deepEqual(m.at(0).stateDict().get('bias')!.toArray(), before, 'nothing copied');
    sd.set('0.bias', torch.ones([3]));
    const r = m.loadStateDict(sd, { strict: false });
    assert.deepEqual(r, { missingKeys: ['1.running_var'], unexpectedKeys: ['2.weight'] });
    assert.deepEqual(m.at(0).stateDict().get('bias')!.toArray(), [1, 1, 1]);
    m.dispose();
  });
});

test('train() and eval() reach every descendant; apply visits children before the parent', () => {
  const m = new Net();
  m.eval();
  assert.ok(m.modules().every((x) => !x.training));
  m.train();
  assert.ok(m.modules().every((x) => x.training));
  const order: string[] = [];
  new nn.Sequential(new nn.ReLU(), new nn.Tanh()).apply((x) => order.push(x.constructor.name));
  assert.deepEqual(order, ['ReLU', 'Tanh', 'Sequential']);
  m.dispose();
});

test('to(float64) converts floating parameters and buffers in place, keeping num_batches_tracked int64', () => {
  const m = new Net();
  const w = m.stem.at(1).stateDict().get('weight')!;
  m.to('float64');
  assert.equal(m.stem.at(1).stateDict().get('weight'), w, 'same tensor object');
  for (const [k, t] of m.stateDict()) assert.equal(t.dtype, k.endsWith('num_batches_tracked') ? 'int64' : 'float64', k);
  assert.equal(m.scratch.dtype, 'float64');
  assert.ok(w.requiresGrad && w.isLeaf);
  const y = m.forward(torch.randn([2, 1, 4, 4], { dtype: 'float64' }));
  assert.equal(y.dtype, 'float64');
  y.sum().backward();
  assert.equal(w.grad!.dtype, 'float64');
  assert.throws(() => m.to('int64'), /dtype must be floating point/);
  m.dispose();
});

test('zeroGrad drops gradients; requiresGrad_(false) freezes; numParameters counts elements', () => {
  torch.tidy(() => {
    const m = new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.BatchNorm2d(3));
    assert.equal(m.numParameters(), 3 * 2 * 9 + 3 + 3 + 3);
    m.forward(torch.randn([2, 2, 4, 4])).sum().backward();
    assert.ok(m.parameters().every((p) => p.grad !== null));
    m.zeroGrad();
    assert.ok(m.parameters().every((p) => p.grad === null));
    m.requiresGrad_(false);
    assert.equal(m.numParameters(true), 0);
    assert.ok(!m.forward(torch.randn([2, 2, 4, 4])).requiresGrad);
    m.dispose();
  });
});

test('a parameter shared by two modules is listed once by parameters() but under both names in stateDict()', () => {
  class Tied extends nn.Module {
    readonly a = this.registerModule('a', new nn.Linear(2, 2, { bias: false }));
    readonly b = this.registerModule('b', new nn.Linear(2, 2, { bias: false }));
    constructor() { super(); this.b.registerParameter('weight', this.a.weight); }
    forward(x: torch.Tensor): torch.Tensor { return this.b.forward(this.a.forward(x)); }
  }
  const t = new Tied();
  assert.deepEqual(t.namedParameters().map(([k]) => k), ['a.weight']);
  assert.deepEqual([...t.stateDict().keys()], ['a.weight', 'b.weight']);
  t.dispose();
});

test('registration rejects dotted names, names taken by another kind, and non-leaf parameters', () => {
  class Bad extends nn.Module { forward(): void {} }
  const m = new Bad();
  assert.throws(() => m.registerParameter('a.b', torch.zeros([1])), /without "\."/);
  m.registerBuffer('x', torch.zeros([1]));
  assert.throws(() => m.registerParameter('x', torch.zeros([1])), /"x".*taken/);
  const leaf = torch.zeros([1], { requiresGrad: true });
  assert.throws(() => m.registerParameter('y', leaf.mul(2)), /must be a leaf tensor/);
  assert.throws(() => m.getSubmodule('nope'), /Bad has no submodule "nope"/);
});

// Finalizers run inside GC, so a collection between two readings can free unrelated earlier
// garbage and hide the module's handles; settle the heap before each reading (scripts/run-tests.mjs
// passes --expose-gc).
const settleHeap = (): void => (globalThis as { gc?: () => void }).gc?.();

test('parameters and buffers survive tidy(); dispose() frees them', () => {
  settleHeap();
  const before = torch.memoryStats();
  const m = torch.tidy(() => {
    const net = new Net();
    net.forward(torch.randn([2, 1, 4, 4]));
    return net;
  });
  const live = m.stateDict();
  assert.ok([...live.values()].every((t) => !t.isDisposed), 'nothing disposed by tidy');
  const tensors = m.parameters().length + m.buffers().length;
  settleHeap();
  const during = torch.memoryStats();
  assert.ok(during.handles - before.handles >= tensors, `${during.handles - before.handles} handles held for ${tensors} tensors`);
  m.dispose();
  live.clear();
  const after = torch.memoryStats();
  assert.ok([...m.parameters(), ...m.buffers()].every((t) => t.isDisposed));
  assert.ok(during.handles - after.handles >= tensors, `dispose freed ${during.handles - after.handles} of ${tensors} handles`);
  assert.ok(after.bytes < during.bytes);
});

test('call() is forward() with the subclass signature', () => {
  torch.tidy(() => {
    const lin = new nn.Linear(3, 2);
    const x = torch.randn([4, 3]);
    const y: torch.Tensor = lin.call(x);
    assert.ok(y.equal(lin.forward(x)));
    assert.match(String(new nn.Sequential(lin)), /^Sequential\(\n {2}\(0\): Linear\(inFeatures=3, outFeatures=2, bias=true\)\n\)/);
  });
});
