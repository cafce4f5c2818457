// The REST/XML face of object ownership and ACLs (docs/s3-acls.md): ?ownershipControls, ?acl on
// buckets and objects, and the ACL headers of writes (x-amz-acl, x-amz-grant-*).

#include <array>

#include "common/strings.h"
#include "s3/access_api.h"
#include "s3/api_ops.h"
#include "s3/xml.h"

namespace hangar::s3 {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kGrantHeaders = {{
    {"x-amz-grant-read", "READ"},
    {"x-amz-grant-write", "WRITE"},
    {"x-amz-grant-read-acp", "READ_ACP"},
    {"x-amz-grant-write-acp", "WRITE_ACP"},
    {"x-amz-grant-full-control", "FULL_CONTROL"},
}};

Status BadGrantHeader(std::string_view header, std::string_view value) {
  return Error(ErrorCode::kValidation, "Argument format not recognized")
      .WithField("ArgumentName", std::string(header))
      .WithField("ArgumentValue", std::string(value));
}

// `id="...", uri="...", emailAddress="..."`: a header's grantees, each a type and a value.
Status ParseGrantHeader(std::string_view header, std::string_view permission,
                        std::string_view value, std::vector<GranteeRef>& into) {
  if (Trim(value).empty()) return BadGrantHeader(header, value);
  std::string_view rest = value;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    // A trailing comma leaves an empty item: refused like any other malformed one.
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (comma != std::string_view::npos && Trim(rest).empty()) return BadGrantHeader(header, value);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return BadGrantHeader(header, value);
    std::string_view type = Trim(item.substr(0, eq));
    // The value is quoted as the API reference writes it; the aws CLI sends it bare.
    std::string_view grantee = Trim(item.substr(eq + 1));
    if (grantee.size() >= 2 && grantee.front() == '"' && grantee.back() == '"') {
      grantee = grantee.substr(1, grantee.size() - 2);
    }
    if (grantee.empty() || grantee.find('"') != std::string_view::npos) {
      return BadGrantHeader(header, value);
    }
    GranteeRef ref;
    ref.value = std::string(grantee);
    ref.permission = std::string(permission);
    if (type == "id") {
      ref.kind = GranteeRef::Kind::kCanonicalUser;
    } else if (type == "uri") {
      ref.kind = GranteeRef::Kind::kGroup;
    } else if (type == "emailAddress") {
      ref.kind = GranteeRef::Kind::kEmail;
    } else {
      return BadGrantHeader(header, value);
    }
    into.push_back(std::move(ref));
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<AclRequest>> AclRequestFrom(const HeaderList& headers) {
  AclRequest request;
  bool any_grant = false;
  for (const auto& [header, permission] : kGrantHeaders) {
    if (const std::string* value = headers.Find(header)) {
      any_grant = true;
      HANGAR_RETURN_IF_ERROR(ParseGrantHeader(header, permission, *value, request.grants));
      request.headers.emplace_back(header, *value);
    }
  }
  const std::string* canned = headers.Find("x-amz-acl");
  if (canned && any_grant) {
    return Error(ErrorCode::kInvalidRequest,
                 "Specifying both Canned ACLs and Header Grants is not allowed");
  }
  if (canned) {
    request.canned = *canned;
    request.headers.emplace_back("x-amz-acl", *canned);
  }
  if (!canned && !any_grant) return std::optional<AclRequest>();
  return std::optional<AclRequest>(std::move(request));
}

namespace api {
namespace {

Status MalformedAcl() {
  return Error(ErrorCode::kMalformedAcl,
               "The XML you provided was not well-formed or did not validate against our "
               "published schema");
}

// An AccessControlPolicy document's grants. The grantee's kind is read from what it holds (ID,
// URI or EmailAddress), which is what its xsi:type attribute names.
Result<AclRequest> AclRequestFromDocument(std::string_view body) {
  auto doc = XmlDocument::Parse(body, "AccessControlPolicy");
  if (!doc.ok()) return MalformedAcl();
  XmlNode root = doc->Tree();
  AclRequest request;
  request.from_document = true;
  const XmlNode* list = root.Child("AccessControlList");
  if (list == nullptr || root.Child("Owner") == nullptr) return MalformedAcl();
  for (const XmlNode* grant : list->All("Grant")) {
    const XmlNode* grantee = grant->Child("Grantee");
    const XmlNode* permission = grant->Child("Permission");
    if (grantee == nullptr || permission == nullptr) return MalformedAcl();
    GranteeRef ref;
    ref.permission = permission->text;
    if (const XmlNode* id = grantee->Child("ID")) {
      ref.kind = GranteeRef::Kind::kCanonicalUser;
      ref.value = id->text;
    } else if (const XmlNode* uri = grantee->Child("URI")) {
      ref.kind = GranteeRef::Kind::kGroup;
      ref.value = uri->text;
    } else if (const XmlNode* email = grantee->Child("EmailAddress")) {
      ref.kind = GranteeRef::Kind::kEmail;
      ref.value = email->text;
    } else {
      return MalformedAcl();
    }
    request.grants.push_back(std::move(ref));
  }
  return request;
}

// What a PutBucketAcl / PutObjectAcl asks: headers or a document, not both.
Result<AclRequest> AclRequestOf(const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body,
                          VerifiedBufferedPayload(r.http, r.verified, /*checksum_required=*/false));
  HANGAR_ASSIGN_OR_RETURN(auto from_headers, AclRequestFrom(r.headers()));
  const bool has_body = !Trim(body).empty();
  if (from_headers && has_body) {
    return Error(ErrorCode::kUnexpectedContent, "This request does not support content");
  }
  if (from_headers) return std::move(*from_headers);
  if (!has_body) {
    return Error(ErrorCode::kMissingSecurityHeader, "Your request was missing a required header")
        .WithField("MissingHeaderName", "x-amz-acl");
  }
  return AclRequestFromDocument(body);
}

// The Grantee element carries an xsi:type attribute the writer does not model: written by hand.
std::string GrantXml(const AclGrant& g) {
  std::string out = "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ";
  if (!g.account.empty()) {
    out += "xsi:type=\"CanonicalUser\"><ID>" + CanonicalUserId(g.account) + "</ID><DisplayName>" +
           XmlEscape(g.account) + "</DisplayName>";
  } else {
    out += "xsi:type=\"Group\"><URI>" + XmlEscape(GroupUri(g.group)) + "</URI>";
  }
  return out + "</Grantee><Permission>" + g.permission + "</Permission></Grant>";
}

HttpResponse RenderAcl(const S3Service::AclView& view) {
  XmlWriter x("AccessControlPolicy");
  AddOwner(x, view.owner);
  std::string doc = x.Finish();
  std::string grants = "<AccessControlList>";
  for (const AclGrant& g : view.acl) grants += GrantXml(g);
  grants += "</AccessControlList>";
  doc.insert(doc.rfind("</AccessControlPolicy>"), grants);
  return Xml(std::move(doc));
}

std::optional<std::string> VersionIdOf(const OpRequest& r) {
  return r.query.Has("versionId") ? std::optional<std::string>(r.query.GetOr("versionId", ""))
                                  : std::nullopt;
}

Result<HttpResponse> HandleGetBucketAcl(S3Service& s3, const auth::RequestContext& ctx,
                                        const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(auto view, s3.GetBucketAcl(ctx, r.bucket));
  return RenderAcl(view);
}

Result<HttpResponse> HandlePutBucketAcl(S3Service& s3, const auth::RequestContext& ctx,
                                        const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(AclRequest request, AclRequestOf(r));
  HANGAR_RETURN_IF_ERROR(s3.PutBucketAcl(ctx, r.bucket, request));
  return Empty(200);
}

Result<HttpResponse> HandleGetObjectAcl(S3Service& s3, const auth::RequestContext& ctx,
                                        const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(auto view, s3.GetObjectAcl(ctx, r.bucket, r.key, VersionIdOf(r)));
  return RenderAcl(view);
}

Result<HttpResponse> HandlePutObjectAcl(S3Service& s3, const auth::RequestContext& ctx,
                                        const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(AclRequest request, AclRequestOf(r));
  HANGAR_ASSIGN_OR_RETURN(auto version,
                          s3.PutObjectAcl(ctx, r.bucket, r.key, VersionIdOf(r), request));
  HttpResponse response = Empty(200);
  AddVersionHeader(response, version);
  return response;
}

Result<HttpResponse> HandlePutOwnershipControls(S3Service& s3, const auth::RequestContext& ctx,
                                                const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body,
                          VerifiedBufferedPayload(r.http, r.verified, /*checksum_required=*/false));
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "OwnershipControls"));
  auto rules = doc.Children("Rule");
  if (rules.size() != 1) return MalformedXmlError();
  HANGAR_RETURN_IF_ERROR(
      s3.PutOwnershipControls(ctx, r.bucket, FieldValue(rules[0], "ObjectOwnership")));
  return Empty(200);
}

Result<HttpResponse> HandleGetOwnershipControls(S3Service& s3, const auth::RequestContext& ctx,
                                                const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string ownership, s3.GetOwnershipControls(ctx, r.bucket));
  XmlWriter x("OwnershipControls");
  x.Open("Rule").Element("ObjectOwnership", ownership).Close("Rule");
  return Xml(x.Finish());
}

Result<HttpResponse> HandleDeleteOwnershipControls(S3Service& s3, const auth::RequestContext& ctx,
                                                   const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeleteOwnershipControls(ctx, r.bucket));
  return Empty(204);
}

}  // namespace

const Operation kGetBucketAcl{.name = "GetBucketAcl", .handle = HandleGetBucketAcl};
const Operation kPutBucketAcl{.name = "PutBucketAcl",
                              .body = Body::kXml,
                              .admission = Admission::kBucketAction,
                              .action = "s3:PutBucketAcl",
                              .handle = HandlePutBucketAcl};
const Operation kGetObjectAcl{
    .name = "GetObjectAcl", .event = Event::kData, .handle = HandleGetObjectAcl};
const Operation kPutObjectAcl{.name = "PutObjectAcl",
                              .event = Event::kData,
                              .body = Body::kXml,
                              .admission = Admission::kObjectAction,
                              .action = "s3:PutObjectAcl",
                              .handle = HandlePutObjectAcl};

const Operation kPutOwnershipControls{.name = "PutBucketOwnershipControls",
                                      .body = Body::kXml,
                                      .admission = Admission::kBucketAction,
                                      .action = "s3:PutBucketOwnershipControls",
                                      .handle = HandlePutOwnershipControls};
const Operation kGetOwnershipControls{.name = "GetBucketOwnershipControls",
                                      .handle = HandleGetOwnershipControls};
const Operation kDeleteOwnershipControls{.name = "DeleteBucketOwnershipControls",
                                         .handle = HandleDeleteOwnershipControls};

}  // namespace api
}  // namespace hangar::s3
