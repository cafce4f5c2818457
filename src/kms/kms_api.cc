#include "kms/kms_api.h"

#include <unordered_map>
#include <unordered_set>

#include "common/check.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "kms/api_codec.h"

namespace hangar::kms {
namespace {

using api::json;
using api::Mode;
using api::Operation;

// AWS KMS operations that exist but are not offered yet: answered as unsupported, not unknown.
std::span<const Operation> LaterOperations() {
  static constexpr Operation kOperations[] = {
      {"CreateCustomKeyStore", nullptr, Mode::kWrite},
      {"DescribeCustomKeyStores", nullptr, Mode::kRead},
      {"UpdateCustomKeyStore", nullptr, Mode::kWrite},
      {"DeleteCustomKeyStore", nullptr, Mode::kWrite},
      {"ConnectCustomKeyStore", nullptr, Mode::kWrite},
      {"DisconnectCustomKeyStore", nullptr, Mode::kWrite},
      {"GetKeyLastUsage", nullptr, Mode::kRead},
  };
  return kOperations;
}

// The operation named `name`, or null. The index is built once, on first use, from every area's
// list; a name listed twice is a programming error caught at the first request.
const Operation* FindOperation(std::string_view name) {
  static const auto* index = [] {
    auto* map = new std::unordered_map<std::string_view, const Operation*>;
    for (std::span<const Operation> area :
         {api::KeyOperations(), api::KeyAttributeOperations(), api::CryptoOperations(),
          api::AsymmetricOperations(), api::GrantOperations(), LaterOperations()}) {
      for (const Operation& op : area) {
        bool added = map->emplace(op.name, &op).second;
        HANGAR_CHECK(added);
      }
    }
    return map;
  }();
  auto it = index->find(name);
  return it == index->end() ? nullptr : it->second;
}

// Members CloudTrail leaves out: key material, secrets and what they protect, and blobs a record
// has no use for (messages, signatures, MACs, public keys).
bool SecretMember(std::string_view name) {
  static const auto* names = new std::unordered_set<std::string_view>{
      "Plaintext", "CiphertextBlob", "CiphertextForRecipient", "GrantToken",
      "PrivateKeyPlaintext", "PrivateKeyCiphertextBlob", "SharedSecret", "Message", "Signature",
      "Mac", "PublicKey", "EncryptedKeyMaterial", "ImportToken"};
  return names->contains(name);
}

// Request or response members as CloudTrail records them: camelCase names all the way down,
// without plaintexts, data keys, ciphertext blobs or grant tokens (docs/reference/audit.md §2).
// Written straight from the parsed request, without a second tree: this runs for every request.
// `verbatim`: an encryption context, recorded as given (its keys are the caller's, not members).
void AppendForAudit(std::string& out, const json& value, bool verbatim = false) {
  if (value.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [name, member] : value.items()) {
      if (!verbatim && SecretMember(name)) continue;
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, verbatim ? name : api::MemberPath(name));
      out += ':';
      AppendForAudit(out, member, verbatim || name == "EncryptionContext");
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ',';
      AppendForAudit(out, value[i], verbatim);
    }
    out += ']';
  } else if (value.is_string()) {
    AppendJsonString(out, value.get_ref<const std::string&>());
  } else {
    out += value.dump();
  }
}

std::string ForAudit(const json& value) {
  std::string out;
  AppendForAudit(out, value);
  return out;
}

// Invalid UTF-8 in a caller's strings is written as U+FFFD rather than failing the dump.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The request object. An empty body is an empty request object (the aws CLI sends "{}", others
// may send nothing). Nesting is bounded before a tree is built: a body nested 500,000 deep must
// cost nothing.
Result<json> ParseRequest(std::string_view body) {
  json request = body.empty() ? json::object()
                 : JsonNestingWithin(body, kMaxJsonDepth)
                     ? json::parse(body, nullptr, /*allow_exceptions=*/false)
                     : json(json::value_t::discarded);
  if (request.is_discarded()) {
    return Error(ErrorCode::kSerialization, "Start of structure or map found where not expected.");
  }
  if (!request.is_object()) {
    return Error(ErrorCode::kSerialization, "Request body must be a JSON object.");
  }
  return request;
}

}  // namespace

bool KmsApi::RunsInline(std::string_view operation) {
  const Operation* op = FindOperation(operation);
  return op != nullptr && op->mode == Mode::kInlineRead;
}

bool KmsApi::IsReadOnly(std::string_view operation) {
  if (const Operation* op = FindOperation(operation)) return op->mode != Mode::kWrite;
  // A name KMS does not have is still recorded (the caller asked for it), judged by its prefix as
  // AWS names reads; GenerateDataKeyPair* counts as a read, as its two real operations do.
  return operation.starts_with("Describe") || operation.starts_with("Get") ||
         operation.starts_with("List") || operation.starts_with("GenerateDataKeyPair");
}

Result<std::string> KmsApi::Call(const auth::RequestContext& ctx, std::string_view operation,
                                 std::string_view body) {
  const Operation* op = FindOperation(operation);
  if (op == nullptr) return Error(ErrorCode::kUnknownOperation, "");
  if (op->handler == nullptr) {
    return Error(ErrorCode::kNotImplemented,
                 "Operation " + std::string(operation) + " is not supported by this server yet.");
  }
  HANGAR_ASSIGN_OR_RETURN(json request, ParseRequest(body));
  if (ctx.audit) ctx.audit->request_parameters = ForAudit(request);
  api::Input input(request);
  auto result = op->handler(service_, ctx, input);
  if (ctx.audit && op->adjust_audit != nullptr) {
    json recorded = json::parse(ForAudit(request));
    op->adjust_audit(recorded, *ctx.audit);
    ctx.audit->request_parameters = Dump(recorded);
  }
  if (!result.ok()) return result.status();
  json response = std::move(result).value();
  if (ctx.audit && op->mode == Mode::kWrite) ctx.audit->response_elements = ForAudit(response);
  return Dump(response);
}

}  // namespace hangar::kms
