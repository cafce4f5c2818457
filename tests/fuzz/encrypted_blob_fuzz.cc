// The SSE segment format (src/store/encrypted_blob.h, docs/sse-format.md): a decrypting reader
// over hostile bytes must fail cleanly, and an authentic blob must read back exactly.
//
// Input: byte 0 picks the mode.
//   even: bytes 1-6 are the plaintext size the metadata claims (little-endian, below 2^46, about
//         the largest multipart object), bytes 7-12 two read positions, the rest the stored blob.
//         The blob is read at both positions and then from the start, under kContentKey. Seeds
//         are blobs written under that key, so mutations start from blobs that verify.
//   odd:  the rest, repeated to ((byte 0 >> 1) % 4) * 40000 more bytes (up to 3 segments), is
//         written through the encrypting writer in appends of sizes around the segment size; it
//         must read back exactly, in full and by ranges, and a flipped bit, a truncated blob or a
//         wrong size must make every read of the segments concerned fail, while the other
//         segments still read.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "crypto/digest.h"
#include "store/encrypted_blob.h"

namespace {

using namespace hangar;

void Fail(const char* what) {
  std::fprintf(stderr, "encrypted_blob_fuzz: %s\n", what);
  std::abort();
}

SecretBytes ContentKey() {
  static const crypto::Sha256Bytes key =
      crypto::Sha256(std::string_view("hangar fuzz content key"));
  return SecretBytes(std::span<const uint8_t>(key));
}

// The stored bytes in memory: what FsBlobStore keeps in a file.
class MemoryBlob final : public store::BlobReader {
 public:
  explicit MemoryBlob(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<char> into) override {
    if (offset >= bytes_.size()) return size_t{0};
    const size_t n = std::min<uint64_t>(into.size(), bytes_.size() - offset);
    std::copy_n(bytes_.data() + offset, n, into.data());
    return n;
  }

 private:
  std::string_view bytes_;
};

class MemoryWriter final : public store::BlobWriter {
 public:
  explicit MemoryWriter(std::string& out) : out_(out) {}
  Status Append(std::span<const char> data) override {
    out_.append(data.data(), data.size());
    return Status::Ok();
  }
  Result<std::string> Commit() override { return std::string("memory"); }
  uint64_t size() const override { return out_.size(); }

 private:
  std::string& out_;
};

std::unique_ptr<store::BlobReader> Reader(std::string_view stored, uint64_t plaintext_size) {
  return store::MakeDecryptingReader(std::make_unique<MemoryBlob>(stored), ContentKey(),
                                     plaintext_size);
}

// Reads [offset, offset + length) until done or an error; the error, or the bytes.
Result<std::string> ReadRange(store::BlobReader& reader, uint64_t offset, size_t length) {
  std::string out(length, '\0');
  size_t done = 0;
  while (done < length) {
    HANGAR_ASSIGN_OR_RETURN(
        size_t n, reader.ReadAt(offset + done, std::span<char>(out.data() + done, length - done)));
    if (n == 0) break;
    if (n > length - done) Fail("ReadAt returned more than asked for");
    done += n;
  }
  out.resize(done);
  return out;
}

uint64_t LittleEndian(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

void DecryptHostile(const uint8_t* data, size_t size) {
  if (size < 13) return;
  const uint64_t claimed = LittleEndian(data + 1, 6) & ((uint64_t{1} << 46) - 1);
  const uint64_t first = LittleEndian(data + 7, 3);
  const uint64_t second = LittleEndian(data + 10, 3);
  const std::string_view stored(reinterpret_cast<const char*>(data) + 13, size - 13);
  auto reader = Reader(stored, claimed);
  if (reader->size() != claimed) Fail("size() is not the claimed plaintext size");
  (void)ReadRange(*reader, first, 4096);
  (void)ReadRange(*reader, second, 70000);
  (void)ReadRange(*reader, 0, static_cast<size_t>(std::min<uint64_t>(claimed, 1 << 20)));
}

void RoundTrip(const uint8_t* data, size_t size) {
  const std::string_view seed(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string plaintext(seed);
  const size_t extra = static_cast<size_t>((data[0] >> 1) % 4) * 40000;
  if (seed.empty()) plaintext = "\x01";
  while (plaintext.size() < seed.size() + extra) plaintext += plaintext.substr(0, extra);
  plaintext.resize(seed.size() + extra);
  const uint64_t length = plaintext.size();

  // Appends that end just before, on and just after segment boundaries, starting where the
  // input's size says.
  static constexpr size_t kAppendSizes[] = {1, 7, 4096, 65535, 1, 65537, 13, 65536};
  std::string stored;
  {
    auto writer = store::MakeEncryptingWriter(std::make_unique<MemoryWriter>(stored), ContentKey());
    for (size_t at = 0, i = size; at < length; ++i) {
      const size_t n = std::min<size_t>(kAppendSizes[i % std::size(kAppendSizes)], length - at);
      if (!writer->Append(std::span<const char>(plaintext.data() + at, n)).ok()) Fail("Append");
      at += n;
    }
    if (writer->size() != length) Fail("the writer miscounted the plaintext");
    if (!writer->Commit().ok()) Fail("Commit");
  }
  if (stored.size() != store::EncryptedSize(length)) Fail("stored size is not EncryptedSize()");

  auto reader = Reader(stored, length);
  Result<std::string> whole = ReadRange(*reader, 0, length);
  if (!whole.ok() || *whole != plaintext) Fail("an authentic blob did not read back");
  if (length == 0) return;
  const uint64_t middle = length / 2;
  Result<std::string> range = ReadRange(*Reader(stored, length), middle, 1000);
  if (!range.ok() || *range != plaintext.substr(middle, 1000)) Fail("a range read back wrong");

  // One flipped bit: its segment fails, every other segment still reads.
  const uint64_t segments = (length + store::kSegmentSize - 1) / store::kSegmentSize;
  const size_t stored_segment = store::kSegmentSize + store::kSegmentTagSize;
  const uint64_t bit = (size * 2654435761u + data[size - 1]) % (stored.size() * 8);
  std::string tampered = stored;
  tampered[bit / 8] = static_cast<char>(tampered[bit / 8] ^ (1 << (bit % 8)));
  const uint64_t bad = bit / 8 / stored_segment;
  for (uint64_t s = 0; s < segments; ++s) {
    const uint64_t offset = s * store::kSegmentSize;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(store::kSegmentSize, length - offset));
    Result<std::string> got = ReadRange(*Reader(tampered, length), offset, n);
    if (s == bad && got.ok()) Fail("a tampered segment was read");
    if (s != bad && (!got.ok() || *got != plaintext.substr(offset, n))) {
      Fail("an intact segment beside a tampered one did not read");
    }
  }

  // The last segment of a truncated blob, or under a wrong size, never reads.
  const uint64_t last = (segments - 1) * store::kSegmentSize;
  const std::string_view truncated = std::string_view(stored).substr(0, stored.size() - 1);
  if (ReadRange(*Reader(truncated, length), last, length - last).ok()) {
    Fail("a truncated blob was read");
  }
  if (ReadRange(*Reader(stored, length - 1), last, length - 1 - last).ok() && length - 1 > last) {
    Fail("a blob was read under a smaller size");
  }
  if (ReadRange(*Reader(stored, length + 1), last, length + 1 - last).ok()) {
    Fail("a blob was read under a larger size");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    DecryptHostile(data, size);
  } else {
    RoundTrip(data, size);
  }
  return 0;
}
