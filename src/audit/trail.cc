#include "audit/trail.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/files.h"
#include "common/strings.h"

namespace hangar::audit {
namespace {

namespace fs = std::filesystem;

// How long the writer sleeps when idle: the digest timer's resolution.
constexpr auto kIdleWake = std::chrono::milliseconds(500);

// Names in `dir` ending in `suffix`, sorted (our names sort in time and sequence order).
std::vector<std::string> ListNames(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(suffix) && SequenceOf(name)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Log files grow in zero-filled steps of this size ahead of the records (see OpenLog).
constexpr uint64_t kPreallocationStep = 1 << 20;

Status WriteAllAt(int fd, std::string_view data, uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return InternalError(std::string("write: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

// Where the records a crash left end: records never hold a NUL (JSON escapes control
// characters), so the first NUL (zero fill, or a page that never reached the disk) ends them;
// a torn last line (never acknowledged) goes too.
size_t WholeRecordsEnd(std::string_view text) {
  const size_t nul = text.find('\0');
  const size_t last_newline = text.substr(0, nul).rfind('\n');
  return last_newline == std::string_view::npos ? 0 : last_newline + 1;
}

std::string EventTimeOf(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("eventTime") || !j["eventTime"].is_string()) return {};
  return j["eventTime"].get<std::string>();
}

}  // namespace

Status AuditSink::Record(const AuditEvent& event) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  Append(event, [promise](const Status& s) { promise->set_value(s); });
  return future.get();
}

AuditTrail::AuditTrail(TrailOptions options, std::unique_ptr<DigestKey> key, const Clock& clock)
    : options_(std::move(options)), key_(std::move(key)), clock_(clock) {}

Result<std::unique_ptr<AuditTrail>> AuditTrail::Open(TrailOptions options,
                                                     const crypto::RootKey& root_key,
                                                     const Clock& clock) {
  for (const std::string& dir : {options.dir, options.dir + "/" + std::string(kLogsDir),
                                 options.dir + "/" + std::string(kDigestsDir)}) {
    HANGAR_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  }
  HANGAR_ASSIGN_OR_RETURN(auto key, DigestKey::Load(options.dir, root_key, true));
  std::unique_ptr<AuditTrail> trail(new AuditTrail(std::move(options), std::move(key), clock));
  HANGAR_RETURN_IF_ERROR(trail->Recover());
  for (int i = 0; i < std::max(1, trail->options_.writer_threads); ++i) {
    trail->writers_.emplace_back([t = trail.get()] { t->WriterLoop(); });
    pthread_setname_np(trail->writers_.back().native_handle(), "audit-writer");
  }
  return trail;
}

AuditTrail::~AuditTrail() {
  Status s = Close();
  if (!s.ok()) spdlog::error("audit trail: closing: {}", s.message());
}

TimePoint AuditTrail::NextDigestTime(TimePoint after) const {
  const int64_t interval_ms = options_.digest_interval.count() * 1000;
  const int64_t now_ms = ToUnixMillis(after);
  return FromUnixMillis((now_ms / interval_ms + 1) * interval_ms);
}

Status AuditTrail::Recover() {
  const std::string logs_dir = options_.dir + "/" + std::string(kLogsDir);
  const std::string digests_dir = options_.dir + "/" + std::string(kDigestsDir);
  uint64_t covered = 0;
  std::vector<std::string> digests = ListNames(digests_dir, ".json");
  if (!digests.empty()) {
    const std::string path = std::string(kDigestsDir) + "/" + digests.back();
    const std::string full = options_.dir + "/" + path;
    HANGAR_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(full, 64 << 20));
    auto digest = ParseDigest(text);
    if (!digest.ok()) {
      return InternalError("audit digest " + full + " is malformed: " + digest.status().message());
    }
    const std::string hash = crypto::Sha256Hex(text);
    std::string signature;
    auto sig_text = ReadSmallFile(full + ".sig", 4096);
    if (sig_text.ok()) {
      signature = SignatureText(*sig_text);
    } else {
      // The digest was written but not its signature (a crash between the two): sign it now.
      HANGAR_ASSIGN_OR_RETURN(signature, key_->SignHex(DigestStringToSign(*digest, hash)));
      HANGAR_RETURN_IF_ERROR(WriteFileAtomically(full + ".sig", signature + "\n", 0600));
    }
    chain_head_ = DigestLink{path, hash, signature};
    chain_end_ = digest->end;
    covered = digest->log_sequence_end;
    next_digest_sequence_ = *SequenceOf(digests.back()) + 1;
  } else {
    chain_end_ = clock_.Now();
  }
  // Log files after the last digest: written before a crash (or a failed final digest). Records
  // in a torn last line were never acknowledged; cut them so the file ends on a whole record.
  for (const std::string& name : ListNames(logs_dir, ".jsonl")) {
    const uint64_t sequence = *SequenceOf(name);
    next_log_sequence_ = std::max(next_log_sequence_, sequence + 1);
    if (sequence <= covered) continue;
    const std::string full = logs_dir + "/" + name;
    HANGAR_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(full, 1ULL << 34));
    const size_t keep = WholeRecordsEnd(text);
    if (keep != text.size()) {
      spdlog::warn("audit trail: {} ends in zero fill or a torn record ({} bytes, never "
                   "acknowledged); cut", full, text.size() - keep);
      if (::truncate(full.c_str(), static_cast<off_t>(keep)) != 0) {
        return InternalError("cannot cut the torn end of " + full + ": " + std::strerror(errno));
      }
      text.resize(keep);
      int fd = ::open(full.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
      }
    }
    LogFileEntry entry{std::string(kLogsDir) + "/" + name, crypto::Sha256Hex(text), "", ""};
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      std::string time = EventTimeOf(std::string_view(text).substr(start, end - start));
      if (!time.empty()) {
        if (entry.oldest_event_time.empty() || time < entry.oldest_event_time) {
          entry.oldest_event_time = time;
        }
        entry.newest_event_time = std::max(entry.newest_event_time, time);
      }
      start = end + 1;
    }
    undigested_.push_back(std::move(entry));
  }
  next_digest_at_ = NextDigestTime(clock_.Now());
  // A retention cut a crash interrupted is finished before anything new is written.
  return ApplyRetention(clock_.Now());
}

void AuditTrail::Append(const AuditEvent& event, std::function<void(const Status&)> done) {
  Pending pending{ToCloudTrailJson(event), FormatIso8601(event.event_time, false), std::move(done)};
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(pending));
      stats_.queue_depth = queue_.size();
      wake_.notify_one();
      return;
    }
  }
  pending.done(Error(ErrorCode::kAuditUnavailable,
                     "The audit trail is closed; the request was not served."));
}

Status AuditTrail::Healthy() const {
  std::lock_guard lock(mu_);
  return health_;
}

void AuditTrail::SetHealth(const Status& status) {
  std::lock_guard lock(mu_);
  if (status.ok() && !health_.ok()) spdlog::info("audit trail: writing again");
  if (!status.ok() && health_.ok()) spdlog::error("audit trail: {}", status.message());
  health_ = status.ok() ? Status::Ok() : TrailUnavailable(status);
}

TrailStats AuditTrail::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

AuditTrail::LogFd::~LogFd() { ::close(fd); }

void AuditTrail::WriterLoop() {
  for (;;) {
    std::vector<Pending> batch;
    uint64_t sequence = 0;
    bool digest_requested = false;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kIdleWake,
                     [&] { return !queue_.empty() || stopping_ || digest_requested_; });
      batch.swap(queue_);
      if (!batch.empty()) sequence = batches_taken_++;
      stats_.queue_depth = 0;
      digest_requested = digest_requested_;
      digest_requested_ = false;
      stopping = stopping_;
    }
    if (!batch.empty()) {
      const auto started = std::chrono::steady_clock::now();
      std::shared_ptr<LogFd> written_to;
      Status written;
      {
        // Batches are written in the order they were taken (a later one may not overtake).
        std::unique_lock write_lock(write_mu_);
        write_turn_.wait(write_lock, [&] { return batches_written_ == sequence; });
        written = AppendBatch(batch, written_to);
        ++batches_written_;
        write_turn_.notify_all();
      }
      // Outside the lock: the next batch is written while this one syncs.
      if (written.ok() && ::fdatasync(written_to->fd) != 0) {
        written = InternalError(std::string("fdatasync: ") + std::strerror(errno));
      }
      FinishBatch(sequence, batch, written,
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                            started)
                      .count());
    }
    MaybeSignDigest(digest_requested);
    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
    }
  }
}

void AuditTrail::FinishBatch(uint64_t sequence, std::vector<Pending>& batch,
                             const Status& written, double ms) {
  {
    std::unique_lock lock(mu_);
    finished_.wait(lock, [&] { return batches_finished_ == sequence; });
  }
  SetHealth(written);
  {
    std::lock_guard lock(mu_);
    ++stats_.batches;
    stats_.last_batch_ms = ms;
    if (written.ok()) {
      stats_.records += batch.size();
    } else {
      ++stats_.failed_batches;
    }
  }
  if (options_.on_batch) options_.on_batch(batch.size(), ms / 1000, !written.ok());
  const Status answer = written.ok() ? Status::Ok()
                                     : Error(ErrorCode::kAuditUnavailable,
                                             "The audit trail cannot be written (" +
                                                 written.message() +
                                                 "); the request was not served.");
  for (Pending& p : batch) p.done(answer);
  std::lock_guard lock(mu_);
  ++batches_finished_;
  finished_.notify_all();
}

void AuditTrail::MaybeSignDigest(bool requested) {
  Status signed_digest;
  bool signed_now = false;
  {
    std::lock_guard write_lock(write_mu_);
    if (requested || clock_.Now() >= next_digest_at_) {
      signed_digest = SignDigest();
      signed_now = true;
    }
  }
  if (signed_now && !signed_digest.ok()) SetHealth(signed_digest);
  if (requested) {
    std::lock_guard lock(mu_);
    digest_result_ = signed_digest;
    ++digest_generation_;
    digest_done_.notify_all();
  }
}

Status AuditTrail::OpenLogFile() {
  const TimePoint now = clock_.Now();
  const uint64_t sequence = next_log_sequence_++;
  const std::string relative = std::string(kLogsDir) + "/" + LogFileName(now, sequence);
  const std::string full = options_.dir + "/" + relative;
  int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return InternalError("cannot create " + full + ": " + std::strerror(errno));
  // The file's name must be durable before any record in it is acknowledged.
  if (Status s = FsyncDirectory(options_.dir + "/" + std::string(kLogsDir)); !s.ok()) {
    ::close(fd);
    return s;
  }
  log_.emplace();
  log_->file = std::make_shared<LogFd>(fd);
  log_->entry.path = relative;
  return Status::Ok();
}

void AuditTrail::CloseLogFile() {
  if (!log_) return;
  // The zero fill goes, and every byte the digest will vouch for is durable first (a batch's own
  // sync may still run).
  if (::ftruncate(log_->file->fd, static_cast<off_t>(log_->bytes)) != 0) {
    spdlog::error("audit trail: cannot cut the zero fill of {}", log_->entry.path);
  }
  if (::fdatasync(log_->file->fd) != 0) {
    spdlog::error("audit trail: fdatasync of {} before closing it failed", log_->entry.path);
  }
  log_->entry.sha256_hex = HexEncode(log_->sha.Finish());
  undigested_.push_back(std::move(log_->entry));
  log_.reset();
}

Status AuditTrail::AppendBatch(const std::vector<Pending>& batch,
                               std::shared_ptr<LogFd>& written_to) {
  if (!log_) HANGAR_RETURN_IF_ERROR(OpenLogFile());
  std::string buffer;
  size_t total = 0;
  for (const Pending& p : batch) total += p.line.size() + 1;
  buffer.reserve(total);
  for (const Pending& p : batch) {
    buffer += p.line;
    buffer += '\n';
  }
  Status written = Status::Ok();
  const uint64_t end = log_->bytes + buffer.size();
  if (end > log_->allocated) {
    // Zero-fill the next step first: the records then overwrite allocated blocks, so a batch's
    // fdatasync flushes data alone, not the file's size and block map as an append would.
    static const std::string kZeros(kPreallocationStep, '\0');
    const uint64_t target = (end / kPreallocationStep + 1) * kPreallocationStep;
    for (uint64_t at = log_->allocated; written.ok() && at < target; at += kPreallocationStep) {
      written = WriteAllAt(log_->file->fd, kZeros, at);
    }
    if (written.ok()) log_->allocated = target;
  }
  if (written.ok()) written = WriteAllAt(log_->file->fd, buffer, log_->bytes);
  if (!written.ok()) {
    // Take back what reached the file, so that its hash matches its records; then start afresh.
    if (::ftruncate(log_->file->fd, static_cast<off_t>(log_->bytes)) != 0) {
      spdlog::error("audit trail: cannot cut a failed batch from {}", log_->entry.path);
    }
    CloseLogFile();
    return written;
  }
  written_to = log_->file;
  log_->sha.Update(buffer);
  log_->bytes += buffer.size();
  for (const Pending& p : batch) {
    LogFileEntry& e = log_->entry;
    if (e.oldest_event_time.empty() || p.event_time < e.oldest_event_time) {
      e.oldest_event_time = p.event_time;
    }
    e.newest_event_time = std::max(e.newest_event_time, p.event_time);
  }
  {
    std::lock_guard lock(mu_);
    stats_.bytes += buffer.size();
  }
  if (log_->bytes >= options_.max_log_bytes) CloseLogFile();
  return Status::Ok();
}

Status AuditTrail::SignDigest() {
  CloseLogFile();
  const TimePoint now = std::max(clock_.Now(), chain_end_);
  Digest digest;
  digest.account_id = options_.account_id;
  digest.start = chain_end_;
  digest.end = now;
  digest.path = std::string(kDigestsDir) + "/" + DigestFileName(now, next_digest_sequence_);
  digest.key_fingerprint = key_->fingerprint();
  digest.previous = chain_head_;
  digest.logs = undigested_;
  digest.log_sequence_end = next_log_sequence_ - 1;
  const std::string text = DigestJson(digest);
  const std::string hash = crypto::Sha256Hex(text);
  HANGAR_ASSIGN_OR_RETURN(std::string signature,
                          key_->SignHex(DigestStringToSign(digest, hash)));
  const std::string full = options_.dir + "/" + digest.path;
  HANGAR_RETURN_IF_ERROR(WriteFileAtomically(full, text, 0600));
  HANGAR_RETURN_IF_ERROR(WriteFileAtomically(full + ".sig", signature + "\n", 0600));
  chain_head_ = DigestLink{digest.path, hash, signature};
  chain_end_ = now;
  undigested_.clear();
  ++next_digest_sequence_;
  next_digest_at_ = NextDigestTime(now);
  return ApplyRetention(now);
}

Status AuditTrail::ApplyRetention(TimePoint now) {
  const std::string digests_dir = options_.dir + "/" + std::string(kDigestsDir);
  const std::string marker_path = digests_dir + "/" + std::string(kRetentionMarker);
  std::vector<std::string> names = ListNames(digests_dir, ".json");
  // The first digest kept: the oldest whose window ended within the retention period (the
  // newest is always kept); with a marker from an interrupted cut, at least the one it names.
  size_t first_kept = 0;
  if (options_.retention.count() > 0 && names.size() > 1) {
    while (first_kept + 1 < names.size()) {
      auto end = TimeOf(names[first_kept]);
      if (!end || *end >= now - options_.retention) break;
      ++first_kept;
    }
  }
  if (auto marker = ReadSmallFile(marker_path, 64 * 1024); marker.ok()) {
    auto cut = ParseRetention(*marker);
    if (cut.ok()) {
      const std::string first = cut->first_digest.substr(std::string(kDigestsDir).size() + 1);
      while (first_kept < names.size() && names[first_kept] < first) ++first_kept;
    }
  }
  if (first_kept == 0) return Status::Ok();
  // 1. The marker: the kept chain's first link, signed, before anything is removed.
  const std::string first_name = names[first_kept];
  HANGAR_ASSIGN_OR_RETURN(std::string first_text,
                          ReadSmallFile(digests_dir + "/" + first_name, 64 << 20));
  HANGAR_ASSIGN_OR_RETURN(Digest first, ParseDigest(first_text));
  if (first.previous) {
    RetentionCut cut{now, std::string(kDigestsDir) + "/" + first_name, *first.previous};
    const std::string text = RetentionJson(cut);
    HANGAR_ASSIGN_OR_RETURN(std::string signature,
                            key_->SignHex(RetentionStringToSign(crypto::Sha256Hex(text))));
    HANGAR_RETURN_IF_ERROR(WriteFileAtomically(marker_path, text, 0600));
    HANGAR_RETURN_IF_ERROR(WriteFileAtomically(marker_path + ".sig", signature + "\n", 0600));
  }
  // 2. The expired digests and the log files they list, oldest first.
  for (size_t i = 0; i < first_kept; ++i) {
    const std::string full = digests_dir + "/" + names[i];
    auto text = ReadSmallFile(full, 64 << 20);
    if (text.ok()) {
      if (auto digest = ParseDigest(*text); digest.ok()) {
        for (const LogFileEntry& log : digest->logs) {
          ::unlink((options_.dir + "/" + log.path).c_str());
        }
      }
    }
    ::unlink((full + ".sig").c_str());
    ::unlink(full.c_str());
  }
  HANGAR_RETURN_IF_ERROR(FsyncDirectory(options_.dir + "/" + std::string(kLogsDir)));
  HANGAR_RETURN_IF_ERROR(FsyncDirectory(digests_dir));
  spdlog::info("audit trail: retention removed {} digests (and their log files) before {}",
               first_kept, first_name);
  return Status::Ok();
}

Status AuditTrail::DigestNow() {
  std::unique_lock lock(mu_);
  if (closed_) return Error(ErrorCode::kAuditUnavailable, "The audit trail is closed.");
  const uint64_t generation = digest_generation_;
  digest_requested_ = true;
  wake_.notify_one();
  digest_done_.wait(lock, [&] { return digest_generation_ != generation; });
  return digest_result_;
}

Status AuditTrail::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    stopping_ = true;
    wake_.notify_one();
  }
  for (std::thread& writer : writers_) writer.join();
  std::lock_guard write_lock(write_mu_);
  return SignDigest();
}

}  // namespace hangar::audit
