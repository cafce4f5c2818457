#pragma once
// Durable small-file helpers: what Hangar writes outside its stores (root key, credentials file).

#include <string>
#include <sys/types.h>

#include "common/result.h"

namespace hangar {

// Writes `data` to `path` so that after return it is durable and either fully old or fully new:
// a temp file of its own (mode `mode`, unique per call so concurrent writers never share one),
// fsync, rename, fsync of the directory.
Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode);
// Reads a whole file of at most `max_size` bytes. kNotFound-like errors carry the path.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_size);
bool FileExists(const std::string& path);
Status FsyncDirectory(const std::string& dir);
Status MakeDirectories(const std::string& dir, mode_t mode);

// An exclusive advisory lock on a file (flock), held until destruction or process exit. Used so
// that two servers never share one data directory.
class FileLock {
 public:
  // Creates `path` if needed and locks it without waiting; writes the holder's pid into it.
  // Errors: kConflict when another process holds the lock (the message names its pid);
  // kInternal when the file cannot be opened.
  static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace hangar
