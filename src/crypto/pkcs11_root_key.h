#pragma once
// Pkcs11RootKey: the root key held by a PKCS#11 token (an HSM, a smart card, SoftHSM). Wrap and
// Unwrap run AES-256-GCM inside the token (CKM_AES_GCM), writing the same wrapped form as a key
// file (root_wrap_format.h), so the key itself never exists in Hangar's memory or on its disk.
//
// The token is named by an RFC 7512 PKCS#11 URI, parsed by p11-kit:
//   pkcs11:token=hangar;object=hangar-root?module-path=/usr/lib/softhsm/libsofthsm2.so
//          &pin-source=file:/etc/hangar/pin
// Path: `object` (the key's CKA_LABEL, required), and any of token, manufacturer, serial, model,
// slot-id, slot-description, slot-manufacturer, library-* to pick the token, `id` for CKA_ID.
// Query: module-path (required), pin-source=file:PATH or pin-value=PIN; `slot-id=N` is accepted
// there too. The PIN may instead be handed in (HANGAR_ROOT_KEY_PIN): exactly one source is allowed.
//
// Owns the loaded module and its sessions: one session holds the login for the object's lifetime;
// operations borrow others from a pool (a PKCS#11 session serves one operation at a time) and
// more are opened on demand. Thread-safe.

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/root_key.h"

namespace hangar::crypto {

struct Pkcs11Options {
  std::string uri;
  // The PIN when it does not come from the URI (e.g. HANGAR_ROOT_KEY_PIN).
  std::optional<SecretBytes> pin;
};

class Pkcs11RootKey final : public RootKey {
 public:
  // Loads the module, finds and logs into the token, and finds the AES-256 secret key labelled by
  // the URI's `object`. Without such a key, `create_if_missing` generates one in the token
  // (CKM_AES_KEY_GEN: token object, private, sensitive, not extractable, encrypt/decrypt only).
  // Errors: kKmsNotFound if the token holds no such key and `create_if_missing` is false;
  // kInternal with a message naming the step and the CKR_ code (never the PIN) for a bad URI, an
  // unloadable module, no or several matching tokens, a wrong PIN, a key that is not AES-256.
  static Result<std::unique_ptr<Pkcs11RootKey>> Open(const Pkcs11Options& options,
                                                     bool create_if_missing);

  // Creates a secret key labelled by the URI's `object` in the token with the value `key` (32
  // bytes): sensitive and not extractable, so it can be used but never read back. For moving a
  // data directory from a root key file to a token. Errors: kInternal as for Open, and when the
  // token already holds a key with that label (it is never replaced).
  static Status Import(const Pkcs11Options& options, const SecretBytes& key);

  ~Pkcs11RootKey() override;
  Pkcs11RootKey(const Pkcs11RootKey&) = delete;
  Pkcs11RootKey& operator=(const Pkcs11RootKey&) = delete;

  // True if Open generated the key (a fresh data directory).
  bool generated() const;

  Result<std::string> Wrap(std::span<const uint8_t> plaintext,
                           std::string_view context) const override;
  Result<SecretBytes> Unwrap(std::string_view wrapped, std::string_view context) const override;

  struct Impl;  // in pkcs11_root_key.cc: the module, the token's sessions, the key handle

 private:
  explicit Pkcs11RootKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hangar::crypto
