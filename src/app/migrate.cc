#include "app/migrate.h"

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "store/blob_store.h"
#include "store/postgres/postgres_metadata_store.h"

namespace hangar::app {
namespace {

constexpr size_t kPageDocuments = 500;
constexpr size_t kCopyChunk = 1 << 20;

// A document's address for a message: collection as is, partition and id escaped (they may hold
// any bytes). Never the body.
std::string AddressOf(const store::Document& d) {
  auto printable = [](const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        out.push_back(static_cast<char>(c));
      } else {
        static const char kHex[] = "0123456789abcdef";
        out += "\\x";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
    return out;
  };
  return d.collection + "/" + printable(d.partition) + "/" + printable(d.id);
}

bool SameDocument(const store::Document& a, const store::Document& b) {
  return a.collection == b.collection && a.partition == b.partition && a.id == b.id &&
         a.body == b.body && a.revision == b.revision && a.due_at_ms == b.due_at_ms;
}

Status RequireEmpty(store::MetadataStore& metadata, store::BlobStore& blobs) {
  HANGAR_ASSIGN_OR_RETURN(std::vector<store::Document> any, metadata.Scan(nullptr, 1));
  if (!any.empty()) {
    return InternalError("the target database already holds a Hangar deployment; migrate into "
                         "an empty database (or drop its schema \"hangar\" first)");
  }
  HANGAR_ASSIGN_OR_RETURN(std::vector<std::string> staged, blobs.ListStaged());
  bool published = false;
  HANGAR_RETURN_IF_ERROR(blobs.ForEachPublished([&](std::string_view, TimePoint) { published = true; }));
  if (published || !staged.empty()) {
    return InternalError("the target pool already holds Hangar blobs; migrate into an empty pool");
  }
  return Status::Ok();
}

Result<uint64_t> CopyDocuments(store::MetadataStore& from, store::MetadataStore& to) {
  uint64_t copied = 0;
  std::optional<store::Document> after;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(std::vector<store::Document> page,
                            from.Scan(after ? &*after : nullptr, kPageDocuments));
    if (page.empty()) return copied;
    HANGAR_RETURN_IF_ERROR(to.Import(page));
    copied += page.size();
    after = std::move(page.back());
  }
}

// Both stores, scanned side by side, must hold the same documents.
Status VerifyDocuments(store::MetadataStore& from, store::MetadataStore& to) {
  std::optional<store::Document> after;
  for (;;) {
    const store::Document* cursor = after ? &*after : nullptr;
    HANGAR_ASSIGN_OR_RETURN(std::vector<store::Document> source, from.Scan(cursor, kPageDocuments));
    HANGAR_ASSIGN_OR_RETURN(std::vector<store::Document> copy, to.Scan(cursor, kPageDocuments));
    for (size_t i = 0; i < source.size(); ++i) {
      if (i >= copy.size() || !SameDocument(source[i], copy[i])) {
        return InternalError("verification failed: the copy of " + AddressOf(source[i]) +
                             " differs from the data directory's");
      }
    }
    if (copy.size() > source.size()) {
      return InternalError("verification failed: the target holds " + AddressOf(copy[source.size()]) +
                           ", which the data directory does not");
    }
    if (source.empty()) return Status::Ok();
    after = std::move(source.back());
  }
}

// Streams blob `id` through `visit` in chunks; returns its SHA-256.
Result<std::string> HashBlob(store::BlobStore& blobs, std::string_view id,
                             const std::function<Status(std::span<const char>)>& visit) {
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<store::BlobReader> reader, blobs.Open(id));
  crypto::Digest sha(crypto::DigestAlgorithm::kSha256);
  std::vector<char> chunk(kCopyChunk);
  uint64_t offset = 0;
  while (offset < reader->size()) {
    HANGAR_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, chunk));
    if (n == 0) return InternalError("blob " + std::string(id) + " ended early");
    std::span<const char> got(chunk.data(), n);
    sha.Update(std::string_view(got.data(), got.size()));
    if (visit) HANGAR_RETURN_IF_ERROR(visit(got));
    offset += n;
  }
  return sha.Finish();
}

struct CopiedBlob {
  std::string sha256;
  uint64_t size = 0;
};

Result<CopiedBlob> CopyBlob(store::BlobStore& from, store::BlobStore& to, const std::string& id,
                            bool publish) {
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<store::BlobWriter> writer, to.CreateWithId(id));
  HANGAR_ASSIGN_OR_RETURN(std::string sha256,
                          HashBlob(from, id, [&](std::span<const char> bytes) {
                            return writer->Append(bytes);
                          }));
  const uint64_t size = writer->size();
  HANGAR_ASSIGN_OR_RETURN(std::string written, writer->Commit());
  if (written != id) return InternalError("blob " + id + " was written as " + written);
  if (publish) HANGAR_RETURN_IF_ERROR(to.Publish(id));
  return CopiedBlob{std::move(sha256), size};
}

// Blobs first: a document in the target then never names a blob that is not there yet.
Result<MigrationReport> CopyAndVerify(store::MetadataStore& source_metadata,
                                      store::BlobStore& source_blobs,
                                      store::MetadataStore& target,
                                      store::BlobStore& target_blobs) {
  MigrationReport report;
  std::map<std::string, bool> blobs;  // id -> published
  HANGAR_RETURN_IF_ERROR(source_blobs.ForEachPublished(
      [&](std::string_view id, TimePoint) { blobs.emplace(std::string(id), true); }));
  HANGAR_ASSIGN_OR_RETURN(std::vector<std::string> staged, source_blobs.ListStaged());
  for (const std::string& id : staged) blobs.emplace(id, false);
  std::map<std::string, CopiedBlob> copied;
  for (const auto& [id, published] : blobs) {
    auto blob = CopyBlob(source_blobs, target_blobs, id, published);
    if (!blob.ok()) return InternalError("copying blob " + id + ": " + blob.status().message());
    report.blob_bytes += blob->size;
    copied.emplace(id, std::move(*blob));
  }
  report.blobs = copied.size();
  HANGAR_ASSIGN_OR_RETURN(report.documents, CopyDocuments(source_metadata, target));

  HANGAR_RETURN_IF_ERROR(VerifyDocuments(source_metadata, target));
  for (const auto& [id, blob] : copied) {
    auto read_back = HashBlob(target_blobs, id, nullptr);
    if (!read_back.ok() || *read_back != blob.sha256) {
      return InternalError("verification failed: blob " + id + " in the pool " +
                           (read_back.ok() ? "differs from the data directory's"
                                           : "cannot be read: " + read_back.status().message()));
    }
  }
  return report;
}

}  // namespace

Result<MigrationReport> MigrateToCluster(const MigrationPlan& plan, const RootKeySource& root_key) {
  if (!FileExists(plan.from_dir + "/metadata.db")) {
    return InternalError(plan.from_dir + " holds no embedded deployment (no metadata.db)");
  }
  // A server on the directory would change it under the copy; it holds this lock while it runs.
  HANGAR_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(plan.from_dir + "/hangar.lock"));
  // Opening proves the root key is the directory's: the cluster's nodes will need that key.
  HANGAR_ASSIGN_OR_RETURN(DataDir source, OpenDataDir(plan.from_dir, root_key));
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<store::BlobStore> source_blobs,
                          OpenBlobStore(plan.from_dir, ""));
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<store::PostgresMetadataStore> target,
                          store::PostgresMetadataStore::Open(plan.to_metadata));
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<store::BlobStore> target_blobs,
                          OpenBlobStore("", plan.to_blobs));
  HANGAR_RETURN_IF_ERROR(RequireEmpty(*target, *target_blobs));
  auto copied = CopyAndVerify(*source.metadata, *source_blobs, *target, *target_blobs);
  if (!copied.ok()) {
    return InternalError(copied.status().message() +
                         ". The target now holds part of a copy: drop the database's schema "
                         "\"hangar\" and the pool before trying again");
  }
  return copied;
}

}  // namespace hangar::app
