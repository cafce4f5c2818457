#pragma once
// KeyWriteLocks: makes this process's writers of one object key take turns.
//
// Object writes commit optimistically (read the current record, commit under its revision). With
// group commit, 32 PUTs to one key land in the same batch, one wins and 31 lose and retry; after
// kMaxCommitAttempts the last ones gave up with SlowDown although the key was written only a few
// hundred times a second. Holding the key for the read-check-commit sequence turns those races
// into a queue. Other processes (hangar admin, cluster nodes) still race, and the store's revision
// checks still decide; this only removes the needless losses inside one process.
//
// The lock is held across a metadata commit, which blocks the calling thread (never a fiber
// suspension), and is waited for at most `patience`: beyond that the caller answers SlowDown
// rather than tie up a worker thread for ever behind one hot key.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hangar::s3 {

class KeyWriteLocks {
  struct Entry {
    std::timed_mutex mutex;
    int users = 0;  // holders and waiters; protected by KeyWriteLocks::mu_
  };

 public:
  // Released on destruction.
  class Held {
   public:
    Held(KeyWriteLocks& locks, std::string name, std::shared_ptr<Entry> entry)
        : locks_(&locks), name_(std::move(name)), entry_(std::move(entry)) {}
    Held(Held&& other) noexcept = default;
    Held& operator=(Held&&) = delete;
    ~Held() {
      if (!entry_) return;
      entry_->mutex.unlock();
      locks_->Leave(name_);
    }

   private:
    KeyWriteLocks* locks_;
    std::string name_;
    std::shared_ptr<Entry> entry_;
  };

  // The key, once no other writer of this process holds it; nullopt after `patience`.
  std::optional<Held> Acquire(std::string_view bucket, std::string_view key,
                              std::chrono::milliseconds patience) {
    std::string name;
    name.reserve(bucket.size() + 1 + key.size());
    name.append(bucket).push_back('/');
    name.append(key);
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard lock(mu_);
      auto& slot = entries_[name];
      if (!slot) slot = std::make_shared<Entry>();
      ++slot->users;
      entry = slot;
    }
    if (!entry->mutex.try_lock_for(patience)) {
      Leave(name);
      return std::nullopt;
    }
    return Held(*this, std::move(name), std::move(entry));
  }

  size_t keys_in_use() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  void Leave(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(name);
    if (it != entries_.end() && --it->second->users == 0) entries_.erase(it);
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;  // protected by mu_
};

}  // namespace hangar::s3
