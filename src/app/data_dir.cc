#include "app/data_dir.h"

#include "common/files.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::app {
namespace {

constexpr std::string_view kCheckCollection = "hangar.settings";
constexpr std::string_view kCheckId = "root-key-check";
constexpr std::string_view kCheckPlaintext = "hangar root key check v1";

}  // namespace

Result<DataDir> OpenDataDir(const std::string& path, const RootKeySource& source) {
  DataDir dir;
  dir.path = path;
  HANGAR_RETURN_IF_ERROR(MakeDirectories(path, 0700));
  const std::string db_path = path + "/metadata.db";
  const bool fresh = !FileExists(db_path);

  // 1. The root key. The default file is created only for a fresh data directory: if the
  //    database exists and the key file does not, the key was lost and nothing can be decrypted.
  if (source.file) {
    HANGAR_ASSIGN_OR_RETURN(dir.root_key, crypto::RootKey::FromFile(*source.file, false));
  } else if (source.base64) {
    HANGAR_ASSIGN_OR_RETURN(dir.root_key, crypto::RootKey::FromBase64(*source.base64));
  } else {
    const std::string key_path = path + "/root.key";
    if (!fresh && !FileExists(key_path)) {
      return InternalError("the root key " + key_path +
                           " is missing but the data directory holds data encrypted under it; "
                           "restore the key file or give it with --root-key-file");
    }
    HANGAR_ASSIGN_OR_RETURN(dir.root_key, crypto::RootKey::FromFile(key_path, fresh));
  }

  // 2. The metadata store.
  HANGAR_ASSIGN_OR_RETURN(auto store, store::SqliteMetadataStore::Open(db_path));
  dir.metadata = std::move(store);

  // 3. The root key must be the one this directory was created with.
  const std::string context = "hangar/root-key-check";
  HANGAR_ASSIGN_OR_RETURN(auto check, dir.metadata->Get(kCheckCollection, "", kCheckId));
  if (check) {
    auto opened = dir.root_key->Unwrap(check->body, context);
    if (!opened.ok() || AsStringView(opened->span()) != kCheckPlaintext) {
      return InternalError("the root key does not match the data directory " + path +
                           "; refusing to start");
    }
  } else {
    std::string sealed = dir.root_key->Wrap(AsBytes(kCheckPlaintext), context);
    HANGAR_ASSIGN_OR_RETURN(
        auto r, dir.metadata->Commit({store::Mutation::Create(
                    {std::string(kCheckCollection), "", std::string(kCheckId), sealed, 0, 0})}));
  }
  return dir;
}

}  // namespace hangar::app
