#include "app/kms_gateway.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace hangar::app {
namespace {

constexpr std::string_view kS3Service = "s3.amazonaws.com";

// The KMS call's own context: same caller, its own notes (the key it resolved).
auth::RequestContext CallContext(const auth::RequestContext& request_ctx,
                                 std::shared_ptr<auth::AuditNotes> notes) {
  auth::RequestContext ctx = request_ctx;
  ctx.audit = std::move(notes);
  return ctx;
}

std::string ContextJson(const s3::KmsContext& context) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [k, v] : context) object[k] = v;
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void KeyServiceGateway::Record(const auth::RequestContext& ctx, std::string_view operation,
                               const auth::AuditNotes& call, const Status& outcome) {
  if (audit_ == nullptr || !ctx.audit) return;
  audit::AuditEvent e;
  e.event_time = ctx.now;
  e.event_id = NewRequestId();
  e.event_source = "kms.amazonaws.com";
  e.event_name = std::string(operation);
  e.region = ctx.region;
  e.principal = ctx.principal;
  e.account_id = ctx.principal.account_id;
  e.invoked_by = std::string(kS3Service);
  e.source_ip = std::string(kS3Service);
  e.user_agent = std::string(kS3Service);
  if (!outcome.ok()) {
    e.error_code = std::string(WireOf(outcome.code()).json_type);
    e.error_message = outcome.message();
  }
  e.request_parameters = call.request_parameters;
  e.request_id = NewRequestId();
  e.read_only = true;
  e.resources = call.resources;
  e.recipient_account_id = call.recipient_account_id;
  audit_->Append(e, [request_notes = ctx.audit](const Status& written) {
    if (!written.ok()) request_notes->related_record_failed = true;
  });
}

Result<s3::KmsGateway::DataKey> KeyServiceGateway::GenerateDataKey(
    const auth::RequestContext& ctx, std::string_view key_id, const s3::KmsContext& context) {
  kms::GenerateDataKeyInput input;
  input.key_id = std::string(key_id);
  input.context = context;
  input.key_spec = "AES_256";
  auto notes = std::make_shared<auth::AuditNotes>();
  notes->request_parameters = nlohmann::json{{"keyId", std::string(key_id)},
                                             {"keySpec", "AES_256"},
                                             {"encryptionContext",
                                              nlohmann::json::parse(ContextJson(context))}}
                                  .dump(-1, ' ', false,
                                        nlohmann::json::error_handler_t::replace);
  auto out = keys_.GenerateDataKey(CallContext(ctx, notes), input, /*with_plaintext=*/true);
  if (metrics_ != nullptr) metrics_->RecordKmsCall("GenerateDataKey", metrics::KmsCaller::kS3);
  Record(ctx, "GenerateDataKey", *notes, out.status());
  if (!out.ok()) return out.status();
  return DataKey{std::move(out->plaintext), std::move(out->ciphertext), std::move(out->key_arn)};
}

Result<SecretBytes> KeyServiceGateway::Decrypt(const auth::RequestContext& ctx,
                                               std::string_view ciphertext,
                                               const s3::KmsContext& context) {
  kms::DecryptInput input;
  input.ciphertext = std::string(ciphertext);
  input.context = context;
  auto notes = std::make_shared<auth::AuditNotes>();
  notes->request_parameters = nlohmann::json{{"encryptionAlgorithm", "SYMMETRIC_DEFAULT"},
                                             {"encryptionContext",
                                              nlohmann::json::parse(ContextJson(context))}}
                                  .dump(-1, ' ', false,
                                        nlohmann::json::error_handler_t::replace);
  auto out = keys_.Decrypt(CallContext(ctx, notes), input);
  if (metrics_ != nullptr) metrics_->RecordKmsCall("Decrypt", metrics::KmsCaller::kS3);
  if (!notes->resources.empty()) {
    // As AWS records Decrypt: with the key the ciphertext named, resolved.
    auto params = nlohmann::json::parse(notes->request_parameters);
    params["keyId"] = notes->resources.front().arn;
    notes->request_parameters = params.dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace);
  }
  Record(ctx, "Decrypt", *notes, out.status());
  if (!out.ok()) return out.status();
  return std::move(out->plaintext);
}

Result<std::string> KeyServiceGateway::DefaultKeyArn(const auth::RequestContext& ctx) {
  // Created only for a caller its policy lets use it through S3.
  HANGAR_ASSIGN_OR_RETURN(kms::KeyRecord key,
                          keys_.GetOrCreateAwsManagedKey(CallContext(ctx, nullptr), "s3",
                                                         "GenerateDataKey"));
  return key.arn;
}

Result<std::string> KeyServiceGateway::CheckKeyUsable(const auth::RequestContext& ctx,
                                                      std::string_view key_id,
                                                      std::string_view action,
                                                      const s3::KmsContext& context) {
  // Not a KMS call (a cached Bucket Key is checked): no record, and nothing noted on S3's.
  return keys_.CheckKeyUsable(CallContext(ctx, nullptr), key_id, action, context);
}

Result<s3::KmsGateway::KeyStatus> KeyServiceGateway::DescribeKeyState(
    const auth::RequestContext& ctx, std::string_view key_arn) {
  // A read S3 makes to decorate a response, as CheckKeyUsable: no record of its own.
  HANGAR_ASSIGN_OR_RETURN(kms::KeyRecord key, keys_.DescribeKey(CallContext(ctx, nullptr), key_arn));
  return KeyStatus{std::string(kms::KeyStateName(key.state)), key.deletion_ms};
}

}  // namespace hangar::app
