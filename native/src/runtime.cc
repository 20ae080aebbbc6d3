// Process-wide settings: random seeds and generator state (for exact resume), threads,
// devices, and raw-byte tensor creation for file formats (safetensors, .pth storages).
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <torch/cuda.h>
#include <cstring>
#include <dlfcn.h>

namespace drgan {

static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return guarded(info, "manualSeed", [&]() -> Napi::Value {
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<uint64_t>(d))) throw std::runtime_error("seed must be a non-negative integer");
    at::manual_seed(static_cast<uint64_t>(d));
    return info.Env().Undefined();
  });
}

// A generator's state as a uint8 tensor (what torch.get_rng_state() / torch.cuda.get_rng_state()
// return). Optional argument: a device string; CUDA generators are reached through the generic
// Context API so a CPU-only build compiles the same code (and fails cleanly at run time).
static at::Generator generatorFor(const Napi::CallbackInfo& info, size_t argIndex) {
  if (info.Length() > argIndex && info[argIndex].IsString()) {
    at::Device dev(info[argIndex].As<Napi::String>().Utf8Value());
    if (!dev.is_cpu()) {
      if (dev.is_cuda() && !torch::cuda::is_available()) throw std::runtime_error("no CUDA device for the generator of " + dev.str());
      return at::globalContext().defaultGenerator(dev);
    }
  }
  return at::detail::getDefaultCPUGenerator();
}

static Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  return guarded(info, "getRngState", [&]() -> Napi::Value {
    auto gen = generatorFor(info, 0);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return wrapTensor(info.Env(), gen.get_state());
  });
}

static Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  return guarded(info, "setRngState", [&]() -> Napi::Value {
    const at::Tensor& state = unwrapTensor(info[0], "setRngState");
    auto gen = generatorFor(info, 1);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return info.Env().Undefined();
  });
}

using OpenblasSetThreads = void (*)(int);

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, "setNumThreads", [&]() -> Napi::Value {
    int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 1) throw std::runtime_error("thread count must be at least 1");
    at::set_num_threads(n);
    // OpenBLAS keeps its own pool; keep it in step so matmuls use the same count.
    if (auto fn = reinterpret_cast<OpenblasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
    return info.Env().Undefined();
  });
}

static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return guarded(info, "cudaAvailable", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
  });
}

// Waits for the work queued on a CUDA device (all devices with no argument): timings of
// asynchronous GPU work are taken after it.
static Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return guarded(info, "cudaSynchronize", [&]() -> Napi::Value {
    if (!torch::cuda::is_available()) throw std::runtime_error("cuda.synchronize: no CUDA device");
    int64_t index = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : -1;
    torch::cuda::synchronize(index);
    return info.Env().Undefined();
  });
}

static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return guarded(info, "cudaDeviceCount", [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
  });
}

static Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  return guarded(info, "buildInfo", [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("config", at::show_config());
    o.Set("parallel", at::get_parallel_info());
    o.Set("mkldnn", at::hasMKLDNN());
    return o;
  });
}

// fromBytes(uint8Array, dtypeCode, shape, device?) -> handle; copies raw little-endian
// bytes of any dtype (float16 and bfloat16 included), as stored by safetensors and .pth.
static Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  return guarded(info, "fromBytes", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBytes: data must be a Uint8Array");
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    auto st = static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value());
    if (!info[2].IsArray()) throw Napi::TypeError::New(env, "fromBytes: shape must be an array");
    Napi::Array shapeArr = info[2].As<Napi::Array>();
    std::vector<int64_t> shape(shapeArr.Length());
    int64_t numel = 1;
    for (uint32_t i = 0; i < shapeArr.Length(); i++) {
      double d = shapeArr.Get(i).As<Napi::Number>().DoubleValue();
      if (d < 0 || d > 1e12 || d != static_cast<double>(static_cast<int64_t>(d))) throw std::runtime_error("fromBytes: bad shape entry");
      shape[i] = static_cast<int64_t>(d);
      if (shape[i] != 0 && numel > (int64_t(1) << 40) / shape[i]) throw std::runtime_error("fromBytes: shape is too large");
      numel *= shape[i];
    }
    int64_t need = numel * static_cast<int64_t>(c10::elementSize(st));
    if (static_cast<int64_t>(bytes.ByteLength()) != need) {
      throw std::runtime_error("fromBytes: " + std::to_string(bytes.ByteLength()) + " bytes given, shape and dtype need " + std::to_string(need));
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
    if (need) std::memcpy(t.data_ptr(), bytes.Data(), static_cast<size_t>(need));
    if (info.Length() > 3 && info[3].IsString()) {
      at::Device dev = parseDevice(info[3].As<Napi::String>().Utf8Value());
      if (!dev.is_cpu()) t = t.to(dev);
    }
    return wrapTensor(env, std::move(t));
  });
}

// toBytes(handle) -> Uint8Array of the contiguous CPU data (any dtype).
static Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  return guarded(info, "toBytes", [&]() -> Napi::Value {
    at::Tensor t = unwrapTensor(info[0], "toBytes").detach().to(at::kCPU).contiguous();
    size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), n);
    if (n) std::memcpy(out.Data(), t.data_ptr(), n);
    return out;
  });
}

void registerRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize, "cudaSynchronize"));
  exports.Set("getRngState", Napi::Function::New(env, GetRngState, "getRngState"));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState, "setRngState"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("cudaAvailable", Napi::Function::New(env, CudaAvailable, "cudaAvailable"));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount, "cudaDeviceCount"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("fromBytes", Napi::Function::New(env, FromBytes, "fromBytes"));
  exports.Set("toBytes", Napi::Function::New(env, ToBytes, "toBytes"));
}

}  // namespace drgan
