// The REST/XML face of S3 Object Lock: ?object-lock on a bucket, ?retention and ?legal-hold on an
// object version (docs/reference/s3-data-protection.md §2, docs/s3-object-lock.md).

#include "common/strings.h"
#include "s3/api_ops.h"

namespace hangar::s3::api {
namespace {

bool IsLockMode(std::string_view mode) { return mode == "GOVERNANCE" || mode == "COMPLIANCE"; }

// Errors: kMalformedXml for every shape S3 refuses (s3-data-protection.md §2.2); kValidation for
// a period that is not a positive integer.
Result<ObjectLockConfiguration> ParseLockConfiguration(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "ObjectLockConfiguration"));
  if (doc.Text("ObjectLockEnabled") != "Enabled") return MalformedXmlError();
  ObjectLockConfiguration c{true, {}};
  if (!doc.Has("Rule")) return c;
  auto retentions = doc.Grandchildren("Rule", "DefaultRetention");
  if (retentions.size() != 1) return MalformedXmlError();
  const auto& r = retentions[0];
  const bool days = HasField(r, "Days"), years = HasField(r, "Years");
  c.rule.mode = FieldValue(r, "Mode");
  if (!IsLockMode(c.rule.mode) || days == years) return MalformedXmlError();
  const std::string period = FieldValue(r, days ? "Days" : "Years");
  HANGAR_ASSIGN_OR_RETURN(int value, IntArgument(period, days ? "Days" : "Years", 0,
                                                 std::numeric_limits<int>::min(), 36500));
  if (value <= 0) {
    return Error(ErrorCode::kValidation, "Default retention period must be a positive integer value.")
        .WithField("ArgumentName", days ? "Days" : "Years");
  }
  (days ? c.rule.days : c.rule.years) = value;
  return c;
}

Result<HttpResponse> HandlePutObjectLockConfiguration(S3Service& s3,
                                                      const auth::RequestContext& ctx,
                                                      const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(ObjectLockConfiguration c, ParseLockConfiguration(body));
  HANGAR_RETURN_IF_ERROR(s3.PutObjectLockConfiguration(ctx, r.bucket, c));
  return Empty(200);
}

Result<HttpResponse> HandleGetObjectLockConfiguration(S3Service& s3,
                                                      const auth::RequestContext& ctx,
                                                      const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(ObjectLockConfiguration c, s3.GetObjectLockConfiguration(ctx, r.bucket));
  XmlWriter x("ObjectLockConfiguration");
  x.Element("ObjectLockEnabled", "Enabled");
  if (!c.rule.mode.empty()) {
    x.Open("Rule").Open("DefaultRetention").Element("Mode", c.rule.mode);
    if (c.rule.days > 0) x.Element("Days", static_cast<uint64_t>(c.rule.days));
    if (c.rule.years > 0) x.Element("Years", static_cast<uint64_t>(c.rule.years));
    x.Close("DefaultRetention").Close("Rule");
  }
  return Xml(x.Finish());
}

// <Retention><Mode/><RetainUntilDate/></Retention>; an empty <Retention/> removes it.
Result<ObjectLock> ParseRetention(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "Retention"));
  ObjectLock retention;
  const bool mode = doc.Has("Mode"), until = doc.Has("RetainUntilDate");
  if (mode != until) return MalformedXmlError();
  if (!mode) return retention;
  retention.mode = doc.Text("Mode");
  auto at = ParseIso8601(doc.Text("RetainUntilDate"));
  if (!IsLockMode(retention.mode) || !at) return MalformedXmlError();
  retention.until_ms = ToUnixMillis(*at);
  return retention;
}

Result<HttpResponse> HandlePutObjectRetention(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(ObjectLock retention, ParseRetention(body));
  DeleteOptions bypass;
  BypassFrom(r.headers(), bypass);
  const std::optional<std::string> version_id = r.query.Get("versionId");
  HANGAR_RETURN_IF_ERROR(s3.PutObjectRetention(ctx, r.bucket, r.key, version_id, retention,
                                               bypass.bypass_governance));
  return Empty(200);
}

Result<HttpResponse> HandleGetObjectRetention(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(ObjectLock lock, s3.GetObjectRetention(ctx, r.bucket, r.key,
                                                                 r.query.Get("versionId")));
  XmlWriter x("Retention");
  x.Element("Mode", lock.mode).Element("RetainUntilDate", Iso(lock.until_ms));
  return Xml(x.Finish());
}

Result<HttpResponse> HandlePutObjectLegalHold(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "LegalHold"));
  const std::string status = doc.Text("Status");
  if (status != "ON" && status != "OFF") return MalformedXmlError();
  HANGAR_RETURN_IF_ERROR(
      s3.PutObjectLegalHold(ctx, r.bucket, r.key, r.query.Get("versionId"), status));
  return Empty(200);
}

Result<HttpResponse> HandleGetObjectLegalHold(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string status, s3.GetObjectLegalHold(ctx, r.bucket, r.key,
                                                                    r.query.Get("versionId")));
  XmlWriter x("LegalHold");
  x.Element("Status", status);
  return Xml(x.Finish());
}

}  // namespace

// The Put operations need Content-MD5 or a checksum, as on AWS (VerifiedBufferedPayload).
const Operation kPutObjectLockConfiguration{.name = "PutObjectLockConfiguration",
                                            .body = Body::kXml,
                                            .admission = Admission::kBucketAction,
                                            .action = "s3:PutBucketObjectLockConfiguration",
                                            .handle = HandlePutObjectLockConfiguration};
const Operation kGetObjectLockConfiguration{.name = "GetObjectLockConfiguration",
                                            .handle = HandleGetObjectLockConfiguration};
const Operation kPutObjectRetention{.name = "PutObjectRetention",
                                    .event = Event::kData,
                                    .body = Body::kXml,
                                    .admission = Admission::kBucketExists,
                                    .handle = HandlePutObjectRetention};
const Operation kGetObjectRetention{
    .name = "GetObjectRetention", .event = Event::kData, .handle = HandleGetObjectRetention};
const Operation kPutObjectLegalHold{.name = "PutObjectLegalHold",
                                    .event = Event::kData,
                                    .body = Body::kXml,
                                    .admission = Admission::kBucketExists,
                                    .handle = HandlePutObjectLegalHold};
const Operation kGetObjectLegalHold{
    .name = "GetObjectLegalHold", .event = Event::kData, .handle = HandleGetObjectLegalHold};

}  // namespace hangar::s3::api
