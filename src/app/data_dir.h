#pragma once
// Opening a data directory: the root key, the metadata store and the check that the two belong
// together. A wrong or missing root key stops the server with a clear message instead of serving
// data it cannot decrypt.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/root_key.h"
#include "store/blob_store.h"
#include "store/metadata_store.h"

namespace hangar::app {

// Where the root key comes from; at most one of a file or base64 value, or a token. With none,
// DATA_DIR/root.key (created for a fresh directory).
struct RootKeySource {
  std::optional<std::string> file;        // --root-key-file / HANGAR_ROOT_KEY_FILE: must exist
  std::optional<std::string> base64;      // HANGAR_ROOT_KEY
  std::optional<std::string> pkcs11_uri;  // --root-key-pkcs11 / HANGAR_ROOT_KEY_PKCS11
  std::optional<SecretBytes> pkcs11_pin;  // HANGAR_ROOT_KEY_PIN
};

struct DataDir {
  std::string path;
  std::unique_ptr<crypto::RootKey> root_key;
  std::unique_ptr<store::MetadataStore> metadata;
};

// Opens the data directory `path` with its root key and metadata store: PATH/metadata.db, or in
// cluster mode (`metadata_uri`, a postgresql:// URI) the PostgreSQL database every node shares.
// A cluster's nodes must share one root key too, so cluster mode takes it only from `source`
// (file, base64 value or token), never from a node's own PATH/root.key; there `path` may be empty
// (a node, or a tool, without a directory of its own).
// Errors: kInternal with a message fit for an operator (never key bytes, a PIN or a password),
// also when the source names both a token and a key file or value.
// `uncached_collections`: in cluster mode, the collections whose writes need not move the change
// epoch (no node caches them; PostgresOptions::uncached_collections).
Result<DataDir> OpenDataDir(const std::string& path, const RootKeySource& source,
                            const std::string& metadata_uri = "",
                            const std::vector<std::string>& uncached_collections = {});

// Where object bytes live: files under DATA_DIR/blobs, or in cluster mode a Ceph pool
// (`blobs_uri`: rados://POOL?conf=PATH&id=CLIENT) that every node shares.
Result<std::unique_ptr<store::BlobStore>> OpenBlobStore(const std::string& data_dir,
                                                        const std::string& blobs_uri);

// Whether `uri` names cluster mode's PostgreSQL metadata (postgresql:// or postgres://).
bool IsPostgresUri(std::string_view uri);

// Creates the root key named by `source.file` or `source.base64` in the token named by
// `source.pkcs11_uri` (hangar admin import-root-key). With a non-empty `path`, the key must first
// open that data directory, and the token's key must open it afterwards.
// Errors: kInternal with a message fit for an operator, e.g. when the token already holds a key
// with that label, `path` is no data directory, or the key does not belong to it.
Status ImportRootKeyToToken(const std::string& path, const RootKeySource& source);

}  // namespace hangar::app
