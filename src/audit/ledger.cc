#include "audit/ledger.h"

#include <charconv>
#include <limits>
#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/strings.h"
#include "crypto/digest.h"
#include "crypto/rsa_signing.h"

namespace hangar::audit {
namespace {

using json = nlohmann::json;

constexpr std::string_view kLedger = "audit.ledger";
constexpr std::string_view kHead = "audit.head";
constexpr std::string_view kDigests = "audit.digest";
constexpr std::string_view kKeys = "audit.key";
constexpr std::string_view kRetention = "audit.retention";
constexpr std::string_view kMarkerId = "marker";
constexpr uint64_t kDeletesPerCommit = 500;
constexpr std::string_view kHeadId = "head";
constexpr std::string_view kKeyId = "digest";
constexpr std::string_view kDigestLock = "audit-digest";
constexpr int kMaxCommitAttempts = 200;  // positions lost to other nodes' batches in a row
constexpr uint64_t kPage = 16;  // entries per read: each holds up to kMaxEntryRecords records
// Nodes' clocks differ a little: an entry's time bounds its records' times only roughly.
constexpr auto kClockSlack = std::chrono::minutes(1);
constexpr auto kProbeInterval = std::chrono::seconds(1);
// How late a digest may be before verify calls the entries it should cover unprotected.
constexpr auto kDigestSlack = std::chrono::minutes(15);
constexpr size_t kMaxEntryRecords = 1000;
constexpr std::string_view kProbe = "audit.probe";

std::string PositionId(uint64_t position) {
  char text[24];
  std::snprintf(text, sizeof(text), "%020llu", static_cast<unsigned long long>(position));
  return text;
}

std::optional<uint64_t> PositionOf(std::string_view id) {
  uint64_t value = 0;
  if (id.size() != 20) return std::nullopt;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (ec != std::errc() || end != id.data() + id.size() || value == 0) return std::nullopt;
  return value;
}

std::string Str(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Head {
  uint64_t position = 0;
  std::string sha256;
  int64_t revision = 0;  // 0: no entry yet
  int64_t time_ms = 0;   // the last entry's time
};

Result<Head> ReadHead(store::MetadataStore& store) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kHead, "", kHeadId));
  if (!doc) return Head{};
  json j = json::parse(doc->body, nullptr, false);
  if (!j.is_object() || !j.contains("position") || !j["position"].is_number_unsigned()) {
    return InternalError("the audit ledger's head is malformed");
  }
  const int64_t time_ms = j.contains("timeMs") && j["timeMs"].is_number_integer()
                              ? j["timeMs"].get<int64_t>()
                              : 0;
  return Head{j["position"].get<uint64_t>(), Str(j, "sha256"), doc->revision, time_ms};
}

// An entry's header line and its records.
struct Entry {
  json header;
  std::string_view records;
};

std::optional<Entry> ParseEntry(std::string_view body) {
  size_t newline = body.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  json header = json::parse(body.substr(0, newline), nullptr, false);
  if (!header.is_object()) return std::nullopt;
  return Entry{std::move(header), body.substr(newline + 1)};
}

// A digest document: its signed line and the signature.
struct SignedDigest {
  std::string line;
  std::string signature_hex;
};

SignedDigest SplitDigest(std::string_view body) {
  size_t newline = body.find('\n');
  if (newline == std::string_view::npos) return {std::string(body), ""};
  std::string_view signature = body.substr(newline + 1);
  while (!signature.empty() && signature.back() == '\n') signature.remove_suffix(1);
  return {std::string(body.substr(0, newline)), std::string(signature)};
}

// What a retention cut left: where the chain now starts.
struct RetentionMarker {
  std::string first_digest;  // the first digest kept
  json previous;             // the link it holds to its removed predecessor
  uint64_t first_position = 1;
  std::string prev_sha256;  // the hash of the entry before first_position
};

// The marker, if a cut was made. Errors: kInternal when it is not signed by `public_der`.
Result<std::optional<RetentionMarker>> ReadMarker(store::MetadataStore& store,
                                                  const std::string& public_der) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kRetention, "", kMarkerId));
  if (!doc) return std::optional<RetentionMarker>();
  SignedDigest signed_marker = SplitDigest(doc->body);
  auto signature = HexDecode(signed_marker.signature_hex);
  json fields = json::parse(signed_marker.line, nullptr, false);
  if (!signature || !fields.is_object() ||
      !crypto::RsaSha256Verify(public_der, signed_marker.line, *signature) ||
      !fields["firstPosition"].is_number_unsigned()) {
    return InternalError("the retention marker was altered: its signature does not verify");
  }
  return std::optional<RetentionMarker>(RetentionMarker{
      Str(fields, "firstDigest"), fields["previous"], fields["firstPosition"].get<uint64_t>(),
      Str(fields, "prevSha256")});
}

// Every document of `collection`, ascending.
Result<std::vector<store::Document>> ListAll(store::MetadataStore& store,
                                             std::string_view collection) {
  std::vector<store::Document> all;
  store::ListOptions options;
  options.limit = kPage;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto page, store.List(collection, "", options));
    if (page.empty()) return all;
    options.start_after = page.back().id;
    for (auto& d : page) all.push_back(std::move(d));
  }
}

void BackOff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int cap_us = std::min(5000, 50 * attempt);
  std::this_thread::sleep_for(std::chrono::microseconds(
      std::uniform_int_distribution<int>(0, cap_us)(random)));
}

}  // namespace

Result<std::unique_ptr<AuditLedger>> AuditLedger::Open(store::MetadataStore& store,
                                                       LedgerOptions options,
                                                       const crypto::RootKey& root_key,
                                                       const Clock& clock) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, store.Get(kKeys, "", kKeyId));
  std::unique_ptr<DigestKey> key;
  if (!stored) {
    HANGAR_ASSIGN_OR_RETURN(DigestKey::Generated made, DigestKey::Generate(root_key));
    auto created = store.Commit(
        {store::Mutation::Create({std::string(kKeys), "", std::string(kKeyId), made.json, 0, 0})});
    if (created.ok()) {
      key = std::move(made.key);
    } else if (created.status().code() != ErrorCode::kConflict) {
      return created.status();
    } else {  // another node made it first: use that one
      HANGAR_ASSIGN_OR_RETURN(stored, store.Get(kKeys, "", kKeyId));
      if (!stored) return InternalError("the audit ledger's digest key vanished");
    }
  }
  if (!key) {
    HANGAR_ASSIGN_OR_RETURN(key, DigestKey::FromJson(stored->body, root_key, "audit.key"));
  }
  return std::unique_ptr<AuditLedger>(
      new AuditLedger(store, std::move(options), std::move(key), clock));
}

AuditLedger::AuditLedger(store::MetadataStore& store, LedgerOptions options,
                         std::unique_ptr<DigestKey> key, const Clock& clock)
    : store_(store),
      options_(std::move(options)),
      key_(std::move(key)),
      clock_(clock),
      writer_([this] { Loop(); }) {
  if (options_.retention.count() > 0) remover_ = std::thread([this] { RemovalLoop(); });
}

AuditLedger::~AuditLedger() { (void)Close(); }

void AuditLedger::Append(const AuditEvent& event, std::function<void(const Status&)> done) {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back(Pending{ToCloudTrailJson(event), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Error(ErrorCode::kAuditUnavailable, "The audit trail is closed."));
}

Status AuditLedger::Healthy() const {
  std::lock_guard lock(mu_);
  return health_;
}

void AuditLedger::Loop() {
  auto next_digest = std::chrono::steady_clock::now() + options_.digest_interval;
  std::unique_lock lock(mu_);
  for (;;) {
    // While the store refuses writes, requests are refused before they make records: nothing
    // would come to show it is back. So try a write once a second.
    const auto wake = health_.ok() ? next_digest
                                   : std::min(next_digest, std::chrono::steady_clock::now() +
                                                               kProbeInterval);
    cv_.wait_until(lock, wake, [&] { return closing_ || !queue_.empty(); });
    if (queue_.empty() && !closing_ && !health_.ok()) {
      lock.unlock();
      const bool back = Probe().ok();
      lock.lock();
      if (back && !health_.ok()) {
        spdlog::info("audit ledger: the store takes writes again");
        health_ = Status::Ok();
      }
    }
    if (!queue_.empty()) {
      // An entry holds at most kMaxEntryRecords: readers page through entries.
      const size_t take = std::min(queue_.size(), kMaxEntryRecords);
      std::vector<Pending> batch(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.begin() + take));
      queue_.erase(queue_.begin(), queue_.begin() + take);
      lock.unlock();
      const auto started = std::chrono::steady_clock::now();
      Status s = Commit(batch);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (options_.on_batch) options_.on_batch(batch.size(), seconds, !s.ok());
      lock.lock();
      if (s.ok() && !health_.ok()) spdlog::info("audit ledger: writing again");
      if (!s.ok() && health_.ok()) spdlog::error("audit ledger: {}", s.message());
      // Clients are told that the trail is down, not what the database said (its address).
      health_ = s.ok() ? Status::Ok()
                       : TrailUnavailable(InternalError("the metadata store refused the write"));
      lock.unlock();
      for (Pending& p : batch) p.done(s);
      lock.lock();
    } else if (closing_) {
      return;
    }
    // Also under load, which would keep the queue from ever being empty.
    if (std::chrono::steady_clock::now() >= next_digest) {
      lock.unlock();
      if (Status s = SignDigest(/*wait=*/false); !s.ok()) {
        spdlog::error("audit ledger digest: {}", s.message());
      }
      lock.lock();
      if (options_.retention.count() > 0) {  // the deletes of a cut run on the remover thread
        removal_due_ = true;
        removal_cv_.notify_one();
      }
      next_digest = std::chrono::steady_clock::now() + options_.digest_interval;
    }
  }
}

Status AuditLedger::Probe() {
  return store_
      .Commit({store::Mutation::Upsert({std::string(kProbe), "", options_.node,
                                        FormatIso8601(clock_.Now(), true), 0, 0})})
      .status();
}

Status AuditLedger::Commit(const std::vector<Pending>& batch) {
  std::string records;
  for (const Pending& p : batch) records += p.record + "\n";
  for (int attempt = 1; attempt <= kMaxCommitAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(Head head, ReadHead(store_));
    const uint64_t position = head.position + 1;
    // Entry times never run back along the chain, whatever the nodes' clocks say: LookupEvents
    // stops at the first entry older than its window.
    const int64_t time_ms = std::max(ToUnixMillis(clock_.Now()), head.time_ms);
    std::string body = json{{"prev", head.sha256},
                            {"node", options_.node},
                            {"time", FormatIso8601(FromUnixMillis(time_ms), true)}}
                           .dump() +
                       "\n" + records;
    const std::string sha256 = crypto::Sha256Hex(body);
    store::Document entry{std::string(kLedger), "", PositionId(position), std::move(body), 0, 0};
    store::Document next_head{
        std::string(kHead), "", std::string(kHeadId),
        json{{"position", position}, {"sha256", sha256}, {"timeMs", time_ms}}.dump(), 0, 0};
    auto committed = store_.Commit(
        {store::Mutation::Create(std::move(entry)),
         head.revision == 0 ? store::Mutation::Create(std::move(next_head))
                            : store::Mutation::Update(std::move(next_head), head.revision)});
    if (committed.ok()) return Status::Ok();
    if (committed.status().code() != ErrorCode::kConflict) return committed.status();
    BackOff(attempt);  // another node took the position: try the next
  }
  return InternalError("lost the race for the next ledger position " +
                       std::to_string(kMaxCommitAttempts) + " times");
}

Status AuditLedger::DigestNow() {
  HANGAR_RETURN_IF_ERROR(SignDigest(/*wait=*/false));
  return RemoveCut();
}

Status AuditLedger::SignDigest(bool wait) {
  std::lock_guard guard(digest_mu_);
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<store::WorkLock> held,
                          store_.LockWork(kDigestLock, wait));
  if (!held) return Status::Ok();  // another node is signing one
  HANGAR_RETURN_IF_ERROR(SignHead());
  if (Status s = MarkCut(); !s.ok()) spdlog::error("audit ledger retention: {}", s.message());
  return Status::Ok();
}

Status AuditLedger::SignHead() {
  HANGAR_ASSIGN_OR_RETURN(Head head, ReadHead(store_));
  if (head.position == 0) return Status::Ok();
  HANGAR_ASSIGN_OR_RETURN(std::vector<store::Document> digests, ListAll(store_, kDigests));
  // The chain goes on from the newest digest this key signed: a document slipped in by someone
  // else is neither linked to nor able to stop the chain (verify names it).
  const store::Document* last = nullptr;
  SignedDigest signed_last;
  json last_fields;
  for (auto it = digests.rbegin(); it != digests.rend() && last == nullptr; ++it) {
    SignedDigest candidate = SplitDigest(it->body);
    auto signature = HexDecode(candidate.signature_hex);
    if (!signature || !crypto::RsaSha256Verify(key_->public_der(), candidate.line, *signature)) {
      continue;
    }
    last = &*it;
    signed_last = std::move(candidate);
    last_fields = json::parse(signed_last.line, nullptr, false);
  }
  json previous = nullptr;
  uint64_t sequence = 1;
  if (!digests.empty()) sequence = PositionOf(digests.back().id).value_or(digests.size()) + 1;
  if (last != nullptr) {
    const json& position = last_fields.is_object() ? last_fields["position"] : json();
    if (position.is_number_unsigned() && position.get<uint64_t>() == head.position) {
      return Status::Ok();  // nothing new since
    }
    previous = json{{"id", last->id},
                    {"sha256", crypto::Sha256Hex(signed_last.line)},
                    {"signature", signed_last.signature_hex}};
  }
  const std::string line = json{{"awsAccountId", options_.account_id},
                                {"position", head.position},
                                {"sha256", head.sha256},
                                {"time", FormatIso8601(clock_.Now(), true)},
                                {"keyFingerprint", key_->fingerprint()},
                                {"previous", previous}}
                               .dump();
  HANGAR_ASSIGN_OR_RETURN(std::string signature, key_->SignHex(line));
  return store_
      .Commit({store::Mutation::Create(
          {std::string(kDigests), "", PositionId(sequence), line + "\n" + signature, 0, 0})})
      .status();
}

namespace {

// A digest's link as the next one holds it ("previous").
json LinkTo(const std::string& id, const SignedDigest& d) {
  return json{{"id", id}, {"sha256", crypto::Sha256Hex(d.line)}, {"signature", d.signature_hex}};
}

}  // namespace

Status AuditLedger::MarkCut() {
  if (options_.retention.count() <= 0) return Status::Ok();
  HANGAR_ASSIGN_OR_RETURN(std::optional<RetentionMarker> marker,
                          ReadMarker(store_, key_->public_der()));
  HANGAR_ASSIGN_OR_RETURN(auto marker_doc, store_.Get(kRetention, "", kMarkerId));
  HANGAR_ASSIGN_OR_RETURN(std::vector<store::Document> digests, ListAll(store_, kDigests));
  // The digests of the chain as it stands, oldest first: signed by this key, none before the
  // marker's first.
  struct Link {
    std::string id;
    SignedDigest signed_digest;
    json fields;
  };
  std::vector<Link> chain;
  for (const store::Document& d : digests) {
    if (marker && d.id < marker->first_digest) continue;
    SignedDigest signed_digest = SplitDigest(d.body);
    auto signature = HexDecode(signed_digest.signature_hex);
    if (!signature ||
        !crypto::RsaSha256Verify(key_->public_der(), signed_digest.line, *signature)) {
      continue;
    }
    json fields = json::parse(signed_digest.line, nullptr, false);
    chain.push_back({d.id, std::move(signed_digest), std::move(fields)});
  }
  const TimePoint horizon = clock_.Now() - options_.retention;
  std::optional<size_t> last_removed;  // never the newest digest
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    auto t = ParseIso8601(Str(chain[i].fields, "time"));
    if (!t || *t >= horizon || !chain[i].fields["position"].is_number_unsigned()) break;
    last_removed = i;
  }
  if (!last_removed) return Status::Ok();
  // What is cut can no longer be verified: cut only a chain that holds, so that a digest someone
  // deleted stays for verify to name.
  for (size_t i = 0; i <= *last_removed + 1; ++i) {
    const json expected = i == 0 ? (marker ? marker->previous : json(nullptr))
                                 : LinkTo(chain[i - 1].id, chain[i - 1].signed_digest);
    if (chain[i].fields["previous"] != expected) {
      return InternalError("retention cut refused: the digest chain is broken at digest " +
                           chain[i].id + " (hangar audit verify names the problem)");
    }
  }
  const Link& removed = chain[*last_removed];
  const Link& kept = chain[*last_removed + 1];
  const std::string line = json{{"firstDigest", kept.id},
                                {"previous", kept.fields["previous"]},
                                {"firstPosition", removed.fields["position"].get<uint64_t>() + 1},
                                {"prevSha256", Str(removed.fields, "sha256")},
                                {"time", FormatIso8601(clock_.Now(), true)},
                                {"keyFingerprint", key_->fingerprint()}}
                               .dump();
  HANGAR_ASSIGN_OR_RETURN(std::string signature, key_->SignHex(line));
  // The marker first: once it is stored, what it says is gone may go (also after a crash).
  // Conditional, so that a holder that lost the lock cannot put an older marker back.
  store::Document next{std::string(kRetention), "", std::string(kMarkerId),
                       line + "\n" + signature, 0, 0};
  auto committed = store_.Commit({marker_doc ? store::Mutation::Update(std::move(next),
                                                                        marker_doc->revision)
                                             : store::Mutation::Create(std::move(next))});
  if (!committed.ok() && committed.status().code() != ErrorCode::kConflict) {
    return committed.status();
  }
  return Status::Ok();
}

Status AuditLedger::RemoveCut() {
  HANGAR_ASSIGN_OR_RETURN(std::optional<RetentionMarker> marker,
                          ReadMarker(store_, key_->public_der()));
  if (!marker) return Status::Ok();
  // Deleting what the marker names is the same work whoever does it, so it needs no lock and
  // runs off the writer thread: a first cut of a large ledger takes a while.
  std::vector<store::Mutation> deletes;
  HANGAR_ASSIGN_OR_RETURN(std::vector<store::Document> digests, ListAll(store_, kDigests));
  for (const store::Document& d : digests) {
    if (d.id < marker->first_digest) deletes.push_back(store::Mutation::Delete(d.collection, "", d.id));
  }
  if (!deletes.empty()) HANGAR_RETURN_IF_ERROR(store_.Commit(deletes).status());
  const std::string first_kept = PositionId(marker->first_position);
  store::ListOptions oldest;
  oldest.limit = 1;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto first, store_.List(kLedger, "", oldest));
    if (first.empty() || first.front().id >= first_kept) return Status::Ok();
    deletes.clear();
    auto from = PositionOf(first.front().id);
    if (!from) {  // not an entry (inserted by hand): below the cut, it goes too
      deletes.push_back(store::Mutation::Delete(std::string(kLedger), "", first.front().id));
    }
    // Entries are numbered without gaps: delete by number, a chunk per commit.
    for (uint64_t p = from.value_or(marker->first_position);
         p < marker->first_position && deletes.size() < kDeletesPerCommit; ++p) {
      deletes.push_back(store::Mutation::Delete(std::string(kLedger), "", PositionId(p)));
    }
    HANGAR_RETURN_IF_ERROR(store_.Commit(deletes).status());
  }
}

void AuditLedger::RemovalLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    removal_cv_.wait(lock, [&] { return removal_due_ || closing_; });
    if (closing_) return;
    removal_due_ = false;
    lock.unlock();
    if (Status s = RemoveCut(); !s.ok()) spdlog::error("audit ledger retention: {}", s.message());
    lock.lock();
  }
}

Status AuditLedger::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !writer_.joinable()) return Status::Ok();
    closing_ = true;
  }
  cv_.notify_all();
  removal_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (remover_.joinable()) remover_.join();
  // Waits for a node signing now: its digest may predate this node's last entries.
  HANGAR_RETURN_IF_ERROR(SignDigest(/*wait=*/true));
  return RemoveCut();
}

std::vector<std::string> AuditLedger::UncachedCollections() {
  return {std::string(kLedger), std::string(kHead), std::string(kDigests), std::string(kProbe),
          std::string(kRetention)};
}

Result<std::string> LedgerPublicKey(store::MetadataStore& store, const crypto::RootKey* root_key) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, store.Get(kKeys, "", kKeyId));
  if (!stored) return InternalError("the audit ledger has no digest key: no node ever wrote it");
  if (root_key == nullptr) return DigestKey::PublicKeyOfJson(stored->body, "audit.key");
  HANGAR_ASSIGN_OR_RETURN(auto key, DigestKey::FromJson(stored->body, *root_key, "audit.key"));
  return key->public_der();
}

VerifyReport VerifyLedger(store::MetadataStore& store, const std::string& public_der,
                          TimePoint now, std::chrono::seconds digest_interval,
                          const LedgerWindow& window) {
  VerifyReport report;
  auto problem = [&](std::string text) { report.problems.push_back(std::move(text)); };

  // 0. A retention cut: the chain starts where its signed marker says.
  std::optional<RetentionMarker> marker;
  if (auto read = ReadMarker(store, public_der); !read.ok()) {
    problem(read.status().message());
  } else {
    marker = *read;
  }

  // 1. The digests: signatures and links. Each anchors an entry's hash.
  struct Anchor {
    std::string sha256;
    std::string digest;
    std::optional<TimePoint> time;
  };
  std::map<uint64_t, Anchor> anchors;  // by the position each digest signed
  auto digests = ListAll(store, kDigests);
  if (!digests.ok()) {
    problem("cannot read the digests: " + digests.status().message());
    return report;
  }
  const store::Document* before = nullptr;
  bool first_kept = marker.has_value();  // the next digest must be the marker's first
  for (const store::Document& d : *digests) {
    if (marker && d.id < marker->first_digest) continue;  // a cut a crash interrupted
    if (first_kept) {
      first_kept = false;
      if (d.id != marker->first_digest) {
        problem("digest " + marker->first_digest +
                ", the first one the retention cut kept, is missing (deleted)");
      }
    }
    SignedDigest signed_digest = SplitDigest(d.body);
    json fields = json::parse(signed_digest.line, nullptr, false);
    const std::string name = "digest " + d.id;
    auto signature = HexDecode(signed_digest.signature_hex);
    if (!fields.is_object() || !signature ||
        !crypto::RsaSha256Verify(public_der, signed_digest.line, *signature)) {
      problem(name + " was altered: its signature does not verify");
      before = &d;
      continue;
    }
    ++report.digests_checked;
    auto t = ParseIso8601(Str(fields, "time"));
    if (t && !report.first_start) report.first_start = t;
    if (t) report.last_end = t;
    const json& previous = fields["previous"];
    if (before == nullptr && marker && d.id == marker->first_digest) {
      if (previous != marker->previous) {
        problem(name + " does not hold the link the retention marker names: it was altered");
      }
    } else if (before == nullptr && !previous.is_null()) {
      problem(name + " links to " + Str(previous, "id") + ", which is missing (deleted)");
    } else if (before != nullptr) {
      SignedDigest prior = SplitDigest(before->body);
      if (!previous.is_object() || Str(previous, "id") != before->id ||
          Str(previous, "sha256") != crypto::Sha256Hex(prior.line) ||
          Str(previous, "signature") != prior.signature_hex) {
        problem(name + " does not link to digest " + before->id +
                ": a digest between them was deleted, or that one was altered");
      }
    }
    anchors[fields.value("position", uint64_t{0})] = {Str(fields, "sha256"), d.id, t};
    before = &d;
  }
  if (first_kept) {
    problem("digest " + marker->first_digest +
            ", the first one the retention cut kept, is missing (deleted)");
  }

  // 2. The entries: each links to the hash of the one before; digests anchor some. A window
  // checks the entries of the digests that end in it or after its start: from the one after the
  // last digest before `from` (whose signed hash the first links to) to the first digest at or
  // after `to`.
  const uint64_t covered = anchors.empty() ? 0 : anchors.rbegin()->first;
  std::optional<TimePoint> first_uncovered;  // the time of the oldest entry no digest covers
  uint64_t expected = marker ? marker->first_position : 1;
  std::string previous_sha = marker ? marker->prev_sha256 : std::string();
  uint64_t end = std::numeric_limits<uint64_t>::max();
  for (const auto& [position, anchor] : anchors) {
    if (window.from && anchor.time && *anchor.time < *window.from && position >= expected) {
      expected = position + 1;
      previous_sha = anchor.sha256;
    }
    if (window.to && anchor.time && *anchor.time >= *window.to && position < end) end = position;
  }
  const bool to_the_end = end == std::numeric_limits<uint64_t>::max();
  bool linked = true;  // whether previous_sha is the entry right before `expected`
  store::ListOptions options;
  options.limit = kPage;
  if (expected > 1) options.start_after = PositionId(expected - 1);  // also: a cut not finished
  for (bool past_end = false; !past_end;) {
    auto page = store.List(kLedger, "", options);
    if (!page.ok()) {
      problem("cannot read the ledger: " + page.status().message());
      return report;
    }
    if (page->empty()) break;
    options.start_after = page->back().id;
    for (const store::Document& d : *page) {
      auto position = PositionOf(d.id);
      auto entry = ParseEntry(d.body);
      if (position && *position > end) {
        if (expected <= end) {
          problem("ledger entries " + std::to_string(expected) + " to " + std::to_string(end) +
                  " are missing (deleted)");
        }
        past_end = true;
        break;
      }
      if (!position || !entry) {
        problem("ledger entry " + d.id + " is malformed (altered or inserted)");
        linked = false;
        continue;
      }
      if (*position > expected) {
        problem("ledger entries " + std::to_string(expected) + " to " +
                std::to_string(*position - 1) + " are missing (deleted)");
        linked = false;
      }
      if (linked && Str(entry->header, "prev") != previous_sha) {
        problem("ledger entry " + std::to_string(*position - 1) + " was altered: entry " +
                std::to_string(*position) + " links to another hash");
      }
      const std::string sha = crypto::Sha256Hex(d.body);
      if (auto a = anchors.find(*position); a != anchors.end() && a->second.sha256 != sha) {
        problem("ledger entry " + std::to_string(*position) + " was altered: digest " +
                a->second.digest + " signed another hash");
      }
      if (*position > covered && !first_uncovered) {
        first_uncovered = ParseIso8601(Str(entry->header, "time"));
      }
      previous_sha = sha;
      linked = true;
      expected = *position + 1;
      ++report.logs_checked;
    }
  }
  const uint64_t last = expected - 1;
  if (!to_the_end) {
    if (last < end) {
      problem("ledger entries " + std::to_string(expected) + " to " + std::to_string(end) +
              " are missing (deleted)");
    }
    return report;  // the window ends before the head
  }

  // 3. The head names the last entry; digests anchor nothing beyond it.
  auto head = ReadHead(store);
  if (!head.ok()) {
    problem(head.status().message());
  } else if (head->position != last || (last > 0 && head->sha256 != previous_sha)) {
    problem("the ledger's head names entry " + std::to_string(head->position) +
            " but the ledger ends at entry " + std::to_string(last) +
            " (entries deleted from its end, inserted, or the last one altered)");
  }
  for (const auto& [position, anchor] : anchors) {
    if (position > last) {
      problem("ledger entry " + std::to_string(position) + ", which digest " + anchor.digest +
              " signed, is missing (deleted)");
    }
  }
  if (last > covered) {
    report.undigested.push_back("ledger entries " + std::to_string(covered + 1) + " to " +
                                std::to_string(last));
    // Some node signs a digest every interval: entries older than that and still uncovered
    // mean digests were deleted (or every node stopped without its last digest).
    if (first_uncovered && *first_uncovered + digest_interval + kDigestSlack < now) {
      problem("ledger entries " + std::to_string(covered + 1) + " to " + std::to_string(last) +
              " are older than the digest interval, but no digest covers them: digests were "
              "deleted, or the nodes stopped without signing");
    }
  }
  return report;
}

namespace {

// The newest entry at or before `t`, at most `high`: entry times never run back along the chain,
// so a binary search finds it in a few reads, and a window far in the past is not reached by
// reading the ledger back from its head. Anything unexpected on the way (a missing or malformed
// entry) gives up the search: `high`, and the caller scans as before.
Result<uint64_t> NewestEntryAtOrBefore(store::MetadataStore& store, uint64_t high, TimePoint t) {
  store::ListOptions oldest;
  oldest.limit = 1;
  HANGAR_ASSIGN_OR_RETURN(auto first, store.List(kLedger, "", oldest));
  if (first.empty()) return high;
  const auto first_position = PositionOf(first.front().id);
  if (!first_position || *first_position > high) return high;
  uint64_t at_or_before = *first_position - 1;  // none yet
  uint64_t upper = high;
  while (at_or_before < upper) {
    const uint64_t middle = at_or_before + (upper - at_or_before + 1) / 2;
    HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kLedger, "", PositionId(middle)));
    auto entry = doc ? ParseEntry(doc->body) : std::nullopt;
    auto written = entry ? ParseIso8601(Str(entry->header, "time")) : std::nullopt;
    if (!written) return high;
    if (*written <= t) {
      at_or_before = middle;
    } else {
      upper = middle - 1;
    }
  }
  return at_or_before;
}

}  // namespace

Result<LookupPage> LookupLedger(store::MetadataStore& store, const LookupQuery& q) {
  HANGAR_ASSIGN_OR_RETURN(auto resume, ParseLookupToken(q, [](std::string_view chunk) {
                            return PositionOf(chunk).has_value();
                          }));
  HANGAR_ASSIGN_OR_RETURN(Head head, ReadHead(store));
  uint64_t high = head.position;
  if (resume) {
    high = std::min(high, *PositionOf(resume->first));
  } else if (q.end) {
    // A record is in an entry written after it, by a node whose clock may run a little ahead.
    HANGAR_ASSIGN_OR_RETURN(high, NewestEntryAtOrBefore(store, high, *q.end + kClockSlack));
  }
  LookupPage page;
  bool older_than_window = false;
  while (high >= 1 && !older_than_window) {
    const uint64_t low = high > kPage ? high - kPage + 1 : 1;
    store::ListOptions options;
    options.start_after = low > 1 ? PositionId(low - 1) : std::string();
    options.limit = high - low + 1;
    HANGAR_ASSIGN_OR_RETURN(auto docs, store.List(kLedger, "", options));
    for (auto it = docs.rbegin(); it != docs.rend(); ++it) {
      auto position = PositionOf(it->id);
      auto entry = ParseEntry(it->body);
      if (!position || *position > high || !entry) continue;
      auto written = ParseIso8601(Str(entry->header, "time"));
      if (q.start && written && *written + kClockSlack < *q.start) {
        older_than_window = true;  // every record of this entry and the ones before is older
        break;
      }
      std::vector<std::string_view> lines = RecordLines(entry->records);
      size_t line = lines.size();
      if (resume && it->id == resume->first) line = std::min(line, resume->second);
      while (line-- > 0) {
        if (!RecordSelected(lines[line], q)) continue;
        if (static_cast<int>(page.records.size()) == q.max_results) {
          page.next_token = LookupToken(q, it->id, line + 1);
          return page;
        }
        page.records.emplace_back(lines[line]);
      }
    }
    high = low - 1;
  }
  return page;
}

Status ForEachLedgerRecord(store::MetadataStore& store, std::optional<TimePoint> start,
                           std::optional<TimePoint> end,
                           const std::function<bool(std::string_view record)>& emit) {
  store::ListOptions options;
  options.limit = kPage;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto page, store.List(kLedger, "", options));
    if (page.empty()) return Status::Ok();
    options.start_after = page.back().id;
    for (const store::Document& d : page) {
      auto entry = ParseEntry(d.body);
      if (!entry) continue;
      for (std::string_view line : RecordLines(entry->records)) {
        if (start || end) {
          json record = json::parse(line, nullptr, false);
          auto t = record.is_object() ? ParseIso8601(Str(record, "eventTime")) : std::nullopt;
          if (!t || (start && *t < *start) || (end && *t > *end)) continue;
        }
        if (!emit(line)) return Status::Ok();
      }
    }
  }
}

}  // namespace hangar::audit
