// The generator: shapes at several resolutions in both stages, ablation switches,
// stage 1 -> 2 without touching G_m, seeded noise, gradients, and the documented state dict keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.js';
import { makeConfig, type ConfigOverrides } from '../../src/gan/config.js';
import { Generator } from '../../src/gan/generator.js';

torch.setNumThreads(1);

function tiny(over: ConfigOverrides = {}) {
  return makeConfig('tiny', over);
}

test('stage 1 gives R/2 images and stage 2 R images, with 5 grade logits, at R = 32, 64, 128', () => {
  for (const R of [32, 64, 128]) {
    torch.tidy(() => {
      const cfg = tiny({ resolution: R });
      const G = new Generator(cfg);
      const c = torch.rand([2, 8, R, R]), z = torch.randn([2, 16]);
      assert.deepEqual(G.global.noiseShapes(2, R / 2), [[2, 8, R / 16, R / 16], [2, 4, R / 8, R / 8], [2, 2, R / 4, R / 4]]);
      const s1 = G.forward(c, z, 1);
      assert.deepEqual(s1.image.shape, [2, 3, R / 2, R / 2], `stage 1 at R=${R}`);
      assert.deepEqual(s1.gradeLogits.shape, [2, 5]);
      const { features } = G.global.run(torch.F.avgPool2d(c, 3, { stride: 2, padding: 1, countIncludePad: false }), z);
      assert.deepEqual(features.shape, [2, 4, R / 2, R / 2], 'G_m features: ngf at R/2');
      G.addLocalEnhancer();
      const s2 = G.forward(c, z, 1);
      assert.deepEqual(s2.image.shape, [2, 3, R, R], `stage 2 at R=${R}`);
      assert.ok(s2.image.abs().max().item() <= 1, 'tanh output');
      assert.equal(G.outputSize, R);
      G.dispose();
    });
  }
});

test('synthesis block widths follow 8/4/2 ngf at R/16, R/8, R/4, and the grade head sits on 8 ngf', () => {
  torch.tidy(() => {
    const G = new Generator(tiny({ generator: { ngf: 8 } }), 2);
    const shape = (k: string) => G.stateDict().get(k)!.shape;
    assert.deepEqual(shape('global.encoder.0.1.weight'), [8, 8, 7, 7]);
    assert.deepEqual(shape('global.encoder.3.0.weight'), [64, 32, 3, 3]);
    assert.deepEqual(shape('global.synthesis.0.fuse.weight'), [64, 64 + 64 + 8, 3, 3]);
    assert.deepEqual(shape('global.synthesis.2.agm.fuse.weight'), [16, 16 + 4, 1, 1]);
    assert.deepEqual(shape('global.synthesis.2.up.0.weight'), [16, 8, 3, 3]);
    assert.deepEqual(shape('global.synthesis.1.sca.spatial.query.weight'), [32 / 2, 32, 1, 1]);
    assert.deepEqual(shape('global.gradeHead.4.weight'), [5, 64]);
    assert.deepEqual(shape('local.down.1.weight'), [4, 8, 7, 7]);
    assert.deepEqual(shape('local.up.0.weight'), [8, 4, 3, 3]);
    assert.deepEqual(shape('local.up.4.weight'), [3, 4, 7, 7]);
    G.dispose();
  });
});

test('ablations: noSCA drops attention, noAGM the mapping network, noLesionMasks takes 2 channels', () => {
  torch.tidy(() => {
    const names = (G: Generator) => G.namedParameters().map(([n]) => n);
    const full = new Generator(tiny(), 2);
    assert.ok(names(full).some((n) => n.includes('.sca.')) && names(full).some((n) => n.startsWith('global.mapping.')));

    const noSCA = new Generator(tiny({ ablation: { noSCA: true } }), 2);
    assert.ok(!names(noSCA).some((n) => n.includes('.sca.') || n.endsWith('gamma')));
    assert.deepEqual(names(full).filter((n) => !n.includes('.sca.')), names(noSCA));

    const noAGM = new Generator(tiny({ ablation: { noAGM: true } }), 2);
    assert.ok(!names(noAGM).some((n) => n.startsWith('global.mapping.') || n.includes('.agm.')));
    assert.deepEqual(names(full).filter((n) => !n.startsWith('global.mapping.') && !n.includes('.agm.')), names(noAGM));
    assert.deepEqual(noAGM.forward(torch.rand([1, 8, 32, 32]), null).image.shape, [1, 3, 32, 32], 'no grading vector needed');
    assert.throws(() => full.forward(torch.rand([1, 8, 32, 32]), null), /grading vector z .* is required/);

    const noLesions = new Generator(tiny({ ablation: { noLesionMasks: true } }), 2);
    assert.deepEqual(noLesions.global.encoder.at(0).at(1).stateDict().get('weight')!.shape, [4, 2, 7, 7]);
    assert.deepEqual(noLesions.local!.down.at(1).stateDict().get('weight')!.shape, [2, 2, 7, 7]);
    const c8 = torch.rand([1, 8, 32, 32]), z = torch.randn([1, 16]);
    // An 8-channel map is narrowed to vessel + optic disc: lesion channels have no effect.
    const lesionless = c8.clone();
    torch.noGrad(() => lesionless.narrow(1, 2, 6).zero_());
    noLesions.eval();
    assert.equal(noLesions.forward(c8, z, 3).image.sub(noLesions.forward(lesionless, z, 3).image).abs().max().item(), 0);
    assert.throws(() => noLesions.forward(torch.rand([1, 5, 32, 32]), z), /condition map has 5 channels; this configuration uses 2 \(vessel, optic_disc\)/);
    for (const G of [full, noSCA, noAGM, noLesions]) G.dispose();
  });
});

test('addLocalEnhancer keeps every G_m tensor (same objects, bit-identical values)', () => {
  torch.tidy(() => {
    torch.manualSeed(21);
    const G = new Generator(tiny());
    const before = G.stateDict();
    const copies = new Map([...before].map(([k, t]) => [k, t.clone()]));
    assert.equal(G.stage, 1);
    assert.equal(G.local, null);
    const local = G.addLocalEnhancer();
    assert.equal(G.stage, 2);
    assert.equal(G.local, local);
    const after = G.stateDict();
    for (const [k, t] of before) {
      assert.equal(after.get(k), t, `${k}: same tensor object`);
      assert.ok(t.equal(copies.get(k)!), `${k}: same values`);
    }
    assert.deepEqual([...after.keys()].filter((k) => !before.has(k)).every((k) => k.startsWith('local.')), true);
    assert.throws(() => G.addLocalEnhancer(), /already in stage 2/);
    G.dispose();
  });
});

test('a noise seed fixes the image and leaves the global random stream where it was', () => {
  torch.tidy(() => {
    const G = new Generator(tiny(), 2).eval();
    const c = torch.rand([1, 8, 32, 32]), z = torch.randn([1, 16]);
    const a = G.forward(c, z, 7).image, b = G.forward(c, z, 7).image, d = G.forward(c, z, 8).image;
    assert.ok(a.equal(b));
    assert.ok(a.sub(d).abs().max().item() > 1e-6, 'another seed, other noise');
    torch.manualSeed(5); G.forward(c, z, 123); const after = torch.randn([4]);
    torch.manualSeed(5); const untouched = torch.randn([4]);
    assert.ok(after.equal(untouched));
    torch.manualSeed(5); const u1 = G.forward(c, z).image;
    torch.manualSeed(5); const u2 = G.forward(c, z).image;
    assert.ok(u1.equal(u2), 'unseeded noise follows manualSeed');
    G.dispose();
  });
});

test('every parameter used in stage 2 receives a gradient (G_m output head is stage 1 only)', () => {
  torch.tidy(() => {
    const G = new Generator(tiny(), 2);
    torch.noGrad(() => { for (const [n, p] of G.namedParameters()) if (n.endsWith('gamma')) p.fill_(0.5); });
    const { image, gradeLogits } = G.forward(torch.rand([2, 8, 32, 32]), torch.randn([2, 16]), 1);
    image.square().mean().add(gradeLogits.mean()).backward();
    const missing = G.namedParameters().filter(([, p]) => !p.grad).map(([n]) => n);
    assert.deepEqual(missing, ['global.outputHead.1.weight', 'global.outputHead.1.bias']);
    G.dispose();
  });
});

test('bad inputs are named: condition size, z shape', () => {
  const G = new Generator(tiny());
  assert.throws(() => G.forward(torch.rand([1, 8, 64, 64]), torch.randn([1, 16])), /condition map at R=32/);
  assert.throws(() => G.forward(torch.rand([2, 8, 32, 32]), torch.randn([1, 16])), /expected z \[2, 16\]/);
  G.dispose();
});

test('the generator state dict keys are the list in docs/gan.md', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/gan.md', import.meta.url)), 'utf8');
  const m = /<!-- generator-keys:start -->\s*```text\n([\s\S]*?)```\s*<!-- generator-keys:end -->/.exec(doc);
  assert.ok(m, 'docs/gan.md has the generator-keys block');
  const documented = m[1].trim().split('\n').map((l) => l.trim().split(/\s+/)[0]);
  // Keys depend only on structure (7 residual blocks as in the paper), not on widths.
  const G = new Generator(tiny({ generator: { residualBlocks: 7 } }), 2);
  assert.deepEqual([...G.stateDict().keys()], documented);
  G.dispose();
});
