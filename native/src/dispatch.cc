// The one generic entry point: any ATen operator by name through the c10 dispatcher
// (schema lookup once, then a boxed call). Arguments are converted from JavaScript by the
// schema's declared types, so no operator needs hand-written glue; autograd is recorded
// because the boxed call goes through the Autograd dispatch key like any other call.
#include "common.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/function_schema.h>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace drgan {

enum class ArgKind {
  Tensor, TensorList, OptTensorList, Int, IntList, Float, FloatList, Bool, BoolList,
  Scalar, String, Device, Generator, Unsupported
};

struct ArgInfo {
  std::string name;
  ArgKind kind;
  bool optional;
  c10::optional<c10::IValue> defaultValue;
  std::string typeStr;
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<ArgInfo> args;
  size_t numReturns;
  explicit OpEntry(c10::OperatorHandle h) : handle(std::move(h)) {}
};

static ArgKind kindOf(const c10::TypePtr& t) {
  switch (t->kind()) {
    case c10::TypeKind::TensorType: return ArgKind::Tensor;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: return ArgKind::Int;
    case c10::TypeKind::FloatType: return ArgKind::Float;
    case c10::TypeKind::BoolType: return ArgKind::Bool;
    case c10::TypeKind::NumberType: return ArgKind::Scalar;
    case c10::TypeKind::StringType: return ArgKind::String;
    case c10::TypeKind::DeviceObjType: return ArgKind::Device;
    case c10::TypeKind::GeneratorType: return ArgKind::Generator;
    case c10::TypeKind::ListType: {
      auto elem = t->castRaw<c10::ListType>()->getElementType();
      switch (elem->kind()) {
        case c10::TypeKind::TensorType: return ArgKind::TensorList;
        case c10::TypeKind::IntType:
        case c10::TypeKind::SymIntType: return ArgKind::IntList;
        case c10::TypeKind::FloatType: return ArgKind::FloatList;
        case c10::TypeKind::BoolType: return ArgKind::BoolList;
        case c10::TypeKind::OptionalType:
          if (elem->castRaw<c10::OptionalType>()->getElementType()->kind() == c10::TypeKind::TensorType) return ArgKind::OptTensorList;
          return ArgKind::Unsupported;
        default: return ArgKind::Unsupported;
      }
    }
    default: return ArgKind::Unsupported;
  }
}

static std::mutex cacheMutex;
static std::unordered_map<std::string, std::unique_ptr<OpEntry>>& opCache() {
  static std::unordered_map<std::string, std::unique_ptr<OpEntry>> cache;
  return cache;
}

static OpEntry* lookup(const std::string& name, const std::string& overload) {
  std::string key = name + "." + overload;  // cache key; also the display name when there is an overload
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto& cache = opCache();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second.get();
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) {
    throw std::runtime_error("no ATen operator " + name + (overload.empty() ? "" : "." + overload) +
                             " (check the name and overload; the schema lists live in native_functions.yaml)");
  }
  auto entry = std::make_unique<OpEntry>(*handle);
  entry->name = overload.empty() ? name : key;
  const auto& schema = handle->schema();
  for (const auto& a : schema.arguments()) {
    ArgInfo info;
    info.name = a.name();
    info.typeStr = a.type()->str();
    c10::TypePtr t = a.type();
    info.optional = t->kind() == c10::TypeKind::OptionalType;
    if (info.optional) t = t->castRaw<c10::OptionalType>()->getElementType();
    info.kind = kindOf(t);
    info.defaultValue = a.default_value();
    entry->args.push_back(std::move(info));
  }
  entry->numReturns = schema.returns().size();
  OpEntry* raw = entry.get();
  cache.emplace(key, std::move(entry));
  return raw;
}

static int64_t toInt(const Napi::Value& v, const OpEntry* op, const ArgInfo& a) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::TypeError::New(v.Env(), op->name + ": argument '" + a.name + "' must be an integer, got " + std::to_string(d));
    }
    return static_cast<int64_t>(d);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  throw Napi::TypeError::New(v.Env(), op->name + ": argument '" + a.name + "' (" + a.typeStr + ") must be an integer");
}

static c10::IValue toIValue(const Napi::Value& v, const OpEntry* op, const ArgInfo& a) {
  Napi::Env env = v.Env();
  auto fail = [&](const char* expected) {
    return Napi::TypeError::New(env, op->name + ": argument '" + a.name + "' (" + a.typeStr + ") must be " + expected);
  };
  if (v.IsUndefined() || v.IsNull()) {
    if (v.IsUndefined() && a.defaultValue) return *a.defaultValue;
    if (a.optional) return c10::IValue();
    if (a.kind == ArgKind::Generator) return c10::IValue();
    throw Napi::TypeError::New(env, op->name + ": missing argument '" + a.name + "' (" + a.typeStr + ")");
  }
  switch (a.kind) {
    case ArgKind::Tensor:
      return unwrapTensor(v, (op->name + " argument '" + a.name + "'").c_str());
    case ArgKind::TensorList:
    case ArgKind::OptTensorList: {
      if (!v.IsArray()) throw fail("an array of tensors");
      Napi::Array arr = v.As<Napi::Array>();
      if (a.kind == ArgKind::TensorList) {
        std::vector<at::Tensor> list;
        list.reserve(arr.Length());
        for (uint32_t i = 0; i < arr.Length(); i++) list.push_back(unwrapTensor(arr.Get(i), (op->name + " argument '" + a.name + "'").c_str()));
        return c10::IValue(c10::List<at::Tensor>(list));
      }
      c10::List<c10::optional<at::Tensor>> list;
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value e = arr.Get(i);
        if (e.IsNull() || e.IsUndefined()) list.push_back(c10::nullopt);
        else list.push_back(unwrapTensor(e, (op->name + " argument '" + a.name + "'").c_str()));
      }
      return c10::IValue(list);
    }
    case ArgKind::Int:
      return c10::IValue(toInt(v, op, a));
    case ArgKind::IntList: {
      if (v.IsNumber()) return c10::IValue(std::vector<int64_t>{toInt(v, op, a)});
      if (!v.IsArray()) throw fail("an array of integers");
      Napi::Array arr = v.As<Napi::Array>();
      std::vector<int64_t> list(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); i++) list[i] = toInt(arr.Get(i), op, a);
      return c10::IValue(list);
    }
    case ArgKind::Float:
      if (!v.IsNumber()) throw fail("a number");
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case ArgKind::FloatList: {
      if (!v.IsArray()) throw fail("an array of numbers");
      Napi::Array arr = v.As<Napi::Array>();
      std::vector<double> list(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value e = arr.Get(i);
        if (!e.IsNumber()) throw fail("an array of numbers");
        list[i] = e.As<Napi::Number>().DoubleValue();
      }
      return c10::IValue(list);
    }
    case ArgKind::Bool:
      if (!v.IsBoolean()) throw fail("a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case ArgKind::BoolList: {
      if (!v.IsArray()) throw fail("an array of booleans");
      Napi::Array arr = v.As<Napi::Array>();
      c10::List<bool> list;
      for (uint32_t i = 0; i < arr.Length(); i++) list.push_back(arr.Get(i).ToBoolean().Value());
      return c10::IValue(list);
    }
    case ArgKind::Scalar: {
      // An integral JS number is an integer Scalar (as `x + 1` in Python); others are doubles.
      if (v.IsBoolean()) return c10::IValue(c10::Scalar(v.As<Napi::Boolean>().Value()));
      if (!v.IsNumber()) throw fail("a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.007199254740992e15) {
        return c10::IValue(c10::Scalar(static_cast<int64_t>(d)));
      }
      return c10::IValue(c10::Scalar(d));
    }
    case ArgKind::String:
      if (!v.IsString()) throw fail("a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case ArgKind::Device:
      if (!v.IsString()) throw fail("a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(parseDevice(v.As<Napi::String>().Utf8Value()));
    case ArgKind::Generator:
      return c10::IValue();
    case ArgKind::Unsupported:
    default:
      throw fail("a value of a type this binding does not convert");
  }
}

static Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Null();
    return wrapTensor(env, t);
  }
  if (v.isNone()) return env.Null();
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), fromIValue(env, c10::IValue(list.get(i))));
    return a;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array a = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) a.Set(static_cast<uint32_t>(i), fromIValue(env, elems[i]));
    return a;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    Napi::Array a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), fromIValue(env, list[i]));
    return a;
  }
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  throw std::runtime_error("cannot convert a returned value of type " + v.tagKind());
}

static OpEntry* entryOf(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "callOp: first argument must be an op handle from findOp");
  return v.As<Napi::External<OpEntry>>().Data();
}

// findOp(name, overload) -> op handle (cached for the process; operators never go away).
static Napi::Value FindOp(const Napi::CallbackInfo& info) {
  return guarded(info, "findOp", [&]() -> Napi::Value {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    if (name.find("::") == std::string::npos) name = "aten::" + name;
    return Napi::External<OpEntry>::New(info.Env(), lookup(name, overload));
  });
}

static Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  return guarded(info, "opSchema", [&]() -> Napi::Value {
    std::ostringstream os;
    os << entryOf(info[0])->handle.schema();
    return Napi::String::New(info.Env(), os.str());
  });
}

static std::string describeArgs(const OpEntry* op, const std::vector<c10::IValue>& stack) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < stack.size() && i < op->args.size(); i++) {
    if (i) os << ", ";
    os << op->args[i].name << "=";
    const c10::IValue& v = stack[i];
    if (v.isTensor()) os << describeTensor(v.toTensor());
    else if (v.isTensorList()) {
      os << "[";
      auto l = v.toTensorList();
      for (size_t j = 0; j < l.size(); j++) os << (j ? ", " : "") << describeTensor(l.get(j));
      os << "]";
    } else os << v;
  }
  os << ")";
  return os.str();
}

// callOp(op, argsArray, dropResult?) -> the op's result (tensor handle, array for tuples,
// number, or null). dropResult skips wrapping the output (in-place ops return self).
static Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpEntry* op = nullptr;
  try {
    op = entryOf(info[0]);
  } catch (const Napi::Error&) {
    throw;
  }
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, op->name + ": arguments must be an array");
  Napi::Array jsArgs = info[1].As<Napi::Array>();
  uint32_t given = jsArgs.Length();
  if (given > op->args.size()) {
    throw Napi::TypeError::New(env, op->name + ": takes " + std::to_string(op->args.size()) + " arguments, got " + std::to_string(given));
  }
  std::vector<c10::IValue> stack;
  stack.reserve(op->args.size());
  try {
    for (size_t i = 0; i < op->args.size(); i++) {
      Napi::Value v = i < given ? jsArgs.Get(static_cast<uint32_t>(i)) : env.Undefined();
      stack.push_back(toIValue(v, op, op->args[i]));
    }
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, op->name + ": " + e.what_without_backtrace());
  }
  std::string argText;
  try {
    op->handle.callBoxed(&stack);
  } catch (const c10::Error& e) {
    std::vector<c10::IValue> shown;
    for (uint32_t i = 0; i < given && i < op->args.size(); i++) {
      try {
        shown.push_back(toIValue(jsArgs.Get(i), op, op->args[i]));
      } catch (...) {
        shown.push_back(c10::IValue());
      }
    }
    throw Napi::Error::New(env, op->name + describeArgs(op, shown) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, op->name + ": " + e.what());
  }
  if (info.Length() > 2 && info[2].ToBoolean().Value()) return env.Undefined();
  try {
    if (stack.size() == 1) return fromIValue(env, stack[0]);
    if (stack.empty()) return env.Undefined();
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
    return out;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, op->name + ": " + e.what());
  }
}

void registerDispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New(env, FindOp, "findOp"));
  exports.Set("opSchema", Napi::Function::New(env, OpSchema, "opSchema"));
  exports.Set("callOp", Napi::Function::New(env, CallOp, "callOp"));
}

}  // namespace drgan
