#pragma once
// SecretBytes: key material in memory. Move-only, wiped with OPENSSL_cleanse on destruction, and
// deliberately without a stream operator or ToString so it cannot reach a log by accident.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace hangar {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size) {}
  explicit SecretBytes(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  ~SecretBytes() { Wipe(); }

  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      bytes_ = std::move(other.bytes_);
      other.bytes_.clear();
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // An explicit copy, so every duplication of key material is visible in the code.
  SecretBytes Clone() const { return SecretBytes(span()); }

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  std::span<const uint8_t> span() const { return {bytes_.data(), bytes_.size()}; }
  std::span<uint8_t> mutable_span() { return {bytes_.data(), bytes_.size()}; }

 private:
  void Wipe();
  std::vector<uint8_t> bytes_;
};

// Views bytes of a string as uint8_t (no copy).
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsStringView(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace hangar
