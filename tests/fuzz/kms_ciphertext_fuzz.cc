// The KMS ciphertext blob (src/kms/ciphertext.h, docs/kms-ciphertext.md).
//
// Input: byte 0 picks the mode.
//   even: the rest is a blob, opened as Decrypt would open it: PeekCiphertext, then
//         OpenCiphertext under kMaterial with the encryption context {"purpose": "fuzz"}. Seeds
//         are blobs sealed that way, so mutations start from blobs that open.
//   odd:  the rest is a plaintext (up to 4096 bytes, KMS's limit), sealed and opened again; the
//         round trip must give it back, and the blob with one bit flipped (chosen by the input)
//         must not open.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kms/ciphertext.h"

namespace {

using namespace hangar;

constexpr std::string_view kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
// A fixed 32-byte key material (bytes 0x00..0x1f): the seeds were sealed under it.
// clang-format off
constexpr std::array<uint8_t, 32> kMaterial = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
// clang-format on

void Fail(const char* what) {
  std::fprintf(stderr, "kms_ciphertext_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const kms::EncryptionContext context = {{"purpose", "fuzz"}};

  if ((data[0] & 1) == 0) {
    if (!kms::PeekCiphertext(rest).ok()) return 0;
    (void)kms::OpenCiphertext(rest, kMaterial, context);
    (void)kms::OpenCiphertext(rest, kMaterial, {});
    return 0;
  }

  const std::string_view plaintext = rest.substr(0, 4096);
  const uint32_t version = data[0] >> 1;
  std::string blob =
      kms::SealCiphertext(kKeyId, version, kMaterial,
                          std::span<const uint8_t>(
                              reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size()),
                          context);
  Result<kms::CiphertextHeader> header = kms::PeekCiphertext(blob);
  if (!header.ok() || header->key_id != kKeyId || header->version != version) {
    Fail("a sealed blob's header does not read back");
  }
  Result<SecretBytes> opened = kms::OpenCiphertext(blob, kMaterial, context);
  if (!opened.ok() || AsStringView(opened->span()) != plaintext) {
    Fail("a sealed blob does not open to its plaintext");
  }
  size_t bit = 0;
  for (char c : plaintext) bit = bit * 31 + static_cast<uint8_t>(c);
  bit %= blob.size() * 8;
  std::string tampered = blob;
  tampered[bit / 8] = static_cast<char>(tampered[bit / 8] ^ (1 << (bit % 8)));
  if (kms::OpenCiphertext(tampered, kMaterial, context).ok()) Fail("a tampered blob opened");
  if (kms::OpenCiphertext(std::string_view(blob).substr(0, blob.size() - 1), kMaterial, context)
          .ok()) {
    Fail("a truncated blob opened");
  }
  if (kms::OpenCiphertext(blob, kMaterial, {{"purpose", "other"}}).ok()) {
    Fail("a blob opened under another encryption context");
  }
  return 0;
}
