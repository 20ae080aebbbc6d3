// Part 3 (opt-in, slow): the same GAN step on tfjs's pure-JavaScript CPU backend, the
// engine a Node user gets without native code (tfjs-node cannot be installed here). Same
// weights (transposed to NHWC), same layers and losses, same Adam; differences:
//  - the stride-2 transposed convs use tfjs's 'same' padding, which puts the extra output
//    row at the other edge than PyTorch's padding=1, output_padding=1 (same cost, slightly
//    different numbers), so the losses are not expected to match PyTorch's;
//  - tfjs computes gradients only inside variableGrads, so the D update needs a separate G
//    forward without a tape (PyTorch reuses one): its time is reported so it can be
//    subtracted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PYTHON, pythonScript } from '../engine/python.js';
import { readWeights } from '../engine/weights.js';
import { msSince } from '../engine/stats.js';

type Params = Map<string, tf.Variable>;
const LR = 2e-4, BETA1 = 0.5, BETA2 = 0.999, EPS = 1e-8, LAMBDA_L1 = 10;

function get(p: Params, name: string): tf.Variable {
  const t = p.get(name);
  if (!t) throw new Error(`tfjs GAN benchmark: parameter "${name}" missing from the weights file`);
  return t;
}
function conv(p: Params, name: string, x: tf.Tensor4D, stride = 1, pad = 0): tf.Tensor4D {
  const y = tf.conv2d(x, get(p, `${name}.w`) as tf.Tensor4D, stride, pad === 0 ? 'valid' : pad);
  return tf.add(y, get(p, `${name}.b`));
}
function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
}
const normRelu = (x: tf.Tensor4D) => tf.relu(instanceNorm(x));
const reflect3 = (x: tf.Tensor4D) => tf.mirrorPad(x, [[0, 0], [3, 3], [3, 3], [0, 0]], 'reflect');

function generator(p: Params, c: tf.Tensor4D): tf.Tensor4D {
  let h = normRelu(conv(p, 'g.c0', reflect3(c)));
  h = normRelu(conv(p, 'g.d1', h, 2, 1));
  h = normRelu(conv(p, 'g.d2', h, 2, 1));
  for (let i = 0; i < 2; i++) {
    const r = normRelu(conv(p, `g.r${i}.c1`, h, 1, 1));
    h = tf.add(h, instanceNorm(conv(p, `g.r${i}.c2`, r, 1, 1)));
  }
  const [b, hh, ww, ch] = h.shape;
  const tokens = (t: tf.Tensor4D) => tf.reshape(t, [b, hh * ww, t.shape[3]]) as tf.Tensor3D;
  const q = tokens(conv(p, 'g.att.q', h)), k = tokens(conv(p, 'g.att.k', h)), v = tokens(conv(p, 'g.att.v', h));
  const att = tf.softmax(tf.matMul(q, k, false, true)); // full map, scale 1
  h = tf.add(h, tf.mul(get(p, 'g.att.gamma'), tf.reshape(tf.matMul(att, v), [b, hh, ww, ch])));
  for (const name of ['g.u1', 'g.u2']) {
    const w = get(p, `${name}.w`) as tf.Tensor4D;
    const [n, hh2, ww2] = h.shape;
    const up = tf.conv2dTranspose(h, w, [n, hh2 * 2, ww2 * 2, w.shape[2]], 2, 'same');
    h = normRelu(tf.add(up, get(p, `${name}.b`)));
  }
  return tf.tanh(conv(p, 'g.out', reflect3(h)));
}

function discriminator(p: Params, x: tf.Tensor4D): tf.Tensor4D {
  let h = tf.leakyRelu(conv(p, 'd.c1', x, 2, 1), 0.2);
  h = tf.leakyRelu(instanceNorm(conv(p, 'd.c2', h, 2, 1)), 0.2);
  h = tf.leakyRelu(instanceNorm(conv(p, 'd.c3', h, 2, 1)), 0.2);
  h = tf.leakyRelu(instanceNorm(conv(p, 'd.c4', h, 1, 1)), 0.2);
  return conv(p, 'd.out', h, 1, 1);
}

/** Mean BCE with logits against an all-`target` label: relu(x) - x z + log(1 + e^-|x|). */
function bce(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  const lin = target === 1 ? tf.sub(tf.relu(logits), logits) : tf.relu(logits);
  return tf.mean(tf.add(lin, tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
}

export async function runTfjs(root: string, steps: number, seed: number): Promise<number[]> {
  await tf.setBackend('cpu');
  await tf.ready();
  const dir = mkdtempSync(join(tmpdir(), 'drgan-bench-tfjs-'));
  try {
    const r = spawnSync(PYTHON, [pythonScript(root, 'gan_step.py'), dir, '2', String(seed), 'init-only'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gan_step.py init-only failed (${r.status}): ${r.stderr}`);
    const weights = readWeights(dir);
    const p: Params = new Map();
    let c: tf.Tensor4D | undefined, x: tf.Tensor4D | undefined;
    for (const [name, w] of weights) {
      const t = tf.tensor(w.data, w.shape);
      // NCHW -> NHWC; torch conv [O, I, kh, kw] and conv-transpose [I, O, kh, kw] weights
      // both become tfjs's [kh, kw, *, *] by the same permutation.
      if (name.startsWith('input.')) {
        const nhwc = tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
        if (name === 'input.c') c = nhwc; else x = nhwc;
      } else {
        p.set(name, tf.variable(w.shape.length === 4 ? tf.transpose(t, [2, 3, 1, 0]) : t, true, name));
      }
      t.dispose();
    }
    if (!c || !x) throw new Error('tfjs GAN benchmark: inputs missing from the weights file');
    const gVars = [...p.entries()].filter(([n]) => n.startsWith('g.')).map(([, v]) => v);
    const dVars = [...p.entries()].filter(([n]) => n.startsWith('d.')).map(([, v]) => v);
    const optG = tf.train.adam(LR, BETA1, BETA2, EPS);
    const optD = tf.train.adam(LR, BETA1, BETA2, EPS);
    const cc = c, xx = x;

    const step = (): { ms: number; forwardMs: number; lossD: number; lossG: number } => {
      const t0 = process.hrtime.bigint();
      let forwardMs = 0, lossD = 0, lossG = 0;
      tf.tidy(() => {
        const tf0 = process.hrtime.bigint();
        const fakeNoTape = generator(p, cc);
        fakeNoTape.dataSync(); // finish the work inside the timed span
        forwardMs = msSince(tf0);
        const d = tf.variableGrads(() => tf.mul(0.5, tf.add(
          bce(discriminator(p, tf.concat([cc, fakeNoTape], 3)), 0),
          bce(discriminator(p, tf.concat([cc, xx], 3)), 1))) as tf.Scalar, dVars);
        optD.applyGradients(d.grads as unknown as Parameters<typeof optD.applyGradients>[0]);
        lossD = d.value.dataSync()[0];
        const g = tf.variableGrads(() => {
          const fake = generator(p, cc);
          return tf.add(bce(discriminator(p, tf.concat([cc, fake], 3)), 1), tf.mul(LAMBDA_L1, tf.mean(tf.abs(tf.sub(fake, xx))))) as tf.Scalar;
        }, gVars);
        optG.applyGradients(g.grads as unknown as Parameters<typeof optG.applyGradients>[0]);
        lossG = g.value.dataSync()[0];
      });
      return { ms: msSince(t0), forwardMs, lossD, lossG };
    };

    const first = step(); // warm-up (kernel set-up), reported for the record
    console.log(`tfjs warm-up step: ${first.ms.toFixed(0)} ms (losses D ${first.lossD.toFixed(4)} G ${first.lossG.toFixed(4)}; see bench/tfjs/gan.ts on why they differ from PyTorch's)`);
    const out: number[] = [];
    for (let i = 0; i < steps; i++) {
      const s = step();
      console.log(`  tfjs step ${i + 1}: ${s.ms.toFixed(0)} ms, of which the extra tape-less G forward ${s.forwardMs.toFixed(0)} ms`);
      out.push(s.ms);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
