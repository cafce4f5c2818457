#include "store/rados/rados_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace hangar::store::rados_api {
namespace {

// librados' soname: the ABI its C API promises.
constexpr const char* kLibrary = "librados.so.2";

struct Loaded {
  Functions functions;
  std::string error;  // empty: loaded
};

Loaded Open() {
  Loaded loaded;
  // Never closed: librados keeps threads and static state for the process's life.
  void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    loaded.error = std::string("cannot load ") + kLibrary + " (Ceph's librados2 package): " +
                   (why != nullptr ? why : "unknown error");
    return loaded;
  }
#define HANGAR_RADOS_LOOKUP(name)                                                        \
  if (loaded.error.empty()) {                                                            \
    loaded.functions.name =                                                              \
        reinterpret_cast<decltype(loaded.functions.name)>(::dlsym(library, "rados_" #name)); \
    if (loaded.functions.name == nullptr) {                                              \
      loaded.error = std::string(kLibrary) + " has no rados_" #name;                     \
    }                                                                                    \
  }
  HANGAR_RADOS_FUNCTIONS(HANGAR_RADOS_LOOKUP)
#undef HANGAR_RADOS_LOOKUP
  return loaded;
}

const Loaded& Once() {
  static const Loaded loaded = Open();  // thread-safe initialisation
  return loaded;
}

}  // namespace

Result<const Functions*> Load() {
  const Loaded& loaded = Once();
  if (!loaded.error.empty()) return InternalError(loaded.error);
  return &loaded.functions;
}

const Functions& Get() { return Once().functions; }

}  // namespace hangar::store::rados_api
