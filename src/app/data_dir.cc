#include "app/data_dir.h"

#include <spdlog/spdlog.h>

#include "common/files.h"
#include "crypto/pkcs11_root_key.h"
#include "store/fs/fs_blob_store.h"
#include "store/postgres/postgres_metadata_store.h"
#include "store/rados/rados_blob_store.h"
#include "store/rados/rados_config.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::app {
namespace {

constexpr std::string_view kCheckCollection = "hangar.settings";
constexpr std::string_view kCheckId = "root-key-check";
constexpr std::string_view kCheckPlaintext = "hangar root key check v1";
// Marks a cluster node's data directory: its metadata is in PostgreSQL, not in metadata.db, so an
// embedded open of it (a `hangar admin` without --metadata) must not start an empty store there.
constexpr std::string_view kClusterMarker = "/cluster-node";

// The key in a PKCS#11 token. It is generated there only for a fresh data directory: an existing
// one was sealed under some key, and a new key would open none of it.
Result<std::unique_ptr<crypto::RootKey>> OpenTokenKey(const std::string& path,
                                                      const RootKeySource& source, bool fresh) {
  crypto::Pkcs11Options options;
  options.uri = *source.pkcs11_uri;
  if (source.pkcs11_pin) options.pin = source.pkcs11_pin->Clone();
  auto key = crypto::Pkcs11RootKey::Open(options, fresh);
  if (!key.ok()) {
    std::string message = "the root key token: " + key.status().message();
    if (key.status().code() == ErrorCode::kKmsNotFound) {
      message += ", but the data directory " + path +
                 " holds data encrypted under a root key; name the token that holds it, or "
                 "import the key file first (hangar admin import-root-key)";
    }
    return InternalError(std::move(message));
  }
  if ((*key)->generated()) spdlog::info("generated a new root key in the PKCS#11 token");
  if (FileExists(path + "/root.key")) {
    spdlog::warn(
        "{}/root.key still exists although the root key is in a token; once the token "
        "is verified, shred the file and its backups (docs/root-key.md)",
        path);
  }
  return std::unique_ptr<crypto::RootKey>(std::move(key).value());
}

// 1. The root key. The default file is created only for a fresh data directory: if the database
//    exists and the key file does not, the key was lost and nothing can be decrypted.
Result<std::unique_ptr<crypto::RootKey>> OpenRootKey(const std::string& path,
                                                     const RootKeySource& source, bool fresh) {
  if (source.pkcs11_uri) {
    if (source.file || source.base64) {
      return InternalError(
          "the root key is named twice: give either a token "
          "(--root-key-pkcs11 / HANGAR_ROOT_KEY_PKCS11) or a key "
          "(--root-key-file / HANGAR_ROOT_KEY_FILE / HANGAR_ROOT_KEY), not both");
    }
    return OpenTokenKey(path, source, fresh);
  }
  if (source.file) return crypto::RootKey::FromFile(*source.file, false);
  if (source.base64) return crypto::RootKey::FromBase64(*source.base64);
  const std::string key_path = path + "/root.key";
  if (!fresh && !FileExists(key_path)) {
    return InternalError("the root key " + key_path +
                         " is missing but the data directory holds data encrypted under it; "
                         "restore the key file or give it with --root-key-file, or name the "
                         "token that holds it with --root-key-pkcs11");
  }
  return crypto::RootKey::FromFile(key_path, fresh);
}

}  // namespace

bool IsPostgresUri(std::string_view uri) {
  return uri.starts_with("postgresql://") || uri.starts_with("postgres://");
}

Result<DataDir> OpenDataDir(const std::string& path, const RootKeySource& source,
                            const std::string& metadata_uri,
                            const std::vector<std::string>& uncached_collections) {
  DataDir dir;
  dir.path = path;
  // Cluster mode needs no directory of its own: without one, nothing is written locally.
  const bool local = !path.empty() || metadata_uri.empty();
  if (local) HANGAR_RETURN_IF_ERROR(MakeDirectories(path, 0700));
  std::optional<store::Document> check;
  const std::string db_path = path + "/metadata.db";
  const std::string marker_path = path + std::string(kClusterMarker);
  if (metadata_uri.empty()) {
    if (FileExists(marker_path)) {
      return InternalError(path + " is a cluster node's data directory: its metadata is in "
                                  "PostgreSQL; name the database with --metadata");
    }
    const bool fresh = !FileExists(db_path);
    // 1. The root key (OpenRootKey), 2. the metadata store.
    HANGAR_ASSIGN_OR_RETURN(dir.root_key, OpenRootKey(path, source, fresh));
    HANGAR_ASSIGN_OR_RETURN(dir.metadata, store::SqliteMetadataStore::Open(db_path));
    HANGAR_ASSIGN_OR_RETURN(check, dir.metadata->Get(kCheckCollection, "", kCheckId));
  } else {
    if (!IsPostgresUri(metadata_uri)) {
      return InternalError("--metadata must be a postgresql:// URI");
    }
    if (local && FileExists(db_path)) {
      return InternalError(path + " holds an embedded metadata.db; cluster mode (--metadata) "
                                  "would leave it behind unseen: use another data directory");
    }
    if (!source.file && !source.base64 && !source.pkcs11_uri) {
      return InternalError(
          "cluster mode (--metadata) needs the root key every node shares: give it with "
          "--root-key-file, HANGAR_ROOT_KEY or --root-key-pkcs11");
    }
    // The cluster is fresh when no node has sealed its check value yet.
    store::PostgresOptions options;
    options.uncached_collections = uncached_collections;
    HANGAR_ASSIGN_OR_RETURN(dir.metadata,
                            store::PostgresMetadataStore::Open(metadata_uri, std::move(options)));
    HANGAR_ASSIGN_OR_RETURN(check, dir.metadata->Get(kCheckCollection, "", kCheckId));
    HANGAR_ASSIGN_OR_RETURN(dir.root_key, OpenRootKey(path, source, !check.has_value()));
    if (local) {
      HANGAR_RETURN_IF_ERROR(WriteFileAtomically(
          marker_path,
          "This is a Hangar cluster node's data directory; its metadata is in PostgreSQL.\n",
          0600));
    }
  }

  // 3. The root key must be the one this directory (or cluster) was created with.
  const std::string context = "hangar/root-key-check";
  if (!check) {
    HANGAR_ASSIGN_OR_RETURN(std::string sealed,
                            dir.root_key->Wrap(AsBytes(kCheckPlaintext), context));
    auto created = dir.metadata->Commit({store::Mutation::Create(
        {std::string(kCheckCollection), "", std::string(kCheckId), sealed, 0, 0})});
    if (created.ok()) return dir;
    if (created.status().code() != ErrorCode::kConflict) return created.status();
    // Another node of a fresh cluster sealed its check value first: ours must open it.
    HANGAR_ASSIGN_OR_RETURN(check, dir.metadata->Get(kCheckCollection, "", kCheckId));
    if (!check) return InternalError("the root key check value vanished while starting");
  }
  auto opened = dir.root_key->Unwrap(check->body, context);
  if (!opened.ok() || AsStringView(opened->span()) != kCheckPlaintext) {
    return InternalError("the root key does not match the " +
                         (metadata_uri.empty() ? "data directory " + path
                                               : std::string("cluster's metadata")) +
                         " (" + (opened.ok() ? "wrong check value" : opened.status().message()) +
                         "); refusing to start");
  }
  return dir;
}

Status ImportRootKeyToToken(const std::string& path, const RootKeySource& source) {
  if (!source.pkcs11_uri || (!source.file && !source.base64)) {
    return InternalError("importing a root key needs a key (a file or a base64 value) and a token");
  }
  Result<SecretBytes> key = source.file ? crypto::ReadRootKeyFile(*source.file)
                                        : crypto::DecodeRootKeyBase64(*source.base64);
  if (!key.ok()) return key.status();
  if (!path.empty()) {
    if (!FileExists(path + "/metadata.db")) {
      return InternalError(path + " is not a Hangar data directory");
    }
    RootKeySource local;
    local.file = source.file;
    local.base64 = source.base64;
    auto opened = OpenDataDir(path, local);
    if (!opened.ok()) return InternalError("before the import: " + opened.status().message());
  }
  crypto::Pkcs11Options options;
  options.uri = *source.pkcs11_uri;
  if (source.pkcs11_pin) options.pin = source.pkcs11_pin->Clone();
  HANGAR_RETURN_IF_ERROR(crypto::Pkcs11RootKey::Import(options, *key));
  if (!path.empty()) {
    RootKeySource token;
    token.pkcs11_uri = source.pkcs11_uri;
    if (source.pkcs11_pin) token.pkcs11_pin = source.pkcs11_pin->Clone();
    auto opened = OpenDataDir(path, token);
    if (!opened.ok()) {
      return InternalError("imported, but the token does not open the data directory: " +
                           opened.status().message());
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<store::BlobStore>> OpenBlobStore(const std::string& data_dir,
                                                        const std::string& blobs_uri) {
  if (blobs_uri.empty()) {
    HANGAR_ASSIGN_OR_RETURN(auto files, store::FsBlobStore::OpenAt(data_dir + "/blobs"));
    return std::unique_ptr<store::BlobStore>(std::move(files));
  }
  HANGAR_ASSIGN_OR_RETURN(store::RadosConfig config, store::ParseRadosUri(blobs_uri));
  HANGAR_ASSIGN_OR_RETURN(auto pool, store::RadosBlobStore::Open(config));
  spdlog::info("object bytes in the Ceph pool {}", config.pool);
  return std::unique_ptr<store::BlobStore>(std::move(pool));
}

}  // namespace hangar::app
