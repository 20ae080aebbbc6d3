// Tensor handles: creation from typed arrays, read-back, metadata, explicit disposal and
// the GC safety net (basic finalizers run during GC itself, not when the event loop turns,
// and the external-memory report makes V8 aware of native memory it cannot see).
#include "common.h"

#include <cstring>
#include <sstream>

namespace drgan {

LiveStats& liveStats() {
  static LiveStats stats;
  return stats;
}

static int64_t tensorBytes(const at::Tensor& t) {
  if (!t.defined()) return 0;
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

// Reports native bytes to V8 in batches: one call per tiny tensor cost a measurable share
// of a small op, and V8 only needs the total to be roughly right to schedule GCs.
// The finalizer runs inside the garbage collector (a basic finalizer), where calling
// napi_adjust_external_memory aborts V8 ("Check failed: marking_done_"; node-addon-api
// issue 1724), so it only records the freed bytes; they are reported on the next call
// from ordinary code. Each environment runs on its own thread: a thread-local tally is
// per environment.
static thread_local int64_t unreportedBytes = 0;
static void reportExternal(node_api_basic_env env, int64_t delta) {
  unreportedBytes += delta;
  if (unreportedBytes > (int64_t(1) << 20) || unreportedBytes < -(int64_t(1) << 20)) {
    // Take the tally first: the adjustment may start a GC whose finalizers add to it.
    int64_t delta = unreportedBytes;
    unreportedBytes = 0;
    int64_t ignored;
    napi_adjust_external_memory(env, delta, &ignored);
  }
}

static void finalizeBox(node_api_basic_env env, void* data, void* /*hint*/) {
  auto* box = static_cast<TensorBox*>(data);
  if (!box->disposed) {
    unreportedBytes -= box->bytes;  // no Node-API call here: we are inside GC
    liveStats().handles--;
    liveStats().bytes -= box->bytes;
  }
  delete box;
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor t) {
  auto* box = new TensorBox();
  box->bytes = tensorBytes(t);
  box->tensor = std::move(t);
  napi_value result;
  napi_status status = napi_create_external(env, box, finalizeBox, nullptr, &result);
  if (status != napi_ok) {
    delete box;
    throw Napi::Error::New(env, "could not create a tensor handle");
  }
  reportExternal(env, box->bytes);
  liveStats().handles++;
  liveStats().bytes += box->bytes;
  return Napi::Value(env, result);
}

static TensorBox* boxOf(const Napi::Value& v, const char* what) {
  napi_valuetype type;
  napi_typeof(v.Env(), v, &type);
  if (type != napi_external) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a tensor handle");
  }
  void* data = nullptr;
  napi_get_value_external(v.Env(), v, &data);
  return static_cast<TensorBox*>(data);
}

at::Tensor& unwrapTensor(const Napi::Value& v, const char* what) {
  TensorBox* box = boxOf(v, what);
  if (box->disposed) throw Napi::Error::New(v.Env(), std::string(what) + ": tensor was disposed");
  return box->tensor;
}

void disposeBox(Napi::Env env, TensorBox* box) {
  if (box->disposed) return;
  box->disposed = true;
  box->tensor = at::Tensor();
  reportExternal(env, -box->bytes);
  liveStats().handles--;
  liveStats().bytes -= box->bytes;
}

std::string dtypeName(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(s);
  }
}

std::string describeTensor(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream os;
  os << dtypeName(t.scalar_type()) << "[";
  for (int64_t i = 0; i < t.dim(); i++) os << (i ? "," : "") << t.size(i);
  os << "]";
  if (!t.device().is_cpu()) os << "@" << t.device().str();
  return os.str();
}

at::Device parseDevice(const std::string& s) { return at::Device(s); }

static at::ScalarType scalarTypeOf(napi_typedarray_type t, bool isBool) {
  switch (t) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_bigint64_array: return at::kLong;
    case napi_int32_array: return at::kInt;
    case napi_int16_array: return at::kShort;
    case napi_int8_array: return at::kChar;
    case napi_uint8_array:
    case napi_uint8_clamped_array: return isBool ? at::kBool : at::kByte;
    default: throw std::runtime_error("unsupported typed array type (use Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array or Uint8Array)");
  }
}

static std::vector<int64_t> readShape(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": shape must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> shape(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": shape entries must be numbers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::RangeError::New(v.Env(), std::string(what) + ": shape entry " + std::to_string(d) + " is not a non-negative integer");
    }
    shape[i] = static_cast<int64_t>(d);
  }
  return shape;
}

// fromTypedArray(array, shape, isBool, device?) -> handle. Copies the data, so the JS array
// may be reused at once.
static Napi::Value FromTypedArray(const Napi::CallbackInfo& info) {
  return guarded(info, "fromTypedArray", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromTypedArray: data must be a typed array");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    std::vector<int64_t> shape = readShape(info[1], "fromTypedArray");
    bool isBool = info.Length() > 2 && info[2].ToBoolean();
    at::ScalarType st = scalarTypeOf(ta.TypedArrayType(), isBool);
    int64_t numel = 1;
    for (int64_t s : shape) {
      if (s != 0 && numel > (int64_t(1) << 40) / s) throw Napi::RangeError::New(env, "fromTypedArray: shape is too large");
      numel *= s;
    }
    if (static_cast<int64_t>(ta.ElementLength()) != numel) {
      throw Napi::RangeError::New(env, "fromTypedArray: data has " + std::to_string(ta.ElementLength()) +
                                           " elements but shape needs " + std::to_string(numel));
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value arraybuffer;
    size_t offset;
    napi_get_typedarray_info(env, ta, &type, &length, &data, &arraybuffer, &offset);
    if (numel > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(numel) * t.element_size());
    if (info.Length() > 3 && info[3].IsString()) {
      at::Device dev = parseDevice(info[3].As<Napi::String>().Utf8Value());
      if (!dev.is_cpu()) t = t.to(dev);
    }
    return wrapTensor(env, std::move(t));
  });
}

// toTypedArray(handle) -> typed array with a copy of the (contiguous, CPU) data.
static Napi::Value ToTypedArray(const Napi::CallbackInfo& info) {
  return guarded(info, "toTypedArray", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::Tensor t = unwrapTensor(info[0], "toTypedArray");
    t = t.detach().to(at::kCPU).contiguous();
    napi_typedarray_type type;
    switch (t.scalar_type()) {
      case at::kFloat: type = napi_float32_array; break;
      case at::kDouble: type = napi_float64_array; break;
      case at::kLong: type = napi_bigint64_array; break;
      case at::kInt: type = napi_int32_array; break;
      case at::kShort: type = napi_int16_array; break;
      case at::kChar: type = napi_int8_array; break;
      case at::kByte:
      case at::kBool: type = napi_uint8_array; break;
      case at::kHalf:
      case at::kBFloat16:
        t = t.to(at::kFloat);
        type = napi_float32_array;
        break;
      default: throw std::runtime_error("cannot read back dtype " + dtypeName(t.scalar_type()));
    }
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
    if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    napi_value result;
    napi_create_typedarray(env, type, static_cast<size_t>(t.numel()), buf, 0, &result);
    return Napi::Value(env, result);
  });
}

static Napi::Value Dispose(const Napi::CallbackInfo& info) {
  return guarded(info, "dispose", [&]() -> Napi::Value {
    TensorBox* box = boxOf(info[0], "dispose");
    disposeBox(info.Env(), box);
    return info.Env().Undefined();
  });
}

static Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), boxOf(info[0], "isDisposed")->disposed);
}

static Napi::Value Shape(const Napi::CallbackInfo& info) {
  return guarded(info, "shape", [&]() -> Napi::Value {
    const at::Tensor& t = unwrapTensor(info[0], "shape");
    Napi::Array a = Napi::Array::New(info.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.size(i))));
    return a;
  });
}

static Napi::Value Strides(const Napi::CallbackInfo& info) {
  return guarded(info, "strides", [&]() -> Napi::Value {
    const at::Tensor& t = unwrapTensor(info[0], "strides");
    Napi::Array a = Napi::Array::New(info.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.stride(i))));
    return a;
  });
}

static Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return guarded(info, "dtype", [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<int>(unwrapTensor(info[0], "dtype").scalar_type()));
  });
}

static Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return guarded(info, "device", [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), unwrapTensor(info[0], "device").device().str());
  });
}

static Napi::Value Describe(const Napi::CallbackInfo& info) {
  return guarded(info, "describe", [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), describeTensor(unwrapTensor(info[0], "describe")));
  });
}

// item(handle) -> number (int64 as double; bool as 0/1).
static Napi::Value Item(const Napi::CallbackInfo& info) {
  return guarded(info, "item", [&]() -> Napi::Value {
    const at::Tensor& t = unwrapTensor(info[0], "item");
    if (t.numel() != 1) throw std::runtime_error("item() needs a tensor with one element, got " + describeTensor(t));
    return Napi::Number::New(info.Env(), t.item().toDouble());
  });
}

static Napi::Value LiveHandles(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("handles", Napi::Number::New(info.Env(), static_cast<double>(liveStats().handles.load())));
  o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(liveStats().bytes.load())));
  return o;
}

// sameStorage(a, b): whether two handles share memory (views, in-place results).
static Napi::Value SameTensor(const Napi::CallbackInfo& info) {
  return guarded(info, "sameTensor", [&]() -> Napi::Value {
    const at::Tensor& a = unwrapTensor(info[0], "sameTensor");
    const at::Tensor& b = unwrapTensor(info[1], "sameTensor");
    return Napi::Boolean::New(info.Env(), a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl());
  });
}

void registerTensorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("fromTypedArray", Napi::Function::New(env, FromTypedArray, "fromTypedArray"));
  exports.Set("toTypedArray", Napi::Function::New(env, ToTypedArray, "toTypedArray"));
  exports.Set("dispose", Napi::Function::New(env, Dispose, "dispose"));
  exports.Set("isDisposed", Napi::Function::New(env, IsDisposed, "isDisposed"));
  exports.Set("shape", Napi::Function::New(env, Shape, "shape"));
  exports.Set("strides", Napi::Function::New(env, Strides, "strides"));
  exports.Set("dtype", Napi::Function::New(env, Dtype, "dtype"));
  exports.Set("device", Napi::Function::New(env, DeviceOf, "device"));
  exports.Set("describe", Napi::Function::New(env, Describe, "describe"));
  exports.Set("item", Napi::Function::New(env, Item, "item"));
  exports.Set("liveHandles", Napi::Function::New(env, LiveHandles, "liveHandles"));
  exports.Set("sameTensor", Napi::Function::New(env, SameTensor, "sameTensor"));
}

}  // namespace drgan
