#pragma once
// AuditLedger: the audit trail of cluster mode, one hash chain through the metadata store that
// every node appends to (docs/cluster.md, "Audit trail"). The nodes share nothing else, so the
// trail must live where they all write; one chain keeps one order and one place to verify.
//
// Documents (all in partition ""):
//   audit.ledger  <position, 20 digits>  one batch: a header line {"prev","node","time"} then
//                                        one CloudTrail record per line. "prev" is the hex
//                                        SHA-256 of the entry before it ("" for the first).
//   audit.head    head                   {"position","sha256"}: the last entry
//   audit.digest  <sequence, 20 digits>  a signed anchor: {"position","sha256","time",
//                                        "previous":{"id","sha256","signature"},"keyFingerprint"}
//                                        then a line with the hex SHA256withRSA signature
//   audit.key     digest                 the digest key (DigestKey's JSON; private half sealed)
//   audit.retention marker               after a retention cut: {"firstDigest","previous",
//                                        "firstPosition","prevSha256","time","keyFingerprint"},
//                                        then a line with its hex SHA256withRSA signature
// A batch is appended in one commit with the head's update, conditional on the head's revision:
// nodes racing for the next position retry, so the chain has no fork and no gap. Records are
// acknowledged (requests answered) only after their batch committed, as with the file trail.
// Every digest interval, the node that takes the store's work lock "audit-digest" signs a digest
// of the head, linked to the digest before it; a change to any entry up to a digest's position
// breaks the chain that digest signs. Entries after the newest digest are reported as not yet
// covered, as CloudTrail reports log files delivered after its newest digest.
// Retention: after a digest, the digest lock's holder removes the digests whose time is older than
// the retention period (never the newest) and the entries they cover. It first signs a retention
// marker naming the first digest kept, the link that digest holds to its removed predecessor, and
// the first entry kept with the hash its predecessor had: verify starts the chain there, and still
// names a digest or entry removed by anyone else. A cut a crash interrupted is finished by the next.
//
// Thread-safety: Append, Healthy and DigestNow may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/digest.h"
#include "audit/lookup.h"
#include "audit/sink.h"
#include "audit/verify.h"
#include "common/clock.h"
#include "crypto/root_key.h"
#include "store/metadata_store.h"

namespace hangar::audit {

struct LedgerOptions {
  std::string node;        // names this node in its entries (e.g. host:port)
  std::string account_id;  // the server's default account
  std::chrono::seconds digest_interval{3600};
  // Entries and digests older than this are removed at a digest (0: kept for ever); see Cut.
  std::chrono::seconds retention{0};
  // As TrailOptions::on_batch.
  std::function<void(uint64_t records, double seconds, bool failed)> on_batch;
};

class AuditLedger final : public AuditSink {
 public:
  // Loads the digest key, or makes it when no node has yet. Errors: kInternal.
  static Result<std::unique_ptr<AuditLedger>> Open(store::MetadataStore& store,
                                                   LedgerOptions options,
                                                   const crypto::RootKey& root_key,
                                                   const Clock& clock);
  ~AuditLedger() override;  // Close()

  void Append(const AuditEvent& event, std::function<void(const Status&)> done) override;
  Status Healthy() const override;

  // Signs a digest of the head now, unless another node is signing one or nothing is new, and
  // makes the retention cut that is due.
  Status DigestNow();
  // Writes what is queued and signs a last digest. Later appends fail.
  Status Close();

  // The ledger's collections: written by every request, cached by no node (no change epoch).
  static std::vector<std::string> UncachedCollections();

 private:
  struct Pending {
    std::string record;
    std::function<void(const Status&)> done;
  };
  AuditLedger(store::MetadataStore& store, LedgerOptions options,
              std::unique_ptr<DigestKey> key, const Clock& clock);
  void Loop();
  // Appends `batch` as the next entry (retrying lost races for the position).
  Status Commit(const std::vector<Pending>& batch);
  // A write of this node's probe document: whether the store takes writes again.
  Status Probe();
  // `wait`: for the digest lock, when another node holds it (at Close).
  Status SignDigest(bool wait);
  // Under the digest lock: a digest of the head, unless nothing is new since the last one.
  Status SignHead();
  // Under the digest lock, after a digest: the retention marker of the next cut, if one is due
  // and the chain it cuts holds (see the file comment).
  Status MarkCut();
  // Deletes the digests and entries before the marker's (any node, any time; idempotent).
  Status RemoveCut();
  // The remover thread: RemoveCut after each periodic digest, off the writer thread.
  void RemovalLoop();

  store::MetadataStore& store_;
  const LedgerOptions options_;
  const std::unique_ptr<DigestKey> key_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // protected by mu_
  bool closing_ = false;       // protected by mu_
  Status health_;              // protected by mu_
  std::mutex digest_mu_;       // one digest at a time from this node
  std::condition_variable removal_cv_;
  bool removal_due_ = false;  // protected by mu_
  std::thread writer_;
  std::thread remover_;  // with a retention period only
};

// The ledger's digest key as a verifier trusts it: with the root key, the one that opens under
// it; without, the public key as stored.
Result<std::string> LedgerPublicKey(store::MetadataStore& store, const crypto::RootKey* root_key);

// `hangar audit verify --metadata`: every entry's link to the one before, the head, and every
// digest's signature, link and anchor. Problems name the entry position or digest. Entries that
// no digest covers are a problem once they are older (at `now`) than `digest_interval` and some
// slack: a node signs one every interval, so their digests must have been deleted.
// After a retention cut, the chain starts at the marker's first digest and entry. A window checks
// every digest but only the entries of the digests that end at or after `from` and begin at or
// before `to` (as the file trail's window selects digests).
struct LedgerWindow {
  std::optional<TimePoint> from;
  std::optional<TimePoint> to;
};
VerifyReport VerifyLedger(store::MetadataStore& store, const std::string& public_der,
                          TimePoint now, std::chrono::seconds digest_interval,
                          const LedgerWindow& window = {});

// LookupEvents (lookup.h) over the ledger, newest first.
Result<LookupPage> LookupLedger(store::MetadataStore& store, const LookupQuery& query);

// Every record, oldest first, in the time window (`hangar audit export --metadata`).
Status ForEachLedgerRecord(store::MetadataStore& store, std::optional<TimePoint> start,
                           std::optional<TimePoint> end,
                           const std::function<bool(std::string_view record)>& emit);

}  // namespace hangar::audit
