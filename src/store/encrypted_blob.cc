#include "store/encrypted_blob.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <vector>

#include "crypto/aead.h"
#include "crypto/hkdf.h"

namespace hangar::store {
namespace {

constexpr std::string_view kContentKeyInfo = "hangar-blob-content-v1";
constexpr size_t kStoredSegment = kSegmentSize + kSegmentTagSize;
// Segments read from the inner blob per call: fewer, larger reads for sequential GETs.
constexpr size_t kReadAheadSegments = 4;

std::array<uint8_t, 12> SegmentNonce(uint64_t index, bool final) {
  std::array<uint8_t, 12> nonce{};
  nonce[0] = final ? 1 : 0;
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
  return nonce;
}

Status AuthenticationFailed() {
  return InternalError("stored object data failed authentication");
}

class EncryptingWriter final : public BlobWriter {
 public:
  // Buffers grow with the data, so a small object costs a small allocation.
  EncryptingWriter(std::unique_ptr<BlobWriter> inner, SecretBytes key)
      : inner_(std::move(inner)), cipher_(key.span()) {}
  ~EncryptingWriter() override { OPENSSL_cleanse(plain_.data(), plain_.size()); }

  Status Append(std::span<const char> data) override {
    while (!data.empty()) {
      // A full buffer is sealed only once more data arrives: until then it might be the last.
      if (buffered_ == kSegmentSize) HANGAR_RETURN_IF_ERROR(SealBuffered(/*final=*/false));
      size_t n = std::min(data.size(), kSegmentSize - buffered_);
      if (plain_.size() < buffered_ + n) plain_.resize(std::min(kSegmentSize, std::max(2 * plain_.size(), buffered_ + n)));
      std::copy_n(reinterpret_cast<const uint8_t*>(data.data()), n, plain_.data() + buffered_);
      buffered_ += n;
      size_ += n;
      data = data.subspan(n);
    }
    return Status::Ok();
  }

  Result<std::string> Commit() override {
    if (size_ > 0) HANGAR_RETURN_IF_ERROR(SealBuffered(/*final=*/true));
    return inner_->Commit();
  }

  uint64_t size() const override { return size_; }

 private:
  Status SealBuffered(bool final) {
    if (sealed_.size() < buffered_ + kSegmentTagSize) sealed_.resize(buffered_ + kSegmentTagSize);
    std::span<const uint8_t> plain(plain_.data(), buffered_);
    cipher_.Seal(SegmentNonce(index_, final), plain, sealed_.data(), sealed_.data() + buffered_);
    ++index_;
    size_t n = buffered_ + kSegmentTagSize;
    buffered_ = 0;
    return inner_->Append(std::span<const char>(reinterpret_cast<const char*>(sealed_.data()), n));
  }

  std::unique_ptr<BlobWriter> inner_;
  crypto::AesGcmKey cipher_;
  std::vector<uint8_t> plain_;   // the segment being filled
  std::vector<uint8_t> sealed_;  // its ciphertext and tag
  size_t buffered_ = 0;
  uint64_t index_ = 0;
  uint64_t size_ = 0;
};

class DecryptingReader final : public BlobReader {
 public:
  // Buffers fit the object: a 4 KiB object reads through 4 KiB buffers, not 512 KiB ones.
  DecryptingReader(std::unique_ptr<BlobReader> inner, SecretBytes key, uint64_t plaintext_size)
      : inner_(std::move(inner)),
        cipher_(key.span()),
        size_(plaintext_size),
        segments_((plaintext_size + kSegmentSize - 1) / kSegmentSize),
        sealed_(static_cast<size_t>(
            std::min<uint64_t>(kReadAheadSegments * kStoredSegment, EncryptedSize(plaintext_size)))),
        plain_(static_cast<size_t>(
            std::min<uint64_t>(kReadAheadSegments * kSegmentSize, plaintext_size))) {}
  ~DecryptingReader() override { OPENSSL_cleanse(plain_.data(), plain_.size()); }

  uint64_t size() const override { return size_; }

  Result<size_t> ReadAt(uint64_t offset, std::span<char> into) override {
    if (offset >= size_ || into.empty()) return size_t{0};
    size_t done = 0;
    while (done < into.size() && offset + done < size_) {
      uint64_t position = offset + done;
      uint64_t segment = position / kSegmentSize;
      if (segment < first_cached_ || segment >= first_cached_ + cached_) {
        // Only the segments this read touches: a range must not depend on data outside it.
        uint64_t last = (offset + into.size() - 1) / kSegmentSize;
        HANGAR_RETURN_IF_ERROR(Load(segment, last - segment + 1));
      }
      uint64_t in_cache = position - first_cached_ * kSegmentSize;
      uint64_t available = cached_plain_ - in_cache;
      size_t n = static_cast<size_t>(std::min<uint64_t>(available, into.size() - done));
      std::copy_n(plain_.data() + in_cache, n, into.data() + done);
      done += n;
    }
    return done;
  }

 private:
  // Reads and decrypts `wanted` segments (at most kReadAheadSegments) starting at `first`.
  Status Load(uint64_t first, uint64_t wanted) {
    uint64_t count = std::min<uint64_t>({kReadAheadSegments, segments_ - first, wanted});
    uint64_t stored_offset = first * kStoredSegment;
    uint64_t stored_end = std::min<uint64_t>(EncryptedSize(size_), (first + count) * kStoredSegment);
    size_t want = static_cast<size_t>(stored_end - stored_offset);
    size_t got = 0;
    while (got < want) {
      HANGAR_ASSIGN_OR_RETURN(
          size_t n, inner_->ReadAt(stored_offset + got,
                                   std::span<char>(reinterpret_cast<char*>(sealed_.data()) + got,
                                                   want - got)));
      if (n == 0) return AuthenticationFailed();  // truncated
      got += n;
    }
    cached_ = 0;
    cached_plain_ = 0;
    size_t consumed = 0;
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t index = first + i;
      const bool final = index + 1 == segments_;
      const size_t plain_len =
          final ? static_cast<size_t>(size_ - index * kSegmentSize) : kSegmentSize;
      std::span<const uint8_t> ct(sealed_.data() + consumed, plain_len);
      std::span<const uint8_t> tag(sealed_.data() + consumed + plain_len, kSegmentTagSize);
      if (!cipher_.Open(SegmentNonce(index, final), ct, tag, plain_.data() + cached_plain_)) {
        cached_ = 0;
        return AuthenticationFailed();
      }
      consumed += plain_len + kSegmentTagSize;
      cached_plain_ += plain_len;
      ++cached_;
    }
    first_cached_ = first;
    return Status::Ok();
  }

  std::unique_ptr<BlobReader> inner_;
  crypto::AesGcmKey cipher_;
  const uint64_t size_;
  const uint64_t segments_;
  std::vector<uint8_t> sealed_;
  std::vector<uint8_t> plain_;
  uint64_t first_cached_ = 0;
  uint64_t cached_ = 0;        // segments in plain_
  uint64_t cached_plain_ = 0;  // bytes in plain_
};

}  // namespace

uint64_t EncryptedSize(uint64_t plaintext_size) {
  uint64_t segments = (plaintext_size + kSegmentSize - 1) / kSegmentSize;
  return plaintext_size + segments * kSegmentTagSize;
}

SecretBytes DeriveContentKey(std::span<const uint8_t> data_key, std::span<const uint8_t> salt) {
  return crypto::HkdfSha256(data_key, salt, kContentKeyInfo, 32);
}

std::unique_ptr<BlobWriter> MakeEncryptingWriter(std::unique_ptr<BlobWriter> inner,
                                                 SecretBytes content_key) {
  return std::make_unique<EncryptingWriter>(std::move(inner), std::move(content_key));
}

std::unique_ptr<BlobReader> MakeDecryptingReader(std::unique_ptr<BlobReader> inner,
                                                 SecretBytes content_key,
                                                 uint64_t plaintext_size) {
  return std::make_unique<DecryptingReader>(std::move(inner), std::move(content_key),
                                            plaintext_size);
}

}  // namespace hangar::store
