// Metrics draw their random subsets, patch positions and directions from streams of their
// own, so that a seed fixes the result and evaluating never disturbs the training run's
// generator (which a checkpoint saves). Each stream is libtorch's CPU generator with the
// state swapped in for the draw and out again afterwards.
import * as torch from '../torch/index.js';

/** A seeded random stream that borrows the global CPU generator only while it draws. */
export class SeededStream {
  private state: torch.Tensor | null = null;
  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  }

  /** Runs fn with this stream's generator state; later calls continue where it stopped. */
  draw<T>(fn: () => T): T {
    const outside = torch.keep(torch.getRngState());
    try {
      if (this.state) torch.setRngState(this.state);
      else torch.manualSeed(this.seed);
      const result = fn();
      this.state?.dispose();
      this.state = torch.keep(torch.getRngState());
      return result;
    } finally {
      torch.setRngState(outside);
      outside.dispose();
    }
  }

  dispose(): void {
    this.state?.dispose();
    this.state = null;
  }
}
