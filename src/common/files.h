#pragma once
// Durable small-file helpers: what Hangar writes outside its stores (root key, credentials file).

#include <string>
#include <sys/types.h>

#include "common/result.h"

namespace hangar {

// Writes `data` to `path` so that after return it is durable and either fully old or fully new:
// temp file (mode `mode`), fsync, rename, fsync of the directory.
Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode);
// Reads a whole file of at most `max_size` bytes. kNotFound-like errors carry the path.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_size);
bool FileExists(const std::string& path);
Status FsyncDirectory(const std::string& dir);
Status MakeDirectories(const std::string& dir, mode_t mode);

}  // namespace hangar
