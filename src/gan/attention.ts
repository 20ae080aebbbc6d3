// Spatial and channel attention (SCA, method.md section 5), after DANet.
// Spatial: A = softmax over key positions of Q^T K with scale 1, out_s = V A^T, computed by
// the chunked attention kernel so that the N x N map (1e10 entries at 320x320) never
// exists, gradients included. Channel: A_c = softmax(I I^T) over the last axis,
// out_c = A_c I. Both are added to I through learned scalars that start at 0, and the
// block returns conv3x3(I_s) + conv3x3(I_c).
import * as torch from '../torch/index.js';
import { nn } from '../torch/index.js';
import type { ChannelAttentionKind } from './config.js';

function checkFeatures(who: string, x: torch.Tensor, channels: number): void {
  const s = x.shape;
  if (s.length !== 4 || s[1] !== channels) throw new Error(`${who}: expected features [N, ${channels}, H, W], got shape [${s.join(', ')}]`);
}

export interface SpatialAttentionOptions {
  /** Average-pool keys and values by this factor (1 = off): N x N/p^2 scores, for CPU use. */
  keyValuePool?: number;
  /** Bytes one query block's scores may take (the chunked kernel's budget). */
  memoryBudgetBytes?: number;
}

export class SpatialAttention extends nn.Module {
  readonly query: nn.Conv2d;
  readonly key: nn.Conv2d;
  readonly value: nn.Conv2d;
  /** gamma_s: 0 at start, so the branch begins as the identity. */
  readonly gamma: torch.Tensor;
  readonly keyValuePool: number;
  readonly memoryBudgetBytes: number | undefined;

  constructor(readonly channels: number, readonly reduction: number, o: SpatialAttentionOptions = {}) {
    super();
    if (channels % reduction !== 0) throw new Error(`SpatialAttention: channels (${channels}) must be divisible by the reduction d (${reduction})`);
    this.query = this.registerModule('query', new nn.Conv2d(channels, channels / reduction, 1));
    this.key = this.registerModule('key', new nn.Conv2d(channels, channels / reduction, 1));
    this.value = this.registerModule('value', new nn.Conv2d(channels, channels, 1));
    this.gamma = this.registerParameter('gamma', torch.zeros([1]));
    this.keyValuePool = o.keyValuePool ?? 1;
    this.memoryBudgetBytes = o.memoryBudgetBytes;
  }

  /** out_s = V A^T as [N, C, H, W], without the residual and gamma (tests compare this). */
  attend(x: torch.Tensor): torch.Tensor {
    checkFeatures('SpatialAttention', x, this.channels);
    const [n, c, h, w] = x.shape;
    const p = this.keyValuePool;
    if (h % p !== 0 || w % p !== 0) throw new Error(`SpatialAttention: keyValuePool ${p} must divide the feature size ${h}x${w}`);
    return torch.tidy(() => {
      // Pooling the input equals pooling K and V: a 1x1 conv commutes with averaging.
      const kvInput = p > 1 ? torch.F.avgPool2d(x, p) : x;
      const tokens = (t: torch.Tensor) => t.flatten(2).transpose(1, 2); // [N, C', HW] -> [N, HW, C']
      const q = tokens(this.query.forward(x));
      const k = tokens(this.key.forward(kvInput));
      const v = tokens(this.value.forward(kvInput));
      const out = torch.F.scaledDotProductAttention(q, k, v, { scale: 1, memoryBudgetBytes: this.memoryBudgetBytes });
      return out.transpose(1, 2).reshape(n, c, h, w);
    });
  }

  /** I_s = I + gamma_s * out_s. */
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => x.add(this.attend(x).mul(this.gamma)));
  }
}

export class ChannelAttention extends nn.Module {
  /** gamma_c: 0 at start. */
  readonly gamma: torch.Tensor;

  constructor(readonly channels: number, readonly kind: ChannelAttentionKind = 'plain') {
    super();
    if (kind !== 'plain' && kind !== 'danet') throw new Error(`ChannelAttention: kind must be plain|danet, got "${kind as string}"`);
    this.gamma = this.registerParameter('gamma', torch.zeros([1]));
  }

  /** out_c = A_c I as [N, C, H, W]. */
  attend(x: torch.Tensor): torch.Tensor {
    checkFeatures('ChannelAttention', x, this.channels);
    const [n, c, h, w] = x.shape;
    return torch.tidy(() => {
      const flat = x.reshape(n, c, h * w);
      const energy = flat.bmm(flat.transpose(1, 2)); // [N, C, C]
      // DANet's released code feeds max - energy to the softmax; the paper's formula is plain.
      const logits = this.kind === 'danet' ? energy.amax(-1, true).expandAs(energy).sub(energy) : energy;
      return logits.softmax(-1).bmm(flat).reshape(n, c, h, w);
    });
  }

  /** I_c = I + gamma_c * out_c. */
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => x.add(this.attend(x).mul(this.gamma)));
  }
}

export interface SCAOptions extends SpatialAttentionOptions {
  channelKind?: ChannelAttentionKind;
}

/** conv3x3(I_s) + conv3x3(I_c). */
export class SCA extends nn.Module {
  readonly spatial: SpatialAttention;
  readonly channel: ChannelAttention;
  readonly spatialConv: nn.Conv2d;
  readonly channelConv: nn.Conv2d;

  constructor(readonly channels: number, reduction: number, o: SCAOptions = {}) {
    super();
    this.spatial = this.registerModule('spatial', new SpatialAttention(channels, reduction, o));
    this.channel = this.registerModule('channel', new ChannelAttention(channels, o.channelKind ?? 'plain'));
    this.spatialConv = this.registerModule('spatialConv', new nn.Conv2d(channels, channels, 3, { padding: 1 }));
    this.channelConv = this.registerModule('channelConv', new nn.Conv2d(channels, channels, 3, { padding: 1 }));
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => this.spatialConv.forward(this.spatial.forward(x)).add(this.channelConv.forward(this.channel.forward(x))));
  }
}
