// Scaled dot-product attention that never builds the full N x N map: the addon's chunked
// kernel (custom autograd, recomputing blocks in backward) bounds memory by the chunk size.
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { BYTES_PER_ELEMENT } from '../dtype.js';

export interface AttentionOptions {
  /** Multiplier of Q K^T; default 1/sqrt(d). DANet-style attention uses 1. */
  scale?: number;
  /** Query rows per block; default from memoryBudgetBytes. */
  chunkSize?: number;
  /** Bytes one block's score matrix may take (default 128 MiB). */
  memoryBudgetBytes?: number;
}

/**
 * softmax(scale * q k^T) v over the last two dims. q [..., Nq, d], k [..., Nk, d],
 * v [..., Nk, c] -> [..., Nq, c]. Leading dims are batch dims (batch, heads).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  const qs = q.shape, ks = k.shape, vs = v.shape;
  if (qs.length < 2 || ks.length !== qs.length || vs.length !== qs.length) {
    throw new Error(`attention: q, k, v need the same rank >= 2; got [${qs}], [${ks}], [${vs}]`);
  }
  const lead = qs.slice(0, -2);
  // Checked here, before the reshapes below, which would otherwise fail (or silently mix
  // batch entries) with a message about reshape instead of about attention's inputs.
  const sameLead = ks.slice(0, -2).every((s, i) => s === lead[i]) && vs.slice(0, -2).every((s, i) => s === lead[i]);
  if (!sameLead || ks[ks.length - 1] !== qs[qs.length - 1] || vs[vs.length - 2] !== ks[ks.length - 2]) {
    throw new Error(`attention: shapes must be q [..., Nq, d], k [..., Nk, d], v [..., Nk, c] with the same leading dims; got q [${qs}], k [${ks}], v [${vs}]`);
  }
  const B = lead.reduce((a, b) => a * b, 1);
  const [Nq, d] = qs.slice(-2);
  const [Nk] = ks.slice(-2);
  const c = vs[vs.length - 1];
  if (o.chunkSize !== undefined && !(Number.isInteger(o.chunkSize) && o.chunkSize >= 1)) {
    throw new Error(`attention: chunkSize must be a positive integer, got ${o.chunkSize}`);
  }
  const scale = o.scale ?? 1 / Math.sqrt(d);
  const budget = o.memoryBudgetBytes ?? 128 * 1024 * 1024;
  const bytesPerRow = B * Nk * BYTES_PER_ELEMENT[q.dtype] * 2; // scores plus one temporary of the same size
  const chunk = Math.max(1, Math.min(Nq, o.chunkSize ?? Math.floor(budget / bytesPerRow)));
  const q3 = q.reshape(B, Nq, d);
  const k3 = k.reshape(B, Nk, d);
  const v3 = v.reshape(B, Nk, c);
  const out = new Tensor(native.chunkedAttention(q3.handle, k3.handle, v3.handle, scale, chunk));
  const result = out.reshape([...lead, Nq, c]);
  q3.dispose(); k3.dispose(); v3.dispose(); out.dispose();
  return result;
}

/** The textbook formula, building the whole map: for tests and small sizes only. */
export function attentionFull(q: Tensor, k: Tensor, v: Tensor, scale?: number): Tensor {
  const d = q.shape[q.ndim - 1];
  const scores = q.matmul(k.transpose(-2, -1)).mul(scale ?? 1 / Math.sqrt(d));
  const p = scores.softmax(-1);
  const out = p.matmul(v);
  scores.dispose(); p.dispose();
  return out;
}
