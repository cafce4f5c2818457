#pragma once
// Encryption at rest for blobs: BlobWriter/BlobReader decorators that store a blob as fixed-size
// authenticated segments. Documented in docs/sse-format.md.
//
//   plaintext  | segment 0 (64 KiB) | segment 1 | ... | segment n-1 (1..64 KiB) |
//   stored     | ct0 ‖ tag0         | ct1 ‖ tag1 | ... | ct(n-1) ‖ tag(n-1)     |
//
// Each segment is AES-256-GCM under the blob's content key with nonce = final flag (1 byte) ‖ 3
// zero bytes ‖ segment index (8 bytes, big-endian): a flipped bit fails its tag, a reordered
// segment fails because its index is in the nonce, and a truncated blob fails because its last
// segment was not sealed as final. A range read decrypts only the segments it touches.
//
// The content key must be unique per blob (callers derive it: see DeriveContentKey), which is what
// makes the counter nonce safe. Writers and readers are used by one thread at a time.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/secret_bytes.h"
#include "store/blob_store.h"

namespace hangar::store {

inline constexpr size_t kSegmentSize = 64 * 1024;
inline constexpr size_t kSegmentTagSize = 16;

// Bytes stored for `plaintext_size` bytes of data.
uint64_t EncryptedSize(uint64_t plaintext_size);

// content key = HKDF-SHA256(data key, salt, "hangar-blob-content-v1"): a fresh random salt per blob
// gives every blob its own key even when the data key is shared (SSE-C, Bucket Keys).
SecretBytes DeriveContentKey(std::span<const uint8_t> data_key, std::span<const uint8_t> salt);

// Encrypts everything appended, then commits the inner writer. size() counts plaintext bytes.
std::unique_ptr<BlobWriter> MakeEncryptingWriter(std::unique_ptr<BlobWriter> inner,
                                                 SecretBytes content_key);

// Decrypts a blob written by the encrypting writer. `plaintext_size` comes from the metadata.
// ReadAt errors: kInternal "stored object data failed authentication" on any tampering.
std::unique_ptr<BlobReader> MakeDecryptingReader(std::unique_ptr<BlobReader> inner,
                                                 SecretBytes content_key, uint64_t plaintext_size);

}  // namespace hangar::store
