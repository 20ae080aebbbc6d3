// The README's tensor-library example, kept as a compiled file so a test runs it.
import * as torch from '../src/torch/index.js';
const { F } = torch;

/** Trains a one-conv classifier on a toy task; returns the loss of each step. */
export function trainTiny(steps = 100): number[] {
  torch.manualSeed(0);
  const { x, y, w1, w2 } = torch.tidy(() => {
    const x = torch.randn([64, 1, 8, 8]);
    const y = x.mean([1, 2, 3]).gt(0).long(); // a toy label: is the image bright on average?
    const w1 = torch.randn([8, 1, 3, 3]).mul(0.3).requiresGrad_();
    const w2 = torch.randn([2, 8]).mul(0.3).requiresGrad_();
    return { x, y, w1, w2 };                         // everything else made here is freed
  });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    torch.tidy(() => {                                   // frees every intermediate of the step
      const h = F.relu(F.conv2d(x, w1, null, { padding: 1 })).mean([2, 3]);
      const loss = F.crossEntropy(F.linear(h, w2), y);
      loss.backward();
      torch.noGrad(() => {
        for (const w of [w1, w2]) { w.sub_(w.grad!.mul(0.5)); w.grad = null; }
      });
      losses.push(loss.item());
    });
  }
  torch.dispose([x, y, w1, w2]);
  return losses;
}

if (process.argv[1]?.endsWith('train-tiny.js')) {
  const losses = trainTiny();
  console.log(`loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)}`);
}
