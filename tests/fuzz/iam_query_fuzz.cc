// The query protocol of IAM and STS: QueryParams and the real IamApi / StsApi on a real
// IdentityStore (SQLite store).
//
// Input: lines, each one request body (a form: Action=CreateUser&UserName=alice&...), run in
// order, so that one input can build what a later call needs (a user, then its policy):
//   sts <form>   StsApi::Call
//   as <name>    later calls are made by IAM user <name> of the account (by its root if there is
//                no such user, and for "as root")
//   <form>       IamApi::Call
// "$ACCOUNT" in a line stands for the account's id (role ARNs, policy ARNs, principals).
// Each input starts as the root of a fresh account once an earlier input changed anything, so
// that every input meets the same (empty) state.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "iam/iam_api.h"
#include "iam/query_protocol.h"
#include "iam/sts_api.h"

namespace hangar::fuzz {
namespace {

constexpr size_t kMaxCalls = 16;

// The accessors the APIs use, on one parsed form.
void ExerciseParams(std::string_view form) {
  Result<iam::QueryParams> params = iam::QueryParams::Parse(form);
  if (!params.ok()) return;
  (void)params->Required("UserName");
  (void)params->Int("MaxItems", 1, 1000, 100);
  (void)params->Int("DurationSeconds", 0, 1 << 30, 0);
  (void)params->Pairs("Tags.member", "Key", "Value");
  (void)params->GetOr("PolicyDocument", "");
}

bool Changes(std::string_view form) {
  Result<iam::QueryParams> params = iam::QueryParams::Parse(form);
  if (!params.ok()) return false;
  const std::string& action = params->action();
  return !action.starts_with("Get") && !action.starts_with("List");
}

class IamHarness {
 public:
  IamHarness()
      : services_(Services::Get()), iam_(*services_.identities), sts_(*services_.identities) {
    NewAccount();
  }

  void Run(std::string_view input) {
    if (dirty_) NewAccount();
    auth::RequestContext ctx = RootContext(account_, services_.clock);
    for (size_t calls = 0; !input.empty() && calls < kMaxCalls; ++calls) {
      const size_t nl = input.find('\n');
      std::string line(input.substr(0, nl));
      input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
      for (size_t at = line.find("$ACCOUNT"); at != std::string::npos;
           at = line.find("$ACCOUNT", at)) {
        line.replace(at, 8, account_);
      }
      if (line.starts_with("as ")) {
        ctx = ContextOf(std::string_view(line).substr(3));
        continue;
      }
      const bool sts = line.starts_with("sts ");
      const std::string_view form = sts ? std::string_view(line).substr(4) : std::string_view(line);
      ExerciseParams(form);
      Result<std::string> response = sts ? sts_.Call(ctx, form) : iam_.Call(ctx, form);
      if (response.ok() && Changes(form)) dirty_ = true;
    }
  }

 private:
  void NewAccount() {
    account_ =
        Require(services_.identities->CreateAccount(std::nullopt), "CreateAccount").account_id;
    dirty_ = false;
  }

  auth::RequestContext ContextOf(std::string_view user) {
    auth::RequestContext ctx = RootContext(account_, services_.clock);
    Result<iam::UserRecord> record = services_.identities->GetUser(account_, user);
    if (user == "root" || !record.ok()) return ctx;
    ctx.principal.type = auth::PrincipalType::kUser;
    ctx.principal.arn = record->arn;
    ctx.principal.user_id = record->user_id;
    ctx.principal.name = record->name;
    // A caller always arrives with the key that signed its request.
    auto keys = services_.identities->ListAccessKeys(account_, user);
    if (keys.ok() && !keys->empty()) {
      ctx.principal.access_key_id = keys->front().access_key_id;
    } else {
      auto key = services_.identities->CreateAccessKey(account_, user);
      if (!key.ok()) return RootContext(account_, services_.clock);
      ctx.principal.access_key_id = key->record.access_key_id;
      dirty_ = true;
    }
    return ctx;
  }

  Services& services_;
  iam::IamApi iam_;
  iam::StsApi sts_;
  std::string account_;
  bool dirty_ = false;
};

}  // namespace
}  // namespace hangar::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hangar::fuzz::IamHarness* harness = new hangar::fuzz::IamHarness();
  harness->Run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
