#include "store/fs/fs_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/files.h"
#include "common/strings.h"
#include "crypto/random.h"

namespace hangar::store {
namespace {

constexpr size_t kIdBytes = 16;  // 128 random bits, 32 hex characters

Status Errno(const std::string& what, const std::string& path) {
  return InternalError(what + " " + path + ": " + std::strerror(errno));
}

class FsBlobWriter final : public BlobWriter {
 public:
  FsBlobWriter(std::string id, std::string path, std::string dir, int fd)
      : id_(std::move(id)), path_(std::move(path)), dir_(std::move(dir)), fd_(fd) {}
  ~FsBlobWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  Status Append(std::span<const char> data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot write blob", path_);
      }
      done += static_cast<size_t>(n);
    }
    size_ += data.size();
    return Status::Ok();
  }

  Result<std::string> Commit() override {
    if (::fsync(fd_) != 0) return Errno("cannot sync blob", path_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      return Errno("cannot close blob", path_);
    }
    fd_ = -1;
    // The directory entry must be durable too, or a crash could lose a file whose id is committed.
    HANGAR_RETURN_IF_ERROR(FsyncDirectory(dir_));
    committed_ = true;
    return id_;
  }

  uint64_t size() const override { return size_; }

 private:
  const std::string id_;
  const std::string path_;
  const std::string dir_;
  int fd_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

class FsBlobReader final : public BlobReader {
 public:
  FsBlobReader(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  ~FsBlobReader() override { ::close(fd_); }

  uint64_t size() const override { return size_; }

  Result<size_t> ReadAt(uint64_t offset, std::span<char> into) override {
    if (offset >= size_ || into.empty()) return size_t{0};
    for (;;) {
      ssize_t n = ::pread(fd_, into.data(), into.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot read blob", path_);
      }
      return static_cast<size_t>(n);
    }
  }

 private:
  const int fd_;
  const uint64_t size_;
  const std::string path_;
};

}  // namespace

FsBlobStore::FsBlobStore(std::string root)
    : root_(std::move(root)), staging_dir_(root_ + "/staging"), objects_dir_(root_ + "/objects") {}

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::OpenAt(const std::string& root) {
  std::unique_ptr<FsBlobStore> store(new FsBlobStore(root));
  HANGAR_RETURN_IF_ERROR(MakeDirectories(store->staging_dir_, 0700));
  HANGAR_RETURN_IF_ERROR(MakeDirectories(store->objects_dir_, 0700));
  return store;
}

bool FsBlobStore::IsBlobId(std::string_view id) {
  if (id.size() != 2 * kIdBytes) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string FsBlobStore::StagedPath(std::string_view id) const {
  return staging_dir_ + "/" + std::string(id);
}

std::string FsBlobStore::PublishedPath(std::string_view id) const {
  return objects_dir_ + "/" + std::string(id.substr(0, 2)) + "/" + std::string(id);
}

Result<std::unique_ptr<BlobWriter>> FsBlobStore::Create() {
  std::array<uint8_t, kIdBytes> raw{};
  crypto::RandomBytes(raw);
  return CreateWithId(HexEncode(std::span<const uint8_t>(raw)));
}

Result<std::unique_ptr<BlobWriter>> FsBlobStore::CreateWithId(std::string_view id) {
  if (!IsBlobId(id)) return InternalError("malformed blob id");
  if (FileExists(PublishedPath(id))) return InternalError("blob " + std::string(id) + " exists");
  std::string path = StagedPath(id);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create blob", path);
  return std::unique_ptr<BlobWriter>(
      std::make_unique<FsBlobWriter>(std::string(id), std::move(path), staging_dir_, fd));
}

Result<std::unique_ptr<BlobReader>> FsBlobStore::Open(std::string_view id) {
  if (!IsBlobId(id)) return InternalError("malformed blob id");
  // Published first (the common case), then staged (between metadata commit and publish).
  for (const std::string& path : {PublishedPath(id), StagedPath(id)}) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return Errno("cannot open blob", path);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Status s = Errno("cannot stat blob", path);
      ::close(fd);
      return s;
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<BlobReader>(
        std::make_unique<FsBlobReader>(fd, static_cast<uint64_t>(st.st_size), path));
  }
  return InternalError("blob missing: " + std::string(id));
}

Status FsBlobStore::Publish(std::string_view id) {
  if (!IsBlobId(id)) return InternalError("malformed blob id");
  std::string target = PublishedPath(id);
  std::string dir = objects_dir_ + "/" + std::string(id.substr(0, 2));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno("cannot create blob directory", dir);
  }
  if (::rename(StagedPath(id).c_str(), target.c_str()) != 0) {
    // Already published (recovery may run twice): fine.
    if (errno == ENOENT && FileExists(target)) return Status::Ok();
    return Errno("cannot publish blob", target);
  }
  return Status::Ok();
}

Status FsBlobStore::Delete(std::string_view id) {
  if (!IsBlobId(id)) return InternalError("malformed blob id");
  for (const std::string& path : {PublishedPath(id), StagedPath(id)}) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot delete blob", path);
  }
  return Status::Ok();
}

Status FsBlobStore::DeleteDurably(const std::vector<std::string>& ids) {
  std::set<std::string> directories;
  for (const std::string& id : ids) {
    HANGAR_RETURN_IF_ERROR(Delete(id));
    directories.insert(objects_dir_ + "/" + id.substr(0, 2));
  }
  if (!ids.empty()) directories.insert(staging_dir_);
  // An unlink is durable only once its directory is synced.
  for (const std::string& dir : directories) {
    if (!FileExists(dir)) continue;
    HANGAR_RETURN_IF_ERROR(FsyncDirectory(dir));
  }
  return Status::Ok();
}

Status FsBlobStore::ForEachPublished(
    const std::function<void(std::string_view id, TimePoint written)>& visit) {
  // One fan-out directory at a time, so memory stays small however many blobs there are.
  DIR* top = ::opendir(objects_dir_.c_str());
  if (top == nullptr) return Errno("cannot list", objects_dir_);
  std::vector<std::string> fan_out;
  while (dirent* entry = ::readdir(top)) {
    std::string_view name = entry->d_name;
    if (name.size() == 2 && IsBlobId(std::string(name) + std::string(2 * kIdBytes - 2, '0'))) {
      fan_out.emplace_back(name);
    }
  }
  ::closedir(top);
  for (const std::string& sub : fan_out) {
    const std::string dir_path = objects_dir_ + "/" + sub;
    DIR* dir = ::opendir(dir_path.c_str());
    if (dir == nullptr) continue;  // removed meanwhile
    std::vector<std::pair<std::string, TimePoint>> found;
    while (dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (!IsBlobId(name)) continue;
      struct stat st {};
      if (::fstatat(::dirfd(dir), entry->d_name, &st, 0) != 0) continue;
      const auto since_epoch = std::chrono::seconds(st.st_mtim.tv_sec) +
                               std::chrono::nanoseconds(st.st_mtim.tv_nsec);
      found.emplace_back(std::string(name),
                         TimePoint(std::chrono::duration_cast<TimePoint::duration>(since_epoch)));
    }
    ::closedir(dir);
    for (const auto& [id, written] : found) visit(id, written);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> FsBlobStore::ListStaged() {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(staging_dir_.c_str());
  if (dir == nullptr) return Errno("cannot list", staging_dir_);
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (IsBlobId(name)) ids.emplace_back(name);
  }
  ::closedir(dir);
  return ids;
}

}  // namespace hangar::store
