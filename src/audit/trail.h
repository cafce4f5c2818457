#pragma once
// AuditTrail: the audit records of one server, on disk in DATA_DIR/audit (layout: digest.h).
//
// Records are appended by a writer thread in batches (group commit): whatever queued while the
// previous batch was being written goes out in one write and one fdatasync, and only then are the
// batch's callers told their records are durable. One writer makes the largest batches, and on a
// fast disk the fewest syncs cost least (measured: bench/audit_bench.py); with more writers
// (--audit-writers) writes stay ordered (one at a time, under a lock) while syncs overlap, for
// disks whose sync is slow. A failed write fails the batch's callers (their requests are answered
// 503 instead of served) and makes Healthy() say why until a write succeeds.
// Every hour of the trail's clock, and at Close, the log file is closed and a signed digest lists
// the files closed since the previous one (digest.h). At Open, log files a crash left undigested
// get their torn last line (never acknowledged) cut and are listed by the next digest.
// A log file is zero-filled a step (1 MiB) ahead of its records and the records overwrite the
// fill, so a batch's fdatasync flushes data alone, not the file's size and block map (as a
// database's preallocated WAL segments); the fill is cut when the file is closed, and after a
// crash at the first NUL (records never hold one).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/digest.h"
#include "audit/sink.h"
#include "common/clock.h"
#include "crypto/digest.h"
#include "crypto/root_key.h"

namespace hangar::audit {

struct TrailOptions {
  std::string dir;         // DATA_DIR/audit
  std::string account_id;  // awsAccountId in the digests: the server's default account
  std::chrono::seconds digest_interval{3600};
  uint64_t max_log_bytes = 64ULL << 20;  // a log file is closed early when it grows beyond this
  // One writer makes the largest batches (fewest syncs); more overlap their syncs.
  int writer_threads = 1;
  // Digests (with the log files they list) whose window ended longer ago than this are removed
  // at the next digest; 0: kept for ever. The newest digest is always kept.
  std::chrono::seconds retention{0};
  // Told of every batch once it is written and synced (or failed): its records and how long the
  // write and sync took. For metrics; runs on the writer thread, so it must be quick.
  std::function<void(uint64_t records, double seconds, bool failed)> on_batch;
};

struct TrailStats {
  uint64_t records = 0;
  uint64_t batches = 0;
  uint64_t bytes = 0;
  uint64_t failed_batches = 0;
  uint64_t queue_depth = 0;
  double last_batch_ms = 0;  // write + fdatasync of the last batch
};

class AuditTrail final : public AuditSink {
 public:
  // Errors: kInternal (directory, key or recovery failed; the message says which file).
  static Result<std::unique_ptr<AuditTrail>> Open(TrailOptions options,
                                                  const crypto::RootKey& root_key,
                                                  const Clock& clock);
  ~AuditTrail() override;

  void Append(const AuditEvent& event, std::function<void(const Status&)> done) override;
  Status Healthy() const override;

  // Closes the current log file and signs a digest now, as the hourly timer does.
  Status DigestNow();
  // Writes what is queued, closes the log file and signs the final digest. Later appends fail.
  Status Close();

  TrailStats stats() const;
  const std::string& dir() const { return options_.dir; }

 private:
  struct Pending {
    std::string line;
    std::string event_time;
    std::function<void(const Status&)> done;
  };
  // A log file's descriptor, shared by the batches whose sync is still running on it.
  struct LogFd {
    explicit LogFd(int fd) : fd(fd) {}
    ~LogFd();
    const int fd;
  };
  struct OpenLog {
    OpenLog() : sha(crypto::DigestAlgorithm::kSha256) {}
    std::shared_ptr<LogFd> file;
    LogFileEntry entry;
    uint64_t bytes = 0;      // records written
    uint64_t allocated = 0;  // zero-filled ahead of them; cut at close
    crypto::Digest sha;
  };

  AuditTrail(TrailOptions options, std::unique_ptr<DigestKey> key, const Clock& clock);
  Status Recover();
  void WriterLoop();
  // Appends the batch to the log file (write_mu_ held); `written_to` receives the file to sync.
  Status AppendBatch(const std::vector<Pending>& batch, std::shared_ptr<LogFd>& written_to);
  // Answers the batch's callers, batches strictly in the order they were taken: a record's
  // outcome is known before that of any record queued after it.
  void FinishBatch(uint64_t sequence, std::vector<Pending>& batch, const Status& written,
                   double ms);
  void MaybeSignDigest(bool requested);
  Status OpenLogFile();
  void CloseLogFile();
  Status SignDigest();
  // Removes digests (and their log files) older than the retention period, after signing a
  // retention marker that names the first digest kept. Also finishes a cut a crash interrupted.
  Status ApplyRetention(TimePoint now);
  TimePoint NextDigestTime(TimePoint after) const;
  void SetHealth(const Status& status);

  const TrailOptions options_;
  const std::unique_ptr<DigestKey> key_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  uint64_t batches_taken_ = 0;
  uint64_t batches_finished_ = 0;
  std::condition_variable finished_;
  bool closed_ = false;
  bool digest_requested_ = false;
  std::condition_variable digest_done_;
  Status digest_result_;
  uint64_t digest_generation_ = 0;
  Status health_;
  TrailStats stats_;

  // The log file, its hash, the chain: under write_mu_ (taken after mu_ when both are needed).
  std::mutex write_mu_;
  std::condition_variable write_turn_;
  uint64_t batches_written_ = 0;
  std::optional<OpenLog> log_;
  std::vector<LogFileEntry> undigested_;
  std::optional<DigestLink> chain_head_;
  TimePoint chain_end_;
  TimePoint next_digest_at_;
  uint64_t next_log_sequence_ = 1;
  uint64_t next_digest_sequence_ = 1;

  std::vector<std::thread> writers_;
};

}  // namespace hangar::audit
