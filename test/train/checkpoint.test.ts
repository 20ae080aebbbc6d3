// The generic training checkpoint: round trip of modules, optimiser state, RNG and run state;
// damaged files (truncated, a flipped byte in data or metadata) refused naming the file;
// kept step files unaffected by later saves of `latest`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { CHECKSUM_META_KEY, loadCheckpoint, restoreCheckpoint, saveCheckpoint, saveRunCheckpoint, type CheckpointContent } from '../../src/train/checkpoint.js';

const { nn } = torch;

function setup(seed: number) {
  torch.manualSeed(seed);
  const a = new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.BatchNorm2d(3));
  const b = new nn.Linear(4, 2);
  const optA = new torch.optim.Adam(a.parameters(), { lr: 1e-3, betas: [0.5, 0.999] });
  const optB = new torch.optim.Adam(b.parameters(), { lr: 2e-4 });
  // One real step so that the moments and step counts exist.
  torch.tidy(() => {
    a.forward(torch.randn([2, 2, 5, 5])).square().mean().add(b.forward(torch.randn([3, 4])).square().mean()).backward();
    optA.step();
    optB.step();
  });
  return { a, b, optA, optB };
}

function content(s: ReturnType<typeof setup>, state: Record<string, unknown>): CheckpointContent {
  return { kind: 'test', modules: { A: s.a, B: s.b }, optimizers: { A: s.optA, B: s.optB }, state, rng: true };
}

const dirOf = (t: { after(fn: () => void): void }) => {
  const d = mkdtempSync(join(tmpdir(), 'drgan-ck-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
};

test('round trip restores weights, optimiser moments, RNG stream and run state', (t) => {
  const dir = dirOf(t);
  const s = setup(1);
  const path = join(dir, 'ck.safetensors');
  saveCheckpoint(path, content(s, { step: 7, loader: { epoch: 2, batch: 3 }, config: { lr: 1e-4 } }));
  const expectNext = torch.rand([4]).toArray();
  const r = setup(2);
  const ck = loadCheckpoint(path, 'test');
  restoreCheckpoint(ck, { modules: { A: r.a, B: r.b }, optimizers: { A: r.optA, B: r.optB }, rng: true });
  ck.dispose();
  assert.deepEqual(torch.rand([4]).toArray(), expectNext);
  for (const [k, v] of s.a.stateDict()) assert.deepEqual(r.a.stateDict().get(k)!.toArray(), v.toArray(), k);
  const so = s.optA.stateDict(), ro = r.optA.stateDict();
  assert.deepEqual((ro.state[0].exp_avg as torch.Tensor).toArray(), (so.state[0].exp_avg as torch.Tensor).toArray());
  assert.equal((ro.state[0].step as torch.Tensor).item(), 1);
  assert.equal(r.optB.paramGroups[0].lr, 2e-4);
  assert.deepEqual(loadCheckpoint(path).state, { step: 7, loader: { epoch: 2, batch: 3 }, config: { lr: 1e-4 } });
  assert.throws(() => loadCheckpoint(path, 'gan'), /a "test" checkpoint, expected "gan"/);
  assert.deepEqual(readdirSync(dir), ['ck.safetensors'], 'a temporary file was left behind');
});

test('truncated or bit-flipped checkpoints are refused with the file named', (t) => {
  const dir = dirOf(t);
  const path = join(dir, 'ck.safetensors');
  saveCheckpoint(path, content(setup(1), { step: 1 }));
  const good = readFileSync(path);
  const headerLen = Number(good.readBigUInt64LE(0));
  const cases: [string, Buffer][] = [
    ['truncated', good.subarray(0, good.length - 100)],
    ['flipped data byte', Buffer.from(good).fill(good[good.length - 10] ^ 0x01, good.length - 10, good.length - 9)],
    ['flipped metadata digit', (() => {
      const b = Buffer.from(good);
      const at = b.indexOf('\\"step\\":1');
      b[at + 9] = '2'.charCodeAt(0);
      return b;
    })()],
    ['empty', Buffer.alloc(0)],
  ];
  for (const [what, bytes] of cases) {
    const bad = join(dir, `${what.replace(/ /g, '-')}.safetensors`);
    writeFileSync(bad, bytes);
    assert.throws(() => loadCheckpoint(bad), (err: Error) => err.message.startsWith(bad) && /corrupt or truncated checkpoint/.test(err.message), what);
  }
  assert.ok(headerLen > 0 && good.includes(CHECKSUM_META_KEY));
  assert.throws(() => loadCheckpoint(join(dir, 'missing.safetensors')), /missing\.safetensors: checkpoint not found/);
  // The intact file still loads.
  loadCheckpoint(path).dispose();
});

test('restoring into a model of another shape names the checkpoint and module', (t) => {
  const dir = dirOf(t);
  const path = join(dir, 'ck.safetensors');
  saveCheckpoint(path, content(setup(1), {}));
  const ck = loadCheckpoint(path);
  t.after(() => ck.dispose());
  assert.throws(() => restoreCheckpoint(ck, { modules: { B: new nn.Linear(5, 2) } }), (e: Error) => e.message.startsWith(path) && e.message.includes('module "B"'));
  assert.throws(() => restoreCheckpoint(ck, { modules: { C: new nn.Linear(4, 2) } }), /no weights for module "C" \(has: A, B\)/);
});

test('a kept step file keeps its content when latest is saved again', (t) => {
  const dir = dirOf(t);
  const s = setup(1);
  saveRunCheckpoint(dir, content(s, { step: 1 }), 'step-1.safetensors');
  saveRunCheckpoint(dir, content(s, { step: 2 }));
  assert.equal(loadCheckpoint(join(dir, 'step-1.safetensors')).state.step, 1);
  assert.equal(loadCheckpoint(join(dir, 'latest.safetensors')).state.step, 2);
  assert.ok(existsSync(join(dir, 'latest.safetensors')));
  assert.deepEqual(readdirSync(dir).sort(), ['latest.safetensors', 'step-1.safetensors']);
});
