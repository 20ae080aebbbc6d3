// The mapping network of adaptive grading manipulation (method.md section 4, after
// StyleGAN): fully connected layers with LeakyReLU(0.2) turn a grading vector z into w.
import * as torch from '../torch/index.js';
import { nn } from '../torch/index.js';

export class MappingNetwork extends nn.Module {
  readonly net: nn.Sequential;

  constructor(readonly zDim: number, readonly width = 512, readonly numLayers = 4) {
    super();
    const layers: nn.Module[] = [];
    for (let i = 0; i < numLayers; i++) layers.push(new nn.Linear(i === 0 ? zDim : width, width), new nn.LeakyReLU(0.2));
    this.net = this.registerModule('net', new nn.Sequential(...layers));
  }

  /** z [N, zDim] -> w [N, width]. */
  forward(z: torch.Tensor): torch.Tensor {
    const s = z.shape;
    if (s.length !== 2 || s[1] !== this.zDim) throw new Error(`MappingNetwork: expected a grading vector [N, ${this.zDim}], got shape [${s.join(', ')}]`);
    return this.net.forward(z) as torch.Tensor;
  }
}
