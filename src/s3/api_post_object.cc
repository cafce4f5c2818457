// POST Object: an upload from an HTML form (browser-based upload), authenticated by the SigV4
// signature of a POST policy inside the form rather than by the request.
// Spec: S3 API Reference "POST Object" (RESTObjectPOST), "Creating a POST Policy"
// (sigv4-HTTPPOSTConstructPolicy), "Browser-Based Uploads Using POST (AWS Signature Version 4)";
// the choices and AWS's observed answers are in docs/s3-post-object.md.
//
// The router sees no Authorization header and admits the request as anonymous; this handler
//   1. reads the form's fields, up to the `file` part (S3 reads no field after it);
//   2. verifies the policy's signature with the credential's signing key (auth::SigV4Verifier);
//   3. checks the policy: expiration, every condition, no field it does not name;
//   4. runs the upload as the credential's principal through S3Service::PutObject, so IAM and
//      bucket policies, SSE (defaults, SSE-KMS, DSSE, SSE-C), Object Lock, versioning and the
//      audit record apply exactly as to a PUT, the file part streaming into it;
//   5. answers 204, 200, 201 with a PostResponse document, or 303 to success_action_redirect.

#include <algorithm>
#include <chrono>

#include "common/json_writer.h"
#include "common/strings.h"
#include "s3/api_ops.h"
#include "s3/post_form.h"
#include "s3/post_policy.h"
#include "s3/tags.h"

namespace hangar::s3::api {
namespace {

// S3 caps what precedes the file (MaxPostPreDataLengthExceededError); Hangar holds the fields in
// memory, and reads at most as much after the file to find the body's end.
constexpr size_t kMaxFieldBytes = 20 * 1024;
constexpr size_t kMaxBytesAfterFile = 20 * 1024;

Status InvalidArgument(std::string message, std::string_view name, std::string_view value) {
  return Error(ErrorCode::kValidation, std::move(message))
      .WithField("ArgumentName", std::string(name))
      .WithField("ArgumentValue", std::string(value));
}

Status MissingField(std::string_view spelt) {
  return InvalidArgument("Bucket POST must contain a field named '" + std::string(spelt) +
                             "'.  If it is specified, please check the order of the fields.",
                         spelt, "");
}

struct Form {
  HeaderList fields;  // the fields before the file, names lower-case
  FormPart file;
};

// Step 1. Errors: kMalformedPostRequest, kMaxPostPreDataLengthExceeded, kValidation (no file, a
// field twice).
Result<Form> ReadFields(MultipartFormReader& reader) {
  const Status too_large =
      Error(ErrorCode::kMaxPostPreDataLengthExceeded,
            "Your POST request fields preceding the upload file were too large.")
          .WithField("MaxPostPreDataLength", std::to_string(kMaxFieldBytes));
  Form form;
  size_t budget = kMaxFieldBytes;
  while (true) {
    HANGAR_ASSIGN_OR_RETURN(std::optional<FormPart> part, reader.NextPart());
    if (!part) {
      return InvalidArgument("POST requires exactly one file upload per request.", "file", "0");
    }
    const std::string name = ToLower(part->name);
    if (name == "file") {
      form.file = std::move(*part);
      return form;
    }
    if (name.size() > budget) return too_large;
    budget -= name.size();
    HANGAR_ASSIGN_OR_RETURN(std::string value, reader.ReadPartWhole(budget, too_large));
    budget -= value.size();
    // One value per field: the policy is checked against the value the upload then uses.
    if (form.fields.Has(name)) {
      return InvalidArgument("Bucket POST may contain each field only once.", part->name, value);
    }
    form.fields.Add(name, value);
  }
}

// Step 2: the signer, or nullopt for a form nobody signed (served as far as the bucket policy lets
// anonymous callers write; its policy field, if any, then means nothing, as on S3).
// Errors: kValidation (a signature field missing), kInvalidRequest (Signature Version 2), those of
// SigV4Verifier::VerifyPostPolicy.
Result<std::optional<auth::VerifiedRequest>> VerifySigner(const OpRequest& r, const HeaderList& f) {
  if (f.Has("awsaccesskeyid") || (f.Has("signature") && !f.Has("x-amz-signature"))) {
    return Error(ErrorCode::kInvalidRequest,
                 "The authorization mechanism you have provided is not supported. Please use "
                 "AWS4-HMAC-SHA256.");
  }
  const bool signed_form = f.Has("x-amz-algorithm") || f.Has("x-amz-credential") ||
                           f.Has("x-amz-signature") || f.Has("x-amz-date");
  if (!signed_form) return std::optional<auth::VerifiedRequest>();
  // The order in which S3 names what is missing (docs/s3-post-object.md).
  for (std::string_view spelt :
       {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "Policy"}) {
    if (!f.Has(ToLower(spelt))) return MissingField(spelt);
  }
  if (r.post_signatures == nullptr) {
    return Error(ErrorCode::kNotImplemented, "POST Object is not enabled on this server.");
  }
  HANGAR_ASSIGN_OR_RETURN(
      auth::VerifiedRequest verified,
      r.post_signatures->VerifyPostPolicy({.algorithm = f.Get("x-amz-algorithm"),
                                           .credential = f.Get("x-amz-credential"),
                                           .date = f.Get("x-amz-date"),
                                           .signature = f.Get("x-amz-signature"),
                                           .security_token = f.Get("x-amz-security-token")},
                                          f.Get("policy")));
  return std::optional<auth::VerifiedRequest>(std::move(verified));
}

// The upload runs as the form's signer, as the router would have built the context for a request
// that signer had signed itself; the audit record learns the caller through the notes.
auth::RequestContext SignerContext(const auth::RequestContext& ctx,
                                   const auth::VerifiedRequest& v) {
  auth::RequestContext out = ctx;
  out.principal = v.principal;
  out.auth_type = "POST";  // S3's s3:authType value for browser-based uploads
  if (!v.scope.region.empty()) out.region = v.scope.region;
  if (auto signed_at = ParseAmzDate(v.amz_date)) {
    out.signature_age_ms = std::max<int64_t>(
        0, ToUnixMillis(std::chrono::system_clock::now()) - ToUnixMillis(*signed_at));
  }
  if (ctx.audit) {
    ctx.audit->caller = v.principal;
    ctx.audit->caller_auth_type = out.auth_type;
  }
  return out;
}

// Form fields that are not object headers: what they say is read here, not by PutObjectInputFrom.
bool IsControlField(std::string_view name) {
  return name == "key" || name == "policy" || name == "tagging" || name == "redirect" ||
         name == "success_action_redirect" || name == "success_action_status" || name == "bucket" ||
         name.starts_with("x-ignore-") || name == "x-amz-algorithm" || name == "x-amz-credential" ||
         name == "x-amz-date" || name == "x-amz-signature" || name == "x-amz-security-token";
}

// Step 4's input: the fields that name object headers taken as those headers (`acl` is
// x-amz-acl), tags from the `tagging` field's XML. Errors: those of PutObjectInputFrom;
// kMalformedXml (tagging).
Result<PutObjectInput> UploadInput(const OpRequest& r, const HeaderList& f, std::string key) {
  HeaderList headers;
  for (const HeaderList::Field& field : f.fields()) {
    if (IsControlField(field.name)) continue;
    headers.Add(field.name == "acl" ? "x-amz-acl" : std::string_view(field.name), field.value);
  }
  HANGAR_ASSIGN_OR_RETURN(PutObjectInput input,
                          PutObjectInputFrom(headers, r.bucket, key, /*tagging_header=*/false));
  if (const std::string* tagging = f.Find("tagging")) {
    HANGAR_ASSIGN_OR_RETURN(input.tags, ParseTaggingXml(*tagging));
  }
  input.length_known_at_end = true;
  return input;
}

// The file part as PutObject reads it: content-length-range enforced as it streams, and the rest
// of the form read to the body's end before the final 0 vouches for the upload (PayloadReader's
// contract).
class FilePartReader final : public auth::PayloadReader {
 public:
  FilePartReader(MultipartFormReader& form, LengthRange range) : form_(form), range_(range) {}

  Result<size_t> Read(std::span<char> into) override {
    if (done_) return size_t{0};
    HANGAR_ASSIGN_OR_RETURN(size_t n, form_.ReadPart(into));
    size_ += n;
    if (size_ > range_.max) {
      return Error(ErrorCode::kEntityTooLarge,
                   "Your proposed upload exceeds the maximum allowed size")
          .WithField("ProposedSize", std::to_string(size_))
          .WithField("MaxSizeAllowed", std::to_string(range_.max));
    }
    if (n > 0 || into.empty()) return n;
    if (size_ < range_.min) {
      return Error(ErrorCode::kEntityTooSmall,
                   "Your proposed upload is smaller than the minimum allowed size")
          .WithField("ProposedSize", std::to_string(size_))
          .WithField("MinSizeAllowed", std::to_string(range_.min));
    }
    HANGAR_RETURN_IF_ERROR(form_.Finish(kMaxBytesAfterFile));
    done_ = true;
    return size_t{0};
  }

 private:
  MultipartFormReader& form_;
  const LengthRange range_;
  uint64_t size_ = 0;
  bool done_ = false;
};

// Where the object now is: path-style or virtual-hosted as the form was addressed.
std::string ObjectUrl(const OpRequest& r, std::string_view key) {
  std::string url = r.http.secure_transport ? "https://" : "http://";
  url += r.headers().Get("host");
  if (r.http.path.starts_with("/" + r.bucket)) url += "/" + UriEncode(r.bucket, false);
  return url + "/" + UriEncode(key, /*keep_slash=*/true);
}

// An absolute http(s) URL; S3 ignores another success_action_redirect and answers 204.
bool IsRedirectUrl(std::string_view url) {
  const std::string lower = ToLower(url.substr(0, 8));
  return (lower.starts_with("http://") && url.size() > 7) ||
         (lower.starts_with("https://") && url.size() > 8);
}

// Step 5.
HttpResponse Render(const OpRequest& r, const HeaderList& f, std::string_view key,
                    const PutObjectOutput& out) {
  HttpResponse response;
  std::string_view redirect = f.Get("success_action_redirect");
  if (redirect.empty()) redirect = f.Get("redirect");
  const std::string_view status = f.Get("success_action_status");
  if (IsRedirectUrl(redirect)) {
    response = Empty(303);
    std::string location(redirect);
    location += location.find('?') == std::string::npos ? '?' : '&';
    location += "bucket=" + UriEncode(r.bucket, false) + "&key=" + UriEncode(key, false) +
                "&etag=" + UriEncode(out.etag, false);
    response.headers.Add("Location", location);
  } else if (status == "201") {
    XmlWriter x("PostResponse", /*with_namespace=*/false);
    x.Element("Location", ObjectUrl(r, key))
        .Element("Bucket", r.bucket)
        .Element("Key", key)
        .Element("ETag", out.etag);
    response = Xml(x.Finish(), 201);
    response.headers.Add("Location", ObjectUrl(r, key));
  } else {
    response = Empty(status == "200" ? 200 : 204);
    response.headers.Add("Location", ObjectUrl(r, key));
  }
  response.headers.Add("ETag", out.etag);
  AddSseHeaders(response, out.encryption);
  AddVersionHeader(response, out.version_id);
  return response;
}

// The object the form names, for the audit record (the request's path names only the bucket).
void NoteObject(const auth::RequestContext& ctx, const OpRequest& r, std::string_view key) {
  if (!ctx.audit) return;
  ctx.audit->AddResource("AWS::S3::Object", "arn:aws:s3:::" + r.bucket + "/" + std::string(key),
                         "");
  std::string params;
  JsonObjectWriter writer(params);
  writer.String("Host", r.headers().Get("host"));
  writer.String("bucketName", r.bucket);
  writer.String("key", key);
  writer.Finish();
  ctx.audit->request_parameters = std::move(params);
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

Result<HttpResponse> HandlePostObject(S3Service& s3, const auth::RequestContext& ctx,
                                      const OpRequest& r) {
  std::optional<std::string> boundary = FormBoundary(r.headers().Get("content-type"));
  if (!boundary) {
    return Error(ErrorCode::kPreconditionFailed,
                 "At least one of the pre-conditions you specified did not hold")
        .WithField("Condition", "Bucket POST must be of the enclosure-type multipart/form-data");
  }
  // A header-signed POST has its body held to x-amz-content-sha256; a form's is nobody's claim.
  HANGAR_ASSIGN_OR_RETURN(auto body, UploadPayload(r));
  MultipartFormReader reader(*body, *boundary);

  // 1. The fields.
  HANGAR_ASSIGN_OR_RETURN(Form form, ReadFields(reader));
  HeaderList& f = form.fields;
  // 2. The signer.
  HANGAR_ASSIGN_OR_RETURN(std::optional<auth::VerifiedRequest> signer, VerifySigner(r, f));
  const std::string* key_field = f.Find("key");
  if (key_field == nullptr) return MissingField("key");
  // ${filename} is the file part's name; the conditions see the key with it replaced.
  if (form.file.filename) f.Set("key", ReplaceAll(*key_field, "${filename}", *form.file.filename));
  const std::string key(f.Get("key"));
  NoteObject(ctx, r, key);
  // 3. The policy: only a signed one binds (a form nobody signed is anonymous whatever it says).
  LengthRange range;
  if (signer) {
    HANGAR_ASSIGN_OR_RETURN(PostPolicy policy, ParsePostPolicy(f.Get("policy")));
    HANGAR_ASSIGN_OR_RETURN(range,
                            CheckPostPolicy(policy, f, r.bucket, std::chrono::system_clock::now()));
  }
  // 4. The upload.
  const auth::RequestContext upload_ctx = signer ? SignerContext(ctx, *signer) : ctx;
  HANGAR_ASSIGN_OR_RETURN(PutObjectInput input, UploadInput(r, f, key));
  FilePartReader file(reader, range);
  HANGAR_ASSIGN_OR_RETURN(PutObjectOutput out, s3.PutObject(upload_ctx, input, file));
  // 5. The answer.
  return Render(r, f, key, out);
}

}  // namespace

// Authorised inside PutObject, once the form says who signed it: nothing to admit before the body.
const Operation kPostObject{.name = "PostObject",
                            .event = Event::kData,
                            .body = Body::kObjectBytes,
                            .admission = Admission::kNone,
                            .handle = HandlePostObject};

}  // namespace hangar::s3::api
