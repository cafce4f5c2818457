#pragma once
// Message digests over OpenSSL EVP, incremental (for streams) and one-shot.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace hangar::crypto {

enum class DigestAlgorithm { kSha256, kSha1, kMd5 };

// Incremental digest. Not thread-safe; cheap to create.
class Digest {
 public:
  explicit Digest(DigestAlgorithm algorithm);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;

  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data);
  // Returns the raw digest; the object is spent afterwards.
  std::string Finish();
  size_t size() const;

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

using Sha256Bytes = std::array<uint8_t, 32>;

Sha256Bytes Sha256(std::span<const uint8_t> data);
Sha256Bytes Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
std::string Md5(std::string_view data);  // raw 16 bytes

}  // namespace hangar::crypto
