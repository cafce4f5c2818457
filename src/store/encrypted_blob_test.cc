#include "store/encrypted_blob.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "crypto/random.h"
#include "store/fs/fs_blob_store.h"

namespace hangar::store {
namespace {

class EncryptedBlobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-enc-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    store_ = std::move(*FsBlobStore::OpenAt(dir_.string()));
    key_ = crypto::RandomSecret(32);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& data, size_t piece) {
    auto writer = MakeEncryptingWriter(std::move(*store_->Create()), key_.Clone());
    for (size_t off = 0; off < data.size(); off += piece) {
      size_t n = std::min(piece, data.size() - off);
      EXPECT_TRUE(writer->Append(std::span<const char>(data.data() + off, n)).ok());
    }
    EXPECT_EQ(writer->size(), data.size());
    auto id = writer->Commit();
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(store_->Publish(*id).ok());
    return *id;
  }
  Result<std::string> Read(const std::string& id, uint64_t size, uint64_t offset, size_t length,
                           size_t piece) {
    auto reader = MakeDecryptingReader(std::move(*store_->Open(id)), key_.Clone(), size);
    std::string out;
    std::vector<char> buf(piece);
    while (out.size() < length) {
      size_t want = std::min(piece, length - out.size());
      HANGAR_ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset + out.size(),
                                                       std::span<char>(buf.data(), want)));
      if (n == 0) break;
      out.append(buf.data(), n);
    }
    return out;
  }
  std::filesystem::path PathOf(const std::string& id) {
    return dir_ / "objects" / id.substr(0, 2) / id;
  }

  std::filesystem::path dir_;
  std::unique_ptr<FsBlobStore> store_;
  SecretBytes key_;
};

TEST_F(EncryptedBlobTest, RoundTripsRandomSizesAndRangesAcrossSegmentBoundaries) {
  std::mt19937_64 rng(11);
  const std::vector<size_t> sizes = {1, 100, kSegmentSize - 1, kSegmentSize, kSegmentSize + 1,
                                     3 * kSegmentSize, 5 * kSegmentSize + 12345};
  for (size_t size : sizes) {
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    std::string id = Write(data, 1 + rng() % 100000);
    EXPECT_EQ(std::filesystem::file_size(PathOf(id)), EncryptedSize(size));
    EXPECT_EQ(*Read(id, size, 0, size, 1 + rng() % 300000), data) << size;
    for (int i = 0; i < 20; ++i) {
      uint64_t first = rng() % size;
      size_t length = 1 + rng() % (size - first);
      auto part = Read(id, size, first, length, 1 + rng() % 70000);
      ASSERT_TRUE(part.ok());
      EXPECT_EQ(*part, data.substr(first, length)) << size << " @" << first << "+" << length;
    }
  }
}

TEST_F(EncryptedBlobTest, StoredBytesDoNotContainThePlaintext) {
  std::string marker = "PLAINTEXT-MARKER-";
  std::string data;
  while (data.size() < 3 * kSegmentSize) data += marker;
  std::string id = Write(data, 4096);
  std::ifstream in(PathOf(id), std::ios::binary);
  std::string stored((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(stored.find(marker), std::string::npos);
}

TEST_F(EncryptedBlobTest, AnyFlippedByteFailsAndNeverReturnsWrongBytes) {
  std::string data(2 * kSegmentSize + 500, 'd');
  std::string id = Write(data, 65536);
  const uint64_t stored = EncryptedSize(data.size());
  std::mt19937_64 rng(5);
  for (int i = 0; i < 40; ++i) {
    uint64_t at = i < 3 ? stored - 1 - static_cast<uint64_t>(i) : rng() % stored;
    std::fstream f(PathOf(id), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x40));
    f.close();
    auto all = Read(id, data.size(), 0, data.size(), 100000);
    EXPECT_FALSE(all.ok()) << "flip at " << at;
    // Restore.
    f.open(PathOf(id), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(c);
  }
  EXPECT_EQ(*Read(id, data.size(), 0, data.size(), 100000), data);
}

TEST_F(EncryptedBlobTest, ARangeReadsOnlyTheSegmentsItTouches) {
  std::string data(4 * kSegmentSize, 'r');
  std::string id = Write(data, kSegmentSize);
  {
    // Corrupt segment 2.
    std::fstream f(PathOf(id), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(2 * (kSegmentSize + kSegmentTagSize) + 10));
    f.put('X');
  }
  EXPECT_EQ(*Read(id, data.size(), 0, kSegmentSize, kSegmentSize), data.substr(0, kSegmentSize));
  EXPECT_EQ(*Read(id, data.size(), 3 * kSegmentSize + 5, 100, 100), data.substr(0, 100));
  EXPECT_FALSE(Read(id, data.size(), 2 * kSegmentSize, 1, 1).ok());
  EXPECT_FALSE(Read(id, data.size(), kSegmentSize, 2 * kSegmentSize, 2 * kSegmentSize).ok());
}

TEST_F(EncryptedBlobTest, TruncationAndSwappedSegmentsAreDetected) {
  std::string data;
  for (int s = 0; s < 3; ++s) data += std::string(kSegmentSize, static_cast<char>('a' + s));
  std::string id = Write(data, kSegmentSize);
  const auto path = PathOf(id);
  std::string stored;
  {
    std::ifstream in(path, std::ios::binary);
    stored.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  const size_t seg = kSegmentSize + kSegmentTagSize;
  // Swap segments 0 and 1.
  std::string swapped = stored.substr(seg, seg) + stored.substr(0, seg) + stored.substr(2 * seg);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << swapped;
  EXPECT_FALSE(Read(id, data.size(), 0, data.size(), 100000).ok());
  // Drop the last segment and claim a two-segment object: its last segment was not final.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << stored.substr(0, 2 * seg);
  EXPECT_FALSE(Read(id, 2 * kSegmentSize, 0, 2 * kSegmentSize, 100000).ok());
  // A shorter file than the metadata says.
  EXPECT_FALSE(Read(id, data.size(), 0, data.size(), 100000).ok());
}

TEST_F(EncryptedBlobTest, AnotherKeyCannotRead) {
  std::string id = Write("secret", 6);
  key_ = crypto::RandomSecret(32);
  EXPECT_FALSE(Read(id, 6, 0, 6, 6).ok());
}

TEST_F(EncryptedBlobTest, ContentKeysDifferPerSalt) {
  SecretBytes data_key = crypto::RandomSecret(32);
  SecretBytes a = DeriveContentKey(data_key.span(), AsBytes("salt-a"));
  SecretBytes b = DeriveContentKey(data_key.span(), AsBytes("salt-b"));
  EXPECT_NE(AsStringView(a.span()), AsStringView(b.span()));
  EXPECT_EQ(a.size(), 32u);
}

}  // namespace
}  // namespace hangar::store
