#pragma once
// Opening a data directory: the root key, the metadata store and the check that the two belong
// together. A wrong or missing root key stops the server with a clear message instead of serving
// data it cannot decrypt.

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "crypto/root_key.h"
#include "store/metadata_store.h"

namespace hangar::app {

struct RootKeySource {
  std::optional<std::string> file;    // --root-key-file / HANGAR_ROOT_KEY_FILE: must exist
  std::optional<std::string> base64;  // HANGAR_ROOT_KEY
};

struct DataDir {
  std::string path;
  std::unique_ptr<crypto::RootKey> root_key;
  std::unique_ptr<store::MetadataStore> metadata;
};

// Errors: kInternal with a message fit for an operator (never key bytes).
Result<DataDir> OpenDataDir(const std::string& path, const RootKeySource& source);

}  // namespace hangar::app
