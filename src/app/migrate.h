#pragma once
// `hangar admin migrate`: moves an embedded deployment (a data directory: SQLite metadata and blob
// files) into cluster mode (a PostgreSQL database and a Ceph pool) as it is. Every document is
// copied with its revision and due time, every blob under its id, staged blobs staying staged;
// nothing is decrypted or encrypted again, so the cluster's nodes run with the data directory's
// root key. Then the copy is read back and compared with the source, document by document and
// blob by blob (SHA-256), before the command reports success. docs/cluster.md, "Moving in".

#include <cstdint>
#include <string>

#include "app/data_dir.h"
#include "common/result.h"

namespace hangar::app {

struct MigrationPlan {
  std::string from_dir;     // the embedded data directory; no server may run on it
  std::string to_metadata;  // postgresql:// URI of a database holding no Hangar deployment
  std::string to_blobs;     // rados://POOL?conf=PATH&id=CLIENT of a pool holding no Hangar blobs
};

struct MigrationReport {
  uint64_t documents = 0;
  uint64_t blobs = 0;
  uint64_t blob_bytes = 0;
};

// Copies and verifies. The root key (from `root_key`, by default FROM_DIR/root.key) must open the
// data directory: the cluster will need exactly that key.
// Errors: kConflict when a server holds the data directory; kInternal when the directory is no
// embedded deployment, the target already holds one, or a copy or its verification fails (the
// message names the document's collection or the blob).
Result<MigrationReport> MigrateToCluster(const MigrationPlan& plan, const RootKeySource& root_key);

}  // namespace hangar::app
