// Pkcs11RootKey against SoftHSM2: a throwaway token directory per test process (SOFTHSM2_CONF),
// tokens made with softhsm2-util before the module is first loaded. The tests also drive the token
// directly through p11-kit (RawToken) to see what Hangar left in it.

#include "crypto/pkcs11_root_key.h"

#include <gtest/gtest.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "crypto/random.h"
#include "crypto/root_key.h"

namespace hangar::crypto {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModule = HANGAR_SOFTHSM2_MODULE;
constexpr const char* kUtil = HANGAR_SOFTHSM2_UTIL;
constexpr std::string_view kPin = "hangar-user-pin";
constexpr std::string_view kSoPin = "hangar-so-pin";
// One token per test, so that no test sees another's keys or login.
const char* const kTokens[] = {"generate", "ops", "compat", "pins", "threads", "uris"};

std::string Uri(std::string_view token, std::string_view object, std::string_view query = "") {
  std::string uri = "pkcs11:token=" + std::string(token) + ";object=" + std::string(object) +
                    "?module-path=" + kModule;
  if (!query.empty()) uri += "&" + std::string(query);
  return uri;
}

std::string PinQuery() { return "pin-value=" + std::string(kPin); }

Pkcs11Options Options(std::string uri) {
  Pkcs11Options options;
  options.uri = std::move(uri);
  return options;
}

std::string Text(const Result<SecretBytes>& r) {
  return r.ok() ? std::string(AsStringView(r->span())) : "<error: " + r.status().message() + ">";
}

// The token seen without Hangar: its own p11-kit handle on the module, logged in as the user.
class RawToken {
 public:
  explicit RawToken(std::string_view label) {
    fns_ = p11_kit_module_load(kModule, 0);
    if (fns_ == nullptr || p11_kit_module_initialize(fns_) != CKR_OK) return;
    CK_SLOT_ID slots[16];
    CK_ULONG count = 16;
    if (fns_->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK) return;
    for (CK_ULONG i = 0; i < count; ++i) {
      CK_TOKEN_INFO info{};
      if (fns_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      std::string name(reinterpret_cast<const char*>(info.label), sizeof(info.label));
      name.erase(name.find_last_not_of(' ') + 1);
      if (name != label) continue;
      if (fns_->C_OpenSession(slots[i], CKF_SERIAL_SESSION, nullptr, nullptr, &session_) !=
          CKR_OK) {
        return;
      }
      std::string pin(kPin);
      CK_RV rv =
          fns_->C_Login(session_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
      ok_ = rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN;
      return;
    }
  }
  ~RawToken() {
    if (fns_ == nullptr) return;
    if (session_ != CK_INVALID_HANDLE) fns_->C_CloseSession(session_);
    p11_kit_module_finalize(fns_);
    p11_kit_module_release(fns_);
  }
  bool ok() const { return ok_; }

  // Secret keys labelled `label`.
  std::vector<CK_OBJECT_HANDLE> Keys(std::string label) {
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof(secret)},
                        {CKA_LABEL, label.data(), label.size()}};
    std::vector<CK_OBJECT_HANDLE> out(8);
    CK_ULONG count = 0;
    EXPECT_EQ(fns_->C_FindObjectsInit(session_, t, 2), CKR_OK);
    EXPECT_EQ(fns_->C_FindObjects(session_, out.data(), out.size(), &count), CKR_OK);
    fns_->C_FindObjectsFinal(session_);
    out.resize(count);
    return out;
  }

  // A CK_BBOOL attribute; -1 if it cannot be read.
  int Flag(CK_OBJECT_HANDLE key, CK_ATTRIBUTE_TYPE type) {
    CK_BBOOL value = CK_FALSE;
    CK_ATTRIBUTE a = {type, &value, sizeof(value)};
    if (fns_->C_GetAttributeValue(session_, key, &a, 1) != CKR_OK) return -1;
    return value == CK_TRUE ? 1 : 0;
  }

  // Tries to read the key's value: the return code and the length the token reported.
  std::pair<CK_RV, CK_ULONG> ReadValue(CK_OBJECT_HANDLE key) {
    uint8_t buffer[64];
    CK_ATTRIBUTE a = {CKA_VALUE, buffer, sizeof(buffer)};
    CK_RV rv = fns_->C_GetAttributeValue(session_, key, &a, 1);
    return {rv, a.ulValueLen};
  }

 private:
  CK_FUNCTION_LIST* fns_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  bool ok_ = false;
};

class Pkcs11RootKeyTest : public ::testing::Test {
 protected:
  // Fails (does not skip) without SoftHSM2: scripts/install-deps.sh installs it.
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(kModule))
        << "SoftHSM2's module is missing (" << kModule << "): run scripts/install-deps.sh";
    ASSERT_TRUE(fs::exists(kUtil)) << "softhsm2-util is missing: run scripts/install-deps.sh";
    dir_ = fs::temp_directory_path() / ("hangar-softhsm-" + RandomString(8, "abcdefgh"));
    fs::create_directories(dir_ / "tokens");
    std::ofstream(dir_ / "softhsm2.conf") << "directories.tokendir = " << (dir_ / "tokens").string()
                                          << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (dir_ / "softhsm2.conf").c_str(), 1);
    for (const char* label : kTokens) {
      std::string command = std::string(kUtil) + " --init-token --free --label " + label +
                            " --pin " + std::string(kPin) + " --so-pin " + std::string(kSoPin) +
                            " >/dev/null";
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::unique_ptr<Pkcs11RootKey> OpenOrDie(std::string_view token, bool create) {
    auto key = Pkcs11RootKey::Open(Options(Uri(token, "hangar-root", PinQuery())), create);
    EXPECT_TRUE(key.ok()) << key.status().message();
    return key.ok() ? std::move(key).value() : nullptr;
  }

  static fs::path dir_;
};

fs::path Pkcs11RootKeyTest::dir_;

TEST_F(Pkcs11RootKeyTest, GeneratesASensitiveNonExtractableKeyOnlyWhenAsked) {
  auto absent = Pkcs11RootKey::Open(Options(Uri("generate", "hangar-root", PinQuery())), false);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), ErrorCode::kKmsNotFound);
  EXPECT_NE(absent.status().message().find("no secret key labelled 'hangar-root'"),
            std::string::npos)
      << absent.status().message();

  auto created = OpenOrDie("generate", true);
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->generated());
  auto wrapped = created->Wrap(AsBytes("material"), "ctx");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().message();

  // Found again, not generated twice: the second handle opens the first one's blob.
  auto reopened = OpenOrDie("generate", true);
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(reopened->generated());
  EXPECT_EQ(Text(reopened->Unwrap(*wrapped, "ctx")), "material");

  RawToken raw("generate");
  ASSERT_TRUE(raw.ok());
  auto keys = raw.Keys("hangar-root");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(raw.Flag(keys[0], CKA_TOKEN), 1);
  EXPECT_EQ(raw.Flag(keys[0], CKA_PRIVATE), 1);
  EXPECT_EQ(raw.Flag(keys[0], CKA_SENSITIVE), 1);
  EXPECT_EQ(raw.Flag(keys[0], CKA_EXTRACTABLE), 0);
  EXPECT_EQ(raw.Flag(keys[0], CKA_WRAP), 0);
  auto [rv, length] = raw.ReadValue(keys[0]);
  EXPECT_EQ(rv, CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(length, CK_UNAVAILABLE_INFORMATION);
}

TEST_F(Pkcs11RootKeyTest, WrapsInTheTokenInFormatV1AndRefusesAnotherContextOrTampering) {
  auto key = OpenOrDie("ops", true);
  ASSERT_TRUE(key);
  for (size_t size : {0, 1, 15, 16, 32, 1000, 70000}) {
    SecretBytes plain = RandomSecret(size);
    auto wrapped = key->Wrap(plain.span(), "kms-material/k/1");
    ASSERT_TRUE(wrapped.ok()) << size << ": " << wrapped.status().message();
    ASSERT_EQ(wrapped->size(), 1 + 12 + size + 16);
    EXPECT_EQ(static_cast<uint8_t>((*wrapped)[0]), 1);
    auto opened = key->Unwrap(*wrapped, "kms-material/k/1");
    ASSERT_TRUE(opened.ok()) << size << ": " << opened.status().message();
    EXPECT_TRUE(std::equal(opened->span().begin(), opened->span().end(), plain.span().begin(),
                           plain.span().end()));
    EXPECT_FALSE(key->Unwrap(*wrapped, "kms-material/k/2").ok());
    std::string tampered = *wrapped;
    tampered[tampered.size() / 2] ^= 0x01;
    EXPECT_FALSE(key->Unwrap(tampered, "kms-material/k/1").ok());
  }
  auto a = key->Wrap(AsBytes("same"), "ctx");
  auto b = key->Wrap(AsBytes("same"), "ctx");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b) << "every wrap draws a fresh nonce";
  EXPECT_FALSE(key->Unwrap("short", "ctx").ok());
  std::string other_version = *a;
  other_version[0] = 2;
  EXPECT_FALSE(key->Unwrap(other_version, "ctx").ok());
  // After failures the key keeps working (failed sessions are replaced).
  EXPECT_EQ(Text(key->Unwrap(*a, "ctx")), "same");
}

TEST_F(Pkcs11RootKeyTest, AKeyFileAndTheTokenHoldingItsBytesOpenEachOthersBlobs) {
  SecretBytes bytes = RandomSecret(32);
  const Pkcs11Options options = Options(Uri("compat", "hangar-root", PinQuery()));
  Status imported = Pkcs11RootKey::Import(options, bytes);
  ASSERT_TRUE(imported.ok()) << imported.message();
  Status again = Pkcs11RootKey::Import(options, RandomSecret(32));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already holds a key labelled 'hangar-root'"), std::string::npos)
      << again.message();

  auto local = RootKey::FromBytes(bytes.Clone());
  auto token = Pkcs11RootKey::Open(options, false);
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_FALSE((*token)->generated());

  auto from_file = local->Wrap(AsBytes("sealed by the file key"), "iam-access-key/AKIA1");
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(Text((*token)->Unwrap(*from_file, "iam-access-key/AKIA1")), "sealed by the file key");
  auto from_token = (*token)->Wrap(AsBytes("sealed in the token"), "sse-s3");
  ASSERT_TRUE(from_token.ok());
  EXPECT_EQ(Text(local->Unwrap(*from_token, "sse-s3")), "sealed in the token");
  EXPECT_FALSE(local->Unwrap(*from_token, "sse-s3-other").ok());
  // Another key does not open it: the blob really depends on the imported bytes.
  EXPECT_FALSE(RootKey::FromBytes(RandomSecret(32))->Unwrap(*from_token, "sse-s3").ok());

  RawToken raw("compat");
  ASSERT_TRUE(raw.ok());
  auto keys = raw.Keys("hangar-root");
  ASSERT_EQ(keys.size(), 1u) << "the refused second import left nothing behind";
  EXPECT_EQ(raw.Flag(keys[0], CKA_SENSITIVE), 1);
  EXPECT_EQ(raw.Flag(keys[0], CKA_EXTRACTABLE), 0);
  EXPECT_EQ(raw.ReadValue(keys[0]).first, CKR_ATTRIBUTE_SENSITIVE);
}

TEST_F(Pkcs11RootKeyTest, TakesThePinFromExactlyOneSourceAndNeverNamesIt) {
  const std::string wrong = "wrong-pin-4711";
  // A wrong PIN, from the URI and from the caller (HANGAR_ROOT_KEY_PIN).
  auto in_uri = Pkcs11RootKey::Open(Options(Uri("pins", "k", "pin-value=" + wrong)), true);
  ASSERT_FALSE(in_uri.ok());
  EXPECT_NE(in_uri.status().message().find("CKR_PIN_INCORRECT"), std::string::npos)
      << in_uri.status().message();
  EXPECT_EQ(in_uri.status().message().find(wrong), std::string::npos);
  Pkcs11Options given = Options(Uri("pins", "k"));
  given.pin = SecretBytes(AsBytes(wrong));
  auto handed = Pkcs11RootKey::Open(given, true);
  ASSERT_FALSE(handed.ok());
  EXPECT_NE(handed.status().message().find("CKR_PIN_INCORRECT"), std::string::npos);
  EXPECT_EQ(handed.status().message().find(wrong), std::string::npos);

  // No PIN, or two.
  auto none = Pkcs11RootKey::Open(Options(Uri("pins", "k")), true);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("needs a PIN"), std::string::npos);
  given.pin = SecretBytes(AsBytes(kPin));
  given.uri = Uri("pins", "k", PinQuery());
  auto twice = Pkcs11RootKey::Open(given, true);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("more than once"), std::string::npos);
  EXPECT_EQ(twice.status().message().find(kPin), std::string::npos);

  // The right PIN from a file (with the newline `echo` leaves), then from the caller.
  const fs::path pin_file = dir_ / "pin";
  std::ofstream(pin_file) << kPin << "\n";
  auto from_file =
      Pkcs11RootKey::Open(Options(Uri("pins", "k", "pin-source=file:" + pin_file.string())), true);
  ASSERT_TRUE(from_file.ok()) << from_file.status().message();
  from_file = InternalError("closed");  // logs out: the next open must log in again
  given.uri = Uri("pins", "k");
  auto from_caller = Pkcs11RootKey::Open(given, false);
  ASSERT_TRUE(from_caller.ok()) << from_caller.status().message();
  auto missing_file =
      Pkcs11RootKey::Open(Options(Uri("pins", "k", "pin-source=file:/nonexistent/pin")), false);
  ASSERT_FALSE(missing_file.ok());
  EXPECT_NE(missing_file.status().message().find("cannot read the PIN file"), std::string::npos);
}

TEST_F(Pkcs11RootKeyTest, NamesWhatIsWrongWithTheUri) {
  struct Case {
    std::string uri;
    std::string expected;
  };
  const std::string pin = PinQuery();
  const Case cases[] = {
      {"file:///etc/passwd", "URI is invalid"},
      {"pkcs11:token=uris;object=k?" + pin, "must name the module"},
      {"pkcs11:token=uris?module-path=" + std::string(kModule) + "&" + pin, "object=LABEL"},
      {"pkcs11:token=uris;objekt=k?module-path=" + std::string(kModule), "not in RFC 7512"},
      {"pkcs11:token=uris;object=k?module-path=/nonexistent/module.so&" + pin,
       "cannot load the PKCS#11 module /nonexistent/module.so"},
      {Uri("no-such-token", "k", pin), "no token of the PKCS#11 module"},
      {"pkcs11:object=k?module-path=" + std::string(kModule) + "&" + pin, "tokens of the PKCS#11"},
      {Uri("uris", "k", "slot-id=x&" + pin), "slot-id must be a number"},
      {Uri("uris", "k", "slot-id=424242&" + pin), "no token of the PKCS#11 module"},
  };
  for (const Case& c : cases) {
    auto key = Pkcs11RootKey::Open(Options(c.uri), true);
    ASSERT_FALSE(key.ok()) << c.uri;
    EXPECT_NE(key.status().message().find(c.expected), std::string::npos)
        << c.uri << " -> " << key.status().message();
    EXPECT_EQ(key.status().message().find(kPin), std::string::npos) << c.uri;
  }
  // The operator is told which tokens there are.
  auto listed = Pkcs11RootKey::Open(Options(Uri("no-such-token", "k", pin)), true);
  EXPECT_NE(listed.status().message().find("'uris'"), std::string::npos);
}

TEST_F(Pkcs11RootKeyTest, ManyThreadsWrapAndUnwrapAtOnce) {
  auto key = OpenOrDie("threads", true);
  ASSERT_TRUE(key);
  constexpr int kThreads = 8;
  constexpr int kRounds = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string context = "thread/" + std::to_string(t) + "/" + std::to_string(i);
        SecretBytes plain = RandomSecret(1 + (i % 64));
        auto wrapped = key->Wrap(plain.span(), context);
        if (!wrapped.ok()) {
          ++failures;
          continue;
        }
        auto opened = key->Unwrap(*wrapped, context);
        if (!opened.ok() || !std::equal(opened->span().begin(), opened->span().end(),
                                        plain.span().begin(), plain.span().end())) {
          ++failures;
        }
        if (key->Unwrap(*wrapped, context + "x").ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace hangar::crypto
