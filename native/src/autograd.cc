// Autograd entry points that are not ATen operators: requires_grad, .grad, backward,
// autograd.grad (gradient penalties need create_graph) and the grad-mode switch.
#include "common.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

namespace drgan {

static std::vector<at::Tensor> tensorArray(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (e.IsNull() || e.IsUndefined()) out.emplace_back();
    else out.push_back(unwrapTensor(e, what));
  }
  return out;
}

static Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "requiresGrad_", [&]() -> Napi::Value {
    unwrapTensor(info[0], "requiresGrad_").requires_grad_(info[1].ToBoolean().Value());
    return info.Env().Undefined();
  });
}

static Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "requiresGrad", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "requiresGrad").requires_grad());
  });
}

static Napi::Value Grad(const Napi::CallbackInfo& info) {
  return guarded(info, "grad", [&]() -> Napi::Value {
    const at::Tensor& g = unwrapTensor(info[0], "grad").grad();
    if (!g.defined()) return info.Env().Null();
    return wrapTensor(info.Env(), g);
  });
}

static Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "setGrad", [&]() -> Napi::Value {
    at::Tensor& t = unwrapTensor(info[0], "setGrad");
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
    else t.mutable_grad() = unwrapTensor(info[1], "setGrad");
    return info.Env().Undefined();
  });
}

static Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return guarded(info, "isLeaf", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "isLeaf").is_leaf());
  });
}

static Napi::Value GradFn(const Napi::CallbackInfo& info) {
  return guarded(info, "gradFn", [&]() -> Napi::Value {
    const auto& fn = unwrapTensor(info[0], "gradFn").grad_fn();
    if (!fn) return info.Env().Null();
    return Napi::String::New(info.Env(), fn->name());
  });
}

static Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "retainGrad", [&]() -> Napi::Value {
    unwrapTensor(info[0], "retainGrad").retain_grad();
    return info.Env().Undefined();
  });
}

static c10::optional<bool> optBool(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return v.ToBoolean().Value();
}

// backward(tensors, grads|null, retainGraph?, createGraph?)
static Napi::Value Backward(const Napi::CallbackInfo& info) {
  return guarded(info, "backward", [&]() -> Napi::Value {
    auto tensors = tensorArray(info[0], "backward");
    std::vector<at::Tensor> grads;
    if (info.Length() > 1 && info[1].IsArray()) grads = tensorArray(info[1], "backward");
    bool create = info.Length() > 3 && info[3].ToBoolean().Value();
    torch::autograd::backward(tensors, grads, optBool(info.Length() > 2 ? info[2] : info.Env().Undefined()), create);
    return info.Env().Undefined();
  });
}

// grad(outputs, inputs, gradOutputs|null, retainGraph?, createGraph?, allowUnused?) -> array
static Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "autograd.grad", [&]() -> Napi::Value {
    auto outputs = tensorArray(info[0], "autograd.grad outputs");
    auto inputs = tensorArray(info[1], "autograd.grad inputs");
    std::vector<at::Tensor> gradOutputs;
    if (info.Length() > 2 && info[2].IsArray()) gradOutputs = tensorArray(info[2], "autograd.grad gradOutputs");
    bool create = info.Length() > 4 && info[4].ToBoolean().Value();
    bool allowUnused = info.Length() > 5 && info[5].ToBoolean().Value();
    auto result = torch::autograd::grad(outputs, inputs, gradOutputs, optBool(info.Length() > 3 ? info[3] : info.Env().Undefined()), create, allowUnused);
    Napi::Array out = Napi::Array::New(info.Env(), result.size());
    for (size_t i = 0; i < result.size(); i++) {
      out.Set(static_cast<uint32_t>(i), result[i].defined() ? wrapTensor(info.Env(), result[i]) : info.Env().Null());
    }
    return out;
  });
}

// setGradEnabled(bool) -> previous value. Grad mode is thread-local in libtorch, so each
// worker thread has its own.
static Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

static Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

void registerAutograd(Napi::Env env, Napi::Object exports) {
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad, "setRequiresGrad"));
  exports.Set("requiresGrad", Napi::Function::New(env, RequiresGrad, "requiresGrad"));
  exports.Set("grad", Napi::Function::New(env, Grad, "grad"));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad, "setGrad"));
  exports.Set("isLeaf", Napi::Function::New(env, IsLeaf, "isLeaf"));
  exports.Set("gradFn", Napi::Function::New(env, GradFn, "gradFn"));
  exports.Set("retainGrad", Napi::Function::New(env, RetainGrad, "retainGrad"));
  exports.Set("backward", Napi::Function::New(env, Backward, "backward"));
  exports.Set("autogradGrad", Napi::Function::New(env, AutogradGrad, "autogradGrad"));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled, "setGradEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled, "isGradEnabled"));
}

}  // namespace drgan
