// The generator's CPU options, off in every preset: generator.halfScaleFusion (G_m fuses its
// stem feature and the condition map at R/2 before the output head and G_l's sum) and
// generator.upsampling = 'resize' (nearest x2 + conv3x3 instead of a transposed conv).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { nn } from '../../src/torch/index.js';
import { makeConfig, PRESETS, validateConfig, type PresetName } from '../../src/gan/config.js';
import { Generator, downsample } from '../../src/gan/generator.js';

torch.setNumThreads(1);

test('both options are off in every preset, and halfScaleFusion adds no keys there', () => {
  for (const p of Object.keys(PRESETS) as PresetName[]) {
    assert.equal(makeConfig(p).generator.halfScaleFusion, false, p);
    assert.equal(makeConfig(p).generator.upsampling, 'transposed', p);
  }
  const G = new Generator(makeConfig('tiny'), 2);
  assert.ok(![...G.stateDict().keys()].some((k) => k.includes('halfScaleFusion')));
  assert.equal(G.global.halfScaleFusion, null);
  G.dispose();
});

test('a config saved before the options existed (no fields) still validates and builds the paper layers', () => {
  const cfg = makeConfig('tiny');
  delete (cfg.generator as Partial<typeof cfg.generator>).halfScaleFusion;
  delete (cfg.generator as Partial<typeof cfg.generator>).upsampling;
  validateConfig(cfg);
  const G = new Generator(cfg, 2);
  assert.equal(G.global.halfScaleFusion, null);
  assert.deepEqual([...G.stateDict().keys()], [...new Generator(makeConfig('tiny'), 2).stateDict().keys()]);
  G.dispose();
  assert.throws(() => makeConfig('tiny', { generator: { halfScaleFusion: 1 as unknown as boolean } }), /generator\.halfScaleFusion" must be true or false, got 1/);
  assert.throws(() => makeConfig('tiny', { generator: { upsampling: 'pixelshuffle' as 'resize' } }), /generator\.upsampling" must be transposed\|resize, got "pixelshuffle"/);
});

test('with halfScaleFusion the fusion conv sees [G_m features, stem feature, condition at R/2] and feeds both stages', () => {
  torch.tidy(() => {
    torch.manualSeed(4);
    const cfg = makeConfig('tiny', { resolution: 64, generator: { ngf: 8, halfScaleFusion: true } });
    const G = new Generator(cfg);
    const fusion = G.global.halfScaleFusion!;
    const conv = fusion.at(1) as nn.Conv2d;
    assert.deepEqual(conv.stateDict().get('weight')!.shape, [8, 2 * 8 + 8, 3, 3]);
    assert.ok(G.stateDict().has('global.halfScaleFusion.1.weight'));

    const seen: torch.Tensor[] = [];
    const forward = conv.forward.bind(conv);
    conv.forward = (x: torch.Tensor) => { seen.push(torch.keep(x.clone())); return forward(x); };
    const c = torch.rand([2, 8, 64, 64]), z = torch.randn([2, 16]);
    const s1 = G.forward(c, z, 1);
    assert.deepEqual(s1.image.shape, [2, 3, 32, 32]);
    assert.equal(seen.length, 1);
    // Reflection padding 1 around the concat; its last 8 channels are the map at R/2.
    const inner = seen[0].narrow(2, 1, 32).narrow(3, 1, 32);
    assert.deepEqual(seen[0].shape, [2, 24, 34, 34]);
    assert.ok(inner.narrow(1, 16, 8).sub(downsample(c)).abs().max().item() < 1e-6, 'condition channels are the R/2 map');

    // Every fusion parameter learns in stage 1 (output head) and in stage 2 (through G_l's sum).
    for (const stage of [1, 2] as const) {
      if (stage === 2) G.addLocalEnhancer();
      G.zeroGrad();
      G.forward(c, z, 1).image.square().mean().backward();
      for (const [n, p] of fusion.namedParameters()) assert.ok(p.grad && p.grad.abs().sum().item() > 0, `stage ${stage}: ${n} has a gradient`);
    }
    assert.equal(seen.length, 3);
    torch.dispose(seen);
    G.dispose();
  });
});

/** The doubling of a constant map, away from the borders, at (y, x) for the four parities. */
function parities(up: nn.Sequential): number[] {
  return torch.noGrad(() => torch.tidy(() => {
    const out = up.forward(torch.ones([1, 16, 6, 6])) as torch.Tensor;
    const at = (y: number, x: number) => out.narrow(2, y, 1).narrow(3, x, 1).narrow(1, 0, 1).item();
    return [at(4, 4), at(4, 5), at(5, 4), at(5, 5)];
  }));
}

test("upsampling 'resize' doubles a constant map into a constant one; the transposed conv draws a checkerboard", () => {
  torch.tidy(() => {
    torch.manualSeed(9);
    const make = (upsampling: 'transposed' | 'resize') => new Generator(makeConfig('tiny', { resolution: 64, generator: { ngf: 8, upsampling } }), 2).eval();
    const resize = make('resize'), transposed = make('transposed');
    // Synthesis block 2 (16 -> 8 channels at R/4 -> R/2); eval-mode batch norm is the identity at init.
    const r = parities(resize.global.synthesis.at(2).up), t = parities(transposed.global.synthesis.at(2).up);
    assert.ok(Math.max(...r) - Math.min(...r) < 1e-6, `resize: ${r}`);
    assert.ok(Math.max(...t) - Math.min(...t) > 1e-3, `transposed: ${t}`);

    const names = (G: Generator) => [...G.stateDict().keys()];
    assert.ok(!names(resize).some((k) => /synthesis\.\d\.up\.0\.weight|local\.up\.0\.weight/.test(k)), 'no transposed conv weights');
    assert.deepEqual(resize.stateDict().get('global.synthesis.0.up.2.weight')!.shape, [32, 64, 3, 3]);
    assert.deepEqual(resize.stateDict().get('local.up.2.weight')!.shape, [4, 8, 3, 3]);
    assert.deepEqual(resize.stateDict().get('local.up.6.weight')!.shape, [3, 4, 7, 7]);
    const c = torch.rand([2, 8, 64, 64]), z = torch.randn([2, 16]);
    assert.deepEqual(resize.forward(c, z, 1).image.shape, [2, 3, 64, 64]);
    assert.deepEqual(resize.global.forward(downsample(c), z).image.shape, [2, 3, 32, 32]);
    resize.dispose();
    transposed.dispose();
  });
});
