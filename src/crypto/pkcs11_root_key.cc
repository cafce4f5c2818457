#include "crypto/pkcs11_root_key.h"

#include <openssl/crypto.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <array>
#include <charconv>
#include <mutex>
#include <vector>

#include "common/files.h"
#include "crypto/aead.h"
#include "crypto/root_wrap_format.h"

namespace hangar::crypto {
namespace {

constexpr CK_ULONG kTagBits = 128;
constexpr size_t kMaxPinBytes = 256;
constexpr std::string_view kProbeContext = "hangar/pkcs11-probe";

// --- Errors -------------------------------------------------------------------------------------
// Messages name the PKCS#11 function and its CKR_ code, never the PIN, and never the URI as given
// (its query may hold pin-value).

std::string RvName(CK_RV rv) {
  switch (rv) {
#define HANGAR_CKR(name) \
  case name:             \
    return #name;
    HANGAR_CKR(CKR_OK)
    HANGAR_CKR(CKR_HOST_MEMORY)
    HANGAR_CKR(CKR_SLOT_ID_INVALID)
    HANGAR_CKR(CKR_GENERAL_ERROR)
    HANGAR_CKR(CKR_FUNCTION_FAILED)
    HANGAR_CKR(CKR_ARGUMENTS_BAD)
    HANGAR_CKR(CKR_CANT_LOCK)
    HANGAR_CKR(CKR_ATTRIBUTE_READ_ONLY)
    HANGAR_CKR(CKR_ATTRIBUTE_SENSITIVE)
    HANGAR_CKR(CKR_ATTRIBUTE_TYPE_INVALID)
    HANGAR_CKR(CKR_ATTRIBUTE_VALUE_INVALID)
    HANGAR_CKR(CKR_ACTION_PROHIBITED)
    HANGAR_CKR(CKR_DATA_INVALID)
    HANGAR_CKR(CKR_DATA_LEN_RANGE)
    HANGAR_CKR(CKR_DEVICE_ERROR)
    HANGAR_CKR(CKR_DEVICE_MEMORY)
    HANGAR_CKR(CKR_DEVICE_REMOVED)
    HANGAR_CKR(CKR_ENCRYPTED_DATA_INVALID)
    HANGAR_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE)
    HANGAR_CKR(CKR_FUNCTION_CANCELED)
    HANGAR_CKR(CKR_FUNCTION_NOT_SUPPORTED)
    HANGAR_CKR(CKR_KEY_HANDLE_INVALID)
    HANGAR_CKR(CKR_KEY_SIZE_RANGE)
    HANGAR_CKR(CKR_KEY_TYPE_INCONSISTENT)
    HANGAR_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED)
    HANGAR_CKR(CKR_MECHANISM_INVALID)
    HANGAR_CKR(CKR_MECHANISM_PARAM_INVALID)
    HANGAR_CKR(CKR_OBJECT_HANDLE_INVALID)
    HANGAR_CKR(CKR_OPERATION_ACTIVE)
    HANGAR_CKR(CKR_OPERATION_NOT_INITIALIZED)
    HANGAR_CKR(CKR_PIN_INCORRECT)
    HANGAR_CKR(CKR_PIN_INVALID)
    HANGAR_CKR(CKR_PIN_LEN_RANGE)
    HANGAR_CKR(CKR_PIN_EXPIRED)
    HANGAR_CKR(CKR_PIN_LOCKED)
    HANGAR_CKR(CKR_SESSION_CLOSED)
    HANGAR_CKR(CKR_SESSION_COUNT)
    HANGAR_CKR(CKR_SESSION_HANDLE_INVALID)
    HANGAR_CKR(CKR_SESSION_READ_ONLY)
    HANGAR_CKR(CKR_TEMPLATE_INCOMPLETE)
    HANGAR_CKR(CKR_TEMPLATE_INCONSISTENT)
    HANGAR_CKR(CKR_TOKEN_NOT_PRESENT)
    HANGAR_CKR(CKR_TOKEN_NOT_RECOGNIZED)
    HANGAR_CKR(CKR_TOKEN_WRITE_PROTECTED)
    HANGAR_CKR(CKR_USER_ALREADY_LOGGED_IN)
    HANGAR_CKR(CKR_USER_NOT_LOGGED_IN)
    HANGAR_CKR(CKR_USER_PIN_NOT_INITIALIZED)
    HANGAR_CKR(CKR_USER_TYPE_INVALID)
    HANGAR_CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
    HANGAR_CKR(CKR_BUFFER_TOO_SMALL)
    HANGAR_CKR(CKR_CRYPTOKI_NOT_INITIALIZED)
    HANGAR_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED)
    HANGAR_CKR(CKR_FUNCTION_REJECTED)
#undef HANGAR_CKR
    default: {
      std::array<char, 24> hex{};
      auto end = std::to_chars(hex.data(), hex.data() + hex.size(), rv, 16).ptr;
      return "CKR_0x" + std::string(hex.data(), end);
    }
  }
}

Status TokenError(std::string_view what, CK_RV rv) {
  return InternalError("PKCS#11 " + std::string(what) + " failed: " + RvName(rv));
}

// Token and key labels are fixed-size, blank-padded fields.
std::string Padded(const unsigned char* field, size_t size) {
  std::string s(reinterpret_cast<const char*>(field), size);
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

// --- The URI ------------------------------------------------------------------------------------

struct UriDeleter {
  void operator()(P11KitUri* uri) const { p11_kit_uri_free(uri); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriDeleter>;

struct ParsedUri {
  UriPtr uri;
  std::string module_path;
  std::string label;                  // `object`: the key's CKA_LABEL
  std::optional<std::string> id;      // `id`: its CKA_ID
  std::optional<CK_SLOT_ID> slot_id;  // `slot-id` in the path or the query
};

std::optional<std::string> AttributeText(P11KitUri* uri, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE* attr = p11_kit_uri_get_attribute(uri, type);
  if (attr == nullptr || attr->pValue == nullptr) return std::nullopt;
  return std::string(static_cast<const char*>(attr->pValue), attr->ulValueLen);
}

Result<std::optional<CK_SLOT_ID>> SlotIdOf(P11KitUri* uri) {
  const CK_SLOT_ID in_path = p11_kit_uri_get_slot_id(uri);
  if (in_path != static_cast<CK_SLOT_ID>(-1)) return std::optional(in_path);
  const char* query = p11_kit_uri_get_vendor_query(uri, "slot-id");
  if (query == nullptr) return std::optional<CK_SLOT_ID>();
  std::string_view text(query);
  CK_SLOT_ID id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return InternalError("the PKCS#11 URI's slot-id must be a number");
  }
  return std::optional(id);
}

// Errors: kInternal for a URI that p11-kit rejects, with unknown path attributes, or without
// module-path or object.
Result<ParsedUri> ParseUri(const std::string& text) {
  ParsedUri out;
  out.uri.reset(p11_kit_uri_new());
  const int rc = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_ANY, out.uri.get());
  if (rc != P11_KIT_URI_OK) {
    return InternalError("the PKCS#11 URI is invalid: " + std::string(p11_kit_uri_message(rc)));
  }
  if (p11_kit_uri_any_unrecognized(out.uri.get())) {
    return InternalError("the PKCS#11 URI has an attribute that is not in RFC 7512");
  }
  const char* module_path = p11_kit_uri_get_module_path(out.uri.get());
  if (module_path == nullptr || *module_path == '\0') {
    return InternalError("the PKCS#11 URI must name the module: ?module-path=/path/to/module.so");
  }
  out.module_path = module_path;
  auto label = AttributeText(out.uri.get(), CKA_LABEL);
  if (!label || label->empty()) {
    return InternalError("the PKCS#11 URI must name the root key: object=LABEL");
  }
  out.label = *label;
  out.id = AttributeText(out.uri.get(), CKA_ID);
  HANGAR_ASSIGN_OR_RETURN(out.slot_id, SlotIdOf(out.uri.get()));
  return out;
}

// --- The PIN ------------------------------------------------------------------------------------

Result<SecretBytes> ReadPinFile(std::string_view source) {
  std::string path(source);
  if (path.starts_with("file://")) {
    path.erase(0, 7);
  } else if (path.starts_with("file:")) {
    path.erase(0, 5);
  }
  if (path.empty() || path[0] != '/') {
    return InternalError("the PKCS#11 URI's pin-source must be file:/absolute/path");
  }
  auto raw = ReadSmallFile(path, kMaxPinBytes);
  if (!raw.ok()) return InternalError("cannot read the PIN file " + path);
  std::string& text = *raw;
  size_t size = text.size();
  if (size > 0 && text[size - 1] == '\n') --size;  // one trailing newline, as `echo` writes
  if (size > 0 && text[size - 1] == '\r') --size;
  SecretBytes pin(AsBytes(std::string_view(text).substr(0, size)));
  OPENSSL_cleanse(text.data(), text.size());
  if (pin.empty()) return InternalError("the PIN file " + path + " is empty");
  return pin;
}

// The PIN from exactly one of pin-source, pin-value or the caller; nullopt if none gives one.
Result<std::optional<SecretBytes>> ResolvePin(P11KitUri* uri,
                                              const std::optional<SecretBytes>& given) {
  const char* source = p11_kit_uri_get_pin_source(uri);
  const char* value = p11_kit_uri_get_pin_value(uri);
  const int sources = (source != nullptr) + (value != nullptr) + given.has_value();
  if (sources > 1) {
    return InternalError(
        "the token PIN is given more than once (pin-source, pin-value, "
        "HANGAR_ROOT_KEY_PIN): give exactly one");
  }
  if (source != nullptr) {
    HANGAR_ASSIGN_OR_RETURN(SecretBytes pin, ReadPinFile(source));
    return std::optional(std::move(pin));
  }
  if (value != nullptr) return std::optional(SecretBytes(AsBytes(value)));
  if (given) return std::optional(given->Clone());
  return std::optional<SecretBytes>();
}

// --- The module ---------------------------------------------------------------------------------

// A PKCS#11 module loaded and initialised through p11-kit. p11-kit "manages" it: initialisation is
// reference-counted, so several users in one process (tests, an import beside a server) coexist.
class Module {
 public:
  // Errors: kInternal if the library does not load or C_Initialize fails.
  static Result<std::unique_ptr<Module>> Load(const std::string& path) {
    CK_FUNCTION_LIST* fns = p11_kit_module_load(path.c_str(), 0);
    if (fns == nullptr) {
      const char* why = p11_kit_message();
      return InternalError("cannot load the PKCS#11 module " + path +
                           (why != nullptr ? ": " + std::string(why) : std::string()));
    }
    const CK_RV rv = p11_kit_module_initialize(fns);
    if (rv != CKR_OK) {
      p11_kit_module_release(fns);
      return TokenError("C_Initialize of " + path, rv);
    }
    return std::unique_ptr<Module>(new Module(fns));
  }
  ~Module() {
    p11_kit_module_finalize(fns_);
    p11_kit_module_release(fns_);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* operator->() const { return fns_; }

 private:
  explicit Module(CK_FUNCTION_LIST* fns) : fns_(fns) {}
  CK_FUNCTION_LIST* fns_;
};

struct TokenMatch {
  CK_SLOT_ID slot;
  std::string label;
  CK_FLAGS flags;
};

// The one initialised token that the URI's token, slot and library attributes match.
// Errors: kInternal if none or several match.
Result<TokenMatch> FindToken(const Module& module, const ParsedUri& uri) {
  CK_INFO info{};
  if (CK_RV rv = module->C_GetInfo(&info); rv != CKR_OK) return TokenError("C_GetInfo", rv);
  if (!p11_kit_uri_match_module_info(uri.uri.get(), &info)) {
    return InternalError("the PKCS#11 module " + uri.module_path +
                         " does not match the URI's library attributes");
  }
  CK_ULONG count = 0;
  if (CK_RV rv = module->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
    return TokenError("C_GetSlotList", rv);
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (CK_RV rv = module->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) {
    return TokenError("C_GetSlotList", rv);
  }
  slots.resize(count);
  std::vector<TokenMatch> matches;
  std::string seen;
  for (CK_SLOT_ID slot : slots) {
    CK_SLOT_INFO slot_info{};
    CK_TOKEN_INFO token{};
    if (module->C_GetSlotInfo(slot, &slot_info) != CKR_OK ||
        module->C_GetTokenInfo(slot, &token) != CKR_OK ||
        (token.flags & CKF_TOKEN_INITIALIZED) == 0) {
      continue;
    }
    std::string label = Padded(token.label, sizeof(token.label));
    seen += (seen.empty() ? "'" : ", '") + label + "'";
    if ((uri.slot_id && *uri.slot_id != slot) ||
        !p11_kit_uri_match_slot_info(uri.uri.get(), &slot_info) ||
        !p11_kit_uri_match_token_info(uri.uri.get(), &token)) {
      continue;
    }
    matches.push_back({slot, std::move(label), token.flags});
  }
  if (matches.empty()) {
    return InternalError("no token of the PKCS#11 module " + uri.module_path +
                         " matches the URI (initialised tokens: " + (seen.empty() ? "none" : seen) +
                         ")");
  }
  if (matches.size() > 1) {
    return InternalError(std::to_string(matches.size()) + " tokens of the PKCS#11 module " +
                         uri.module_path + " match the URI; name one with token= or slot-id=");
  }
  return matches[0];
}

// --- Keys ---------------------------------------------------------------------------------------

struct KeyName {
  std::string label;
  std::optional<std::string> id;
};

std::vector<CK_ATTRIBUTE> NameTemplate(KeyName& name, CK_OBJECT_CLASS& secret_class) {
  std::vector<CK_ATTRIBUTE> t = {
      {CKA_CLASS, &secret_class, sizeof(secret_class)},
      {CKA_LABEL, name.label.data(), name.label.size()},
  };
  if (name.id) t.push_back({CKA_ID, name.id->data(), name.id->size()});
  return t;
}

// The secret key with the URI's label (and id), or nullopt. Errors: kInternal if the search fails
// or finds several.
Result<std::optional<CK_OBJECT_HANDLE>> FindKey(const Module& module, CK_SESSION_HANDLE session,
                                                KeyName name) {
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  std::vector<CK_ATTRIBUTE> t = NameTemplate(name, secret_class);
  if (CK_RV rv = module->C_FindObjectsInit(session, t.data(), t.size()); rv != CKR_OK) {
    return TokenError("C_FindObjectsInit", rv);
  }
  std::array<CK_OBJECT_HANDLE, 2> found{};
  CK_ULONG count = 0;
  const CK_RV rv = module->C_FindObjects(session, found.data(), found.size(), &count);
  module->C_FindObjectsFinal(session);
  if (rv != CKR_OK) return TokenError("C_FindObjects", rv);
  if (count > 1) {
    return InternalError("the token holds several secret keys labelled '" + name.label +
                         "'; name one with id= in the URI");
  }
  if (count == 0) return std::optional<CK_OBJECT_HANDLE>();
  return std::optional(found[0]);
}

// Errors: kInternal unless the key is AES-256.
Status CheckKeyIsAes256(const Module& module, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key,
                        const std::string& label) {
  CK_KEY_TYPE type = 0;
  CK_ULONG length = 0;
  std::array<CK_ATTRIBUTE, 2> t = {
      {{CKA_KEY_TYPE, &type, sizeof(type)}, {CKA_VALUE_LEN, &length, sizeof(length)}}};
  if (CK_RV rv = module->C_GetAttributeValue(session, key, t.data(), t.size()); rv != CKR_OK) {
    return TokenError("C_GetAttributeValue of the key '" + label + "'", rv);
  }
  if (type != CKK_AES || length != kAes256KeySize) {
    return InternalError("the token's key '" + label + "' is not an AES-256 key");
  }
  return Status::Ok();
}

// Attributes of a root key made by Hangar: a private token object that encrypts and decrypts and
// can never be read back or used to wrap other keys.
struct KeyPolicy {
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  CK_KEY_TYPE aes = CKK_AES;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ULONG length = kAes256KeySize;

  std::vector<CK_ATTRIBUTE> Template(KeyName& name) {
    std::vector<CK_ATTRIBUTE> t = NameTemplate(name, secret_class);
    t.insert(t.end(), {{CKA_KEY_TYPE, &aes, sizeof(aes)},
                       {CKA_TOKEN, &yes, sizeof(yes)},
                       {CKA_PRIVATE, &yes, sizeof(yes)},
                       {CKA_SENSITIVE, &yes, sizeof(yes)},
                       {CKA_EXTRACTABLE, &no, sizeof(no)},
                       {CKA_ENCRYPT, &yes, sizeof(yes)},
                       {CKA_DECRYPT, &yes, sizeof(yes)},
                       {CKA_WRAP, &no, sizeof(no)},
                       {CKA_UNWRAP, &no, sizeof(no)}});
    return t;
  }
};

Result<CK_OBJECT_HANDLE> GenerateKey(const Module& module, CK_SESSION_HANDLE session,
                                     KeyName name) {
  KeyPolicy policy;
  std::vector<CK_ATTRIBUTE> t = policy.Template(name);
  t.push_back({CKA_VALUE_LEN, &policy.length, sizeof(policy.length)});
  CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE key = 0;
  if (CK_RV rv = module->C_GenerateKey(session, &mechanism, t.data(), t.size(), &key);
      rv != CKR_OK) {
    return TokenError("C_GenerateKey (AES-256 key '" + name.label + "')", rv);
  }
  return key;
}

Status CreateKey(const Module& module, CK_SESSION_HANDLE session, KeyName name,
                 const SecretBytes& value) {
  KeyPolicy policy;
  std::vector<CK_ATTRIBUTE> t = policy.Template(name);
  SecretBytes copy = value.Clone();  // C_CreateObject takes a non-const pointer
  t.push_back({CKA_VALUE, copy.data(), copy.size()});
  CK_OBJECT_HANDLE key = 0;
  if (CK_RV rv = module->C_CreateObject(session, t.data(), t.size(), &key); rv != CKR_OK) {
    return TokenError("C_CreateObject (AES-256 key '" + name.label + "')", rv);
  }
  return Status::Ok();
}

// PKCS#11 parameters of one AES-GCM operation in the root wrap format.
struct GcmOperation {
  std::string aad;
  CK_GCM_PARAMS params{};
  CK_MECHANISM mechanism{};

  GcmOperation(std::span<const uint8_t> nonce, std::string_view context)
      : aad(root_wrap::Aad(context)) {
    params.pIv = const_cast<CK_BYTE*>(nonce.data());
    params.ulIvLen = nonce.size();
    params.ulIvBits = nonce.size() * 8;
    params.pAAD = reinterpret_cast<CK_BYTE*>(aad.data());
    params.ulAADLen = aad.size();
    params.ulTagBits = kTagBits;
    mechanism = {CKM_AES_GCM, &params, sizeof(params)};
  }
  GcmOperation(const GcmOperation&) = delete;
  GcmOperation& operator=(const GcmOperation&) = delete;
};

}  // namespace

// --- Sessions -----------------------------------------------------------------------------------

struct Pkcs11RootKey::Impl {
  std::unique_ptr<Module> module;
  CK_SLOT_ID slot = 0;
  std::string token_label;
  // Opened first and kept until destruction: a token logs the application out when its last
  // session closes, so this session holds the login that the pooled sessions share.
  CK_SESSION_HANDLE login_session = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  bool generated = false;

  mutable std::mutex mu;
  mutable std::vector<CK_SESSION_HANDLE> idle;  // protected by mu

  ~Impl() {
    for (CK_SESSION_HANDLE s : idle) (*module)->C_CloseSession(s);
    if (login_session != CK_INVALID_HANDLE) (*module)->C_CloseSession(login_session);
  }

  // An idle session, or a new one. Errors: kInternal if the token opens no more sessions.
  Result<CK_SESSION_HANDLE> Borrow() const {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CK_SESSION_HANDLE s = idle.back();
        idle.pop_back();
        return s;
      }
    }
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    if (CK_RV rv = (*module)->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s);
        rv != CKR_OK) {
      return TokenError("C_OpenSession", rv);
    }
    return s;
  }

  // A session whose operation failed is closed rather than reused: whatever state the module left
  // it in, the next operation starts clean.
  void GiveBack(CK_SESSION_HANDLE s, bool healthy) const {
    if (!healthy) {
      (*module)->C_CloseSession(s);
      return;
    }
    std::lock_guard lock(mu);
    idle.push_back(s);
  }
};

namespace {

// A pooled session for one operation; closed instead of returned unless marked healthy.
class SessionLease {
 public:
  SessionLease(const Pkcs11RootKey::Impl& impl, CK_SESSION_HANDLE s) : impl_(impl), session_(s) {}
  ~SessionLease() { impl_.GiveBack(session_, healthy_); }
  SessionLease(const SessionLease&) = delete;
  SessionLease& operator=(const SessionLease&) = delete;

  CK_SESSION_HANDLE get() const { return session_; }
  void MarkHealthy() { healthy_ = true; }

 private:
  const Pkcs11RootKey::Impl& impl_;
  CK_SESSION_HANDLE session_;
  bool healthy_ = false;
};

// Errors: kInternal naming the CKR_ code (a wrong PIN: CKR_PIN_INCORRECT).
Status Login(const Module& module, CK_SESSION_HANDLE session, const TokenMatch& token,
             const std::optional<SecretBytes>& pin) {
  if (!pin) {
    if ((token.flags & CKF_LOGIN_REQUIRED) == 0) return Status::Ok();
    return InternalError("the token '" + token.label +
                         "' needs a PIN: pin-source=file:PATH in the URI or HANGAR_ROOT_KEY_PIN");
  }
  // C_Login does not write to the PIN; the API merely lacks const.
  const CK_RV rv =
      module->C_Login(session, CKU_USER, const_cast<CK_UTF8CHAR*>(pin->data()), pin->size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return Status::Ok();
  return TokenError("C_Login to the token '" + token.label + "'", rv);
}

// Steps shared by Open and Import: 1. parse the URI and find the PIN, 2. load the module, 3. find
// the token, 4. open the session that holds the login, 5. log in.
Result<std::unique_ptr<Pkcs11RootKey::Impl>> Connect(const Pkcs11Options& options, KeyName& name) {
  HANGAR_ASSIGN_OR_RETURN(ParsedUri uri, ParseUri(options.uri));
  HANGAR_ASSIGN_OR_RETURN(std::optional<SecretBytes> pin, ResolvePin(uri.uri.get(), options.pin));
  name = {uri.label, uri.id};
  auto impl = std::make_unique<Pkcs11RootKey::Impl>();
  HANGAR_ASSIGN_OR_RETURN(impl->module, Module::Load(uri.module_path));
  HANGAR_ASSIGN_OR_RETURN(TokenMatch token, FindToken(*impl->module, uri));
  impl->slot = token.slot;
  impl->token_label = token.label;
  if (CK_RV rv = (*impl->module)
                     ->C_OpenSession(token.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                     nullptr, &impl->login_session);
      rv != CKR_OK) {
    impl->login_session = CK_INVALID_HANDLE;
    return TokenError("C_OpenSession on the token '" + token.label + "'", rv);
  }
  HANGAR_RETURN_IF_ERROR(Login(*impl->module, impl->login_session, token, pin));
  return impl;
}

}  // namespace

Result<std::unique_ptr<Pkcs11RootKey>> Pkcs11RootKey::Open(const Pkcs11Options& options,
                                                           bool create_if_missing) {
  KeyName name;
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Connect(options, name));
  const Module& module = *impl->module;
  HANGAR_ASSIGN_OR_RETURN(auto found, FindKey(module, impl->login_session, name));
  if (found) {
    impl->key = *found;
  } else if (create_if_missing) {
    HANGAR_ASSIGN_OR_RETURN(impl->key, GenerateKey(module, impl->login_session, name));
    impl->generated = true;
  } else {
    return Error(
        ErrorCode::kKmsNotFound,
        "the token '" + impl->token_label + "' holds no secret key labelled '" + name.label + "'");
  }
  HANGAR_RETURN_IF_ERROR(CheckKeyIsAes256(module, impl->login_session, impl->key, name.label));
  std::unique_ptr<Pkcs11RootKey> key(new Pkcs11RootKey(std::move(impl)));
  // A round trip now, so that a token without CKM_AES_GCM (or a key it may not use) is reported at
  // start-up rather than on the first request.
  HANGAR_ASSIGN_OR_RETURN(std::string probe, key->Wrap(AsBytes(kProbeContext), kProbeContext));
  HANGAR_ASSIGN_OR_RETURN(SecretBytes opened, key->Unwrap(probe, kProbeContext));
  if (AsStringView(opened.span()) != kProbeContext) {
    return InternalError("the token's AES-GCM round trip returned other bytes");
  }
  return key;
}

Status Pkcs11RootKey::Import(const Pkcs11Options& options, const SecretBytes& key) {
  if (key.size() != kAes256KeySize) return InternalError("a root key must be 32 bytes");
  KeyName name;
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Connect(options, name));
  HANGAR_ASSIGN_OR_RETURN(auto found, FindKey(*impl->module, impl->login_session, name));
  if (found) {
    return InternalError("the token '" + impl->token_label + "' already holds a key labelled '" +
                         name.label + "'; it is never replaced");
  }
  return CreateKey(*impl->module, impl->login_session, name, key);
}

Pkcs11RootKey::Pkcs11RootKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pkcs11RootKey::~Pkcs11RootKey() = default;

bool Pkcs11RootKey::generated() const { return impl_->generated; }

Result<std::string> Pkcs11RootKey::Wrap(std::span<const uint8_t> plaintext,
                                        std::string_view context) const {
  std::array<uint8_t, kGcmNonceSize> nonce{};
  std::string out = root_wrap::Header(plaintext.size(), nonce);
  GcmOperation op(nonce, context);
  HANGAR_ASSIGN_OR_RETURN(CK_SESSION_HANDLE s, impl_->Borrow());
  SessionLease session(*impl_, s);
  const Module& module = *impl_->module;
  if (CK_RV rv = module->C_EncryptInit(session.get(), &op.mechanism, impl_->key); rv != CKR_OK) {
    return TokenError("C_EncryptInit (CKM_AES_GCM)", rv);
  }
  const size_t header = out.size();
  CK_ULONG sealed = plaintext.size() + kGcmTagSize;
  out.resize(header + sealed);
  uint8_t none = 0;  // modules refuse a null input pointer even for zero bytes
  CK_BYTE* input = plaintext.empty() ? &none : const_cast<CK_BYTE*>(plaintext.data());
  CK_RV rv = module->C_Encrypt(session.get(), input, plaintext.size(),
                               reinterpret_cast<CK_BYTE*>(out.data() + header), &sealed);
  if (rv != CKR_OK) return TokenError("C_Encrypt (CKM_AES_GCM)", rv);
  if (sealed != plaintext.size() + kGcmTagSize) {
    return InternalError("PKCS#11 C_Encrypt (CKM_AES_GCM) returned an unexpected length");
  }
  session.MarkHealthy();
  return out;
}

Result<SecretBytes> Pkcs11RootKey::Unwrap(std::string_view wrapped,
                                          std::string_view context) const {
  auto parts = root_wrap::Parse(wrapped);
  if (!parts) return InternalError("wrapped secret is malformed");
  GcmOperation op(parts->nonce, context);
  HANGAR_ASSIGN_OR_RETURN(CK_SESSION_HANDLE s, impl_->Borrow());
  SessionLease session(*impl_, s);
  const Module& module = *impl_->module;
  if (CK_RV rv = module->C_DecryptInit(session.get(), &op.mechanism, impl_->key); rv != CKR_OK) {
    return TokenError("C_DecryptInit (CKM_AES_GCM)", rv);
  }
  // Room for ciphertext and tag: some modules want it although only the plaintext is written.
  SecretBytes plain(parts->sealed.size());
  CK_ULONG size = plain.size();
  CK_RV rv = module->C_Decrypt(session.get(), const_cast<CK_BYTE*>(parts->sealed.data()),
                               parts->sealed.size(), plain.data(), &size);
  if (rv != CKR_OK) {
    return InternalError("wrapped secret does not open under the root key in the token (" +
                         RvName(rv) + ")");
  }
  if (size != parts->sealed.size() - kGcmTagSize) {
    return InternalError("PKCS#11 C_Decrypt (CKM_AES_GCM) returned an unexpected length");
  }
  session.MarkHealthy();
  return SecretBytes(plain.span().first(size));
}

}  // namespace hangar::crypto
