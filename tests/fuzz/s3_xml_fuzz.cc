// Every S3 request whose body is an XML (or JSON policy) document, through the real codec and
// service: S3Api::Plan, Admit and Handle as the router calls them, as the account root, on a
// real S3Service (SQLite metadata, file blobs, SSE through Hangar's own KMS).
//
// Input: byte 0 picks the operation (kOperations, modulo its size); the rest is the body. The
// request carries a correct Content-MD5 (several operations require one), so the body reaches
// the parser. Fixtures: bucket fuzz-bucket with object "obj" and a multipart upload of "mp"
// whose part 1 holds kPartBody; whatever an input changed is undone before the next.

#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/base64.h"
#include "crypto/digest.h"
#include "fuzz_support.h"
#include "s3/xml.h"

namespace hangar::fuzz {
namespace {

constexpr std::string_view kBucket = "fuzz-bucket";
constexpr std::string_view kNewBucket = "fuzz-new-bucket";  // CreateBucket's name
constexpr std::string_view kPartBody = "fuzz part one\n";   // part 1 of the upload

struct Operation {
  const char* method;
  const char* target;  // CompleteMultipartUpload gets the upload id appended
};

constexpr Operation kOperations[] = {
    {"PUT", "/fuzz-new-bucket"},                            // 0 CreateBucket configuration
    {"PUT", "/fuzz-bucket?tagging"},                        // 1 PutBucketTagging
    {"PUT", "/fuzz-bucket/obj?tagging"},                    // 2 PutObjectTagging
    {"PUT", "/fuzz-bucket?encryption"},                     // 3 PutBucketEncryption
    {"POST", "/fuzz-bucket?delete"},                        // 4 DeleteObjects
    {"POST", "/fuzz-bucket/mp?uploadId="},                  // 5 CompleteMultipartUpload
    {"PUT", "/fuzz-bucket?policy"},                         // 6 PutBucketPolicy
    {"PUT", "/fuzz-bucket?publicAccessBlock"},              // 7 PutPublicAccessBlock
    {"PUT", "/fuzz-bucket?ownershipControls"},              // 8 PutBucketOwnershipControls
    {"PUT", "/fuzz-bucket?acl"},                            // 9 PutBucketAcl
    {"PUT", "/fuzz-bucket/obj?acl"},                        // 10 PutObjectAcl
    {"PUT", "/v20180820/configuration/publicAccessBlock"},  // 11 S3 Control PutPublicAccessBlock
};

class S3Harness {
 public:
  S3Harness() : services_(Services::Get()), repository_(*services_.s3_repository) {
    Require(Call("PUT", "/" + std::string(kBucket), "").status(), "CreateBucket");
    auto bucket = Require(repository_.GetBucket(kBucket), "GetBucket");
    bucket_ = bucket->record;
    Restore();
  }

  // As the router: refuse an oversized body before reading it, admit, then handle.
  Result<HttpResponse> Call(std::string_view method, std::string target, std::string body) {
    HttpRequest request;
    request.method = std::string(method);
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    request.query = q == std::string::npos ? "" : target.substr(q + 1);
    request.target = std::move(target);
    request.headers.Add("Host", "localhost:9000");
    request.headers.Add("Content-Type", "application/xml");
    request.headers.Add("Content-MD5", crypto::Base64Encode(crypto::Md5(body)));
    request.headers.Add("x-amz-account-id", kAccountId);
    request.content_length = body.size();
    request.body = std::move(body);
    const auth::RequestContext ctx = RootContext(kAccountId, services_.clock);
    const s3::S3Api::BodyPlan plan = services_.s3_api->Plan(request);
    if (request.body.size() > plan.max_buffered) {
      return plan.too_large ? *plan.too_large : Error(ErrorCode::kRequestTooLarge, "too large");
    }
    HANGAR_RETURN_IF_ERROR(services_.s3_api->Admit(ctx, request));
    return services_.s3_api->Handle(ctx, request, nullptr);
  }

  void Run(uint8_t selector, std::string body) {
    const Operation& op = kOperations[selector % std::size(kOperations)];
    std::string target = op.target;
    if (target.ends_with("uploadId=")) target += upload_id_;
    (void)Call(op.method, std::move(target), std::move(body));
    Restore();  // also after a failure: a failed operation must not have changed anything either
  }

 private:
  // Puts the fixtures back as the constructor left them, bypassing authorisation (a fuzzed bucket
  // policy may deny the root everything).
  void Restore() {
    auto stored = Require(repository_.GetBucket(kBucket), "GetBucket");
    if (stored->revision != bucket_revision_) {
      Require(repository_.Commit({s3::S3Repository::UpdateBucket(bucket_, stored->revision)}),
              "restore bucket");
      bucket_revision_ = Require(repository_.GetBucket(kBucket), "GetBucket")->revision;
    }
    if (Require(repository_.GetAccountPublicAccessBlock(kAccountId), "GetAccountPAB")) {
      Require(repository_.PutAccountPublicAccessBlock(kAccountId, std::nullopt), "delete PAB");
    }
    if (auto created = Require(repository_.GetBucket(kNewBucket), "GetBucket")) {
      Require(repository_.Commit({s3::S3Repository::DeleteBucket(kNewBucket, created->revision)}),
              "delete new bucket");
    }
    if (!Require(repository_.GetObject(kBucket, "obj"), "GetObject")) {
      Require(Call("PUT", "/fuzz-bucket/obj", "fuzz object\n").status(), "PutObject");
    }
    if (upload_id_.empty() ||
        !Require(repository_.GetUpload(kBucket, "mp", upload_id_), "GetUpload")) {
      HttpResponse created = Require(Call("POST", "/fuzz-bucket/mp?uploads", ""), "CreateMPU");
      auto doc = Require(s3::XmlDocument::Parse(created.body, "InitiateMultipartUploadResult"),
                         "InitiateMultipartUploadResult");
      upload_id_ = doc.Text("UploadId");
      Require(
          Call("PUT", "/fuzz-bucket/mp?partNumber=1&uploadId=" + upload_id_, std::string(kPartBody))
              .status(),
          "UploadPart");
    }
  }

  Services& services_;
  s3::S3Repository& repository_;
  s3::BucketRecord bucket_;
  int64_t bucket_revision_ = -1;
  std::string upload_id_;
};

}  // namespace
}  // namespace hangar::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hangar::fuzz::S3Harness* harness = new hangar::fuzz::S3Harness();
  if (size == 0) return 0;
  harness->Run(data[0], std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
