// Chunked attention: out = softmax(scale * Q K^T) V computed over blocks of queries, so the
// N x N attention map is never built (the paper's spatial attention at 320 x 320 would need
// 1e10 entries). A custom autograd function keeps only Q, K, V, the output and the per-row
// log-sum-exp; backward recomputes each block's probabilities (flash-attention style), so
// memory stays bounded by the block size in backward too.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace drgan {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ChunkedAttention : public torch::autograd::Function<ChunkedAttention> {
  // q [B, Nq, d], k [B, Nk, d], v [B, Nk, c]
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, int64_t chunk) {
    const int64_t B = q.size(0), Nq = q.size(1), c = v.size(2);
    at::Tensor out = at::empty({B, Nq, c}, q.options());
    at::Tensor lse = at::empty({B, Nq}, q.options());
    at::Tensor kT = k.transpose(1, 2);
    for (int64_t s = 0; s < Nq; s += chunk) {
      int64_t len = std::min(chunk, Nq - s);
      at::Tensor scores = at::bmm(q.narrow(1, s, len), kT);
      if (scale != 1.0) scores.mul_(scale);
      // Softmax as max, in-place exp(s - max) and a row sum, normalising the [len, c]
      // product instead of the [len, Nk] probabilities: at::logsumexp made extra passes
      // and a block-sized temporary, and this takes 0.67-0.83x the forward's CPU time
      // (docs/benchmarks.md). Subtracting the row maximum keeps exp <= 1 and the sum in
      // [1, Nk], so large logits cannot overflow; lse = max + log(sum) for backward.
      at::Tensor rowMax = at::amax(scores, {-1}, true);
      scores.sub_(rowMax).exp_();
      at::Tensor rowSum = scores.sum(-1, true);
      at::Tensor outBlock = out.narrow(1, s, len), lseBlock = lse.narrow(1, s, len);
      at::div_out(outBlock, at::bmm(scores, v), rowSum);
      at::add_out(lseBlock, rowMax.squeeze(-1), rowSum.log_().squeeze(-1));
    }
    ctx->save_for_backward({q, k, v, out, lse});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["chunk"] = chunk;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[3], &lse = saved[4];
    double scale = ctx->saved_data["scale"].toDouble();
    int64_t chunk = ctx->saved_data["chunk"].toInt();
    at::Tensor dOut = gradOutputs[0].contiguous();
    const int64_t Nq = q.size(1);
    at::Tensor dq = at::empty_like(q);
    at::Tensor dk = at::zeros_like(k);
    at::Tensor dv = at::zeros_like(v);
    at::Tensor rowDot = (dOut * out).sum(-1);  // sum_j P_ij dP_ij, per query row
    at::Tensor kT = k.transpose(1, 2);
    at::Tensor vT = v.transpose(1, 2);
    for (int64_t s = 0; s < Nq; s += chunk) {
      int64_t len = std::min(chunk, Nq - s);
      at::Tensor qc = q.narrow(1, s, len);
      at::Tensor dOc = dOut.narrow(1, s, len);
      at::Tensor p = at::bmm(qc, kT);
      if (scale != 1.0) p.mul_(scale);
      p.sub_(lse.narrow(1, s, len).unsqueeze(-1)).exp_();
      dv.add_(at::bmm(p.transpose(1, 2), dOc));
      at::Tensor ds = at::bmm(dOc, vT);
      ds.sub_(rowDot.narrow(1, s, len).unsqueeze(-1)).mul_(p);
      if (scale != 1.0) ds.mul_(scale);
      dq.narrow(1, s, len).copy_(at::bmm(ds, k));
      dk.add_(at::bmm(ds.transpose(1, 2), qc));
    }
    return {dq, dk, dv, at::Tensor(), at::Tensor()};
  }
};

// chunkedAttention(q, k, v, scale, chunk) with q [B, Nq, d], k [B, Nk, d], v [B, Nk, c].
static Napi::Value ChunkedAttentionJs(const Napi::CallbackInfo& info) {
  return guarded(info, "chunkedAttention", [&]() -> Napi::Value {
    const at::Tensor& q = unwrapTensor(info[0], "chunkedAttention q");
    const at::Tensor& k = unwrapTensor(info[1], "chunkedAttention k");
    const at::Tensor& v = unwrapTensor(info[2], "chunkedAttention v");
    double scale = info[3].As<Napi::Number>().DoubleValue();
    int64_t chunk = info[4].As<Napi::Number>().Int64Value();
    if (q.dim() != 3 || k.dim() != 3 || v.dim() != 3 || q.size(0) != k.size(0) || k.size(0) != v.size(0) ||
        q.size(2) != k.size(2) || k.size(1) != v.size(1)) {
      throw std::runtime_error("shapes must be q [B, Nq, d], k [B, Nk, d], v [B, Nk, c]; got q " + describeTensor(q) +
                               ", k " + describeTensor(k) + ", v " + describeTensor(v));
    }
    if (chunk < 1) throw std::runtime_error("chunk must be at least 1");
    return wrapTensor(info.Env(), ChunkedAttention::apply(q, k, v, scale, chunk));
  });
}

void registerAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("chunkedAttention", Napi::Function::New(env, ChunkedAttentionJs, "chunkedAttention"));
}

}  // namespace drgan
