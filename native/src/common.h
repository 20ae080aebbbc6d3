// Shared pieces of the addon: how a tensor lives inside a JavaScript value, and how C++
// errors become JavaScript exceptions (a c10::Error escaping a callback would abort Node).
#pragma once

#include <napi.h>
#include <ATen/ATen.h>
#include <atomic>
#include <string>
#include <vector>

namespace drgan {

// One JS-visible tensor. The JS object is an External pointing here; the box outlives an
// explicit dispose() (tensor reset, `disposed` set) until the GC finalizer deletes it.
struct TensorBox {
  at::Tensor tensor;
  int64_t bytes = 0;  // what we reported to V8 as external memory
  bool disposed = false;
};

// Live handle accounting, readable from JS for leak tests.
struct LiveStats {
  std::atomic<int64_t> handles{0};
  std::atomic<int64_t> bytes{0};
};
LiveStats& liveStats();

Napi::Value wrapTensor(Napi::Env env, at::Tensor t);
// Throws a JS error naming `what` when the value is not a live tensor handle.
at::Tensor& unwrapTensor(const Napi::Value& v, const char* what);
void disposeBox(Napi::Env env, TensorBox* box);

std::string describeTensor(const at::Tensor& t);
std::string dtypeName(at::ScalarType s);
at::Device parseDevice(const std::string& s);

// Runs `body`, turning c10/std exceptions into JS exceptions with `context` prefixed.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* context, F body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, std::string(context) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string(context) + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(env, std::string(context) + ": unknown native error");
  }
}

void registerTensorFunctions(Napi::Env env, Napi::Object exports);
void registerDispatch(Napi::Env env, Napi::Object exports);
void registerAutograd(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);
void registerAttention(Napi::Env env, Napi::Object exports);

}  // namespace drgan
