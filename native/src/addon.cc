// Module entry. NODE_API_MODULE registers a context-aware module, so the addon also loads
// in worker threads; it keeps no JavaScript state of its own between environments.
#include "common.h"

namespace drgan {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  registerTensorFunctions(env, exports);
  registerDispatch(env, exports);
  registerAutograd(env, exports);
  registerRuntime(env, exports);
  registerAttention(env, exports);
  return exports;
}

}  // namespace drgan

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return drgan::Init(env, exports); }

NODE_API_MODULE(drgan_torch, InitAddon)
