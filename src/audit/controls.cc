#include "audit/controls.h"

#include "common/strings.h"

namespace hangar::audit {
namespace {

constexpr std::string_view kControlType =
    "Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices";

struct Control {
  std::string_view id;
  std::string_view title;
  std::string_view severity;
  std::string_view remediation;
  std::string_view url;
};

constexpr Control kKms3{"KMS.3", "AWS KMS keys should not be deleted unintentionally", "CRITICAL",
                        "Cancel the key's deletion (CancelKeyDeletion) unless it is intended.",
                        "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-3"};
constexpr Control kKms4{"KMS.4", "AWS KMS key rotation should be enabled", "MEDIUM",
                        "Turn on automatic rotation (EnableKeyRotation).",
                        "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-4"};
constexpr Control kKms5{"KMS.5", "KMS keys should not be publicly accessible", "CRITICAL",
                        "Limit the key policy's principals, or add a condition such as "
                        "kms:CallerAccount.",
                        "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-5"};
constexpr Control kS31{"S3.1", "S3 general purpose buckets should have block public access settings enabled",
                       "MEDIUM", "Turn on all four account-level Block Public Access settings.",
                       "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-1"};
constexpr Control kS32{"S3.2", "S3 general purpose buckets should block public read access",
                       "CRITICAL", "Remove the bucket policy statements that let anyone read.",
                       "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-2"};
constexpr Control kS33{"S3.3", "S3 general purpose buckets should block public write access",
                       "CRITICAL", "Remove the bucket policy statements that let anyone write.",
                       "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-3"};
constexpr Control kS35{"S3.5", "S3 general purpose buckets should require requests to use SSL",
                       "MEDIUM", "Add a bucket policy statement that denies requests with "
                       "aws:SecureTransport false.",
                       "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-5"};
constexpr Control kS38{"S3.8", "S3 general purpose buckets should block public access", "HIGH",
                       "Turn on all four Block Public Access settings of the bucket.",
                       "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-8"};
constexpr Control kS317{"S3.17", "S3 general purpose buckets should be encrypted at rest with AWS KMS keys",
                        "MEDIUM", "Set the bucket's default encryption to SSE-KMS or DSSE-KMS.",
                        "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html#s3-17"};
constexpr Control kIam2{"IAM.2", "IAM users should not have IAM policies attached", "LOW",
                        "Attach policies to groups or roles instead, and add the user to them.",
                        "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-2"};
constexpr Control kIam4{"IAM.4", "IAM root user access key should not exist", "CRITICAL",
                        "Use IAM users or roles for daily work; deactivate the root access key.",
                        "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-4"};

Finding Result(const Control& c, std::string_view resource_type, const std::string& resource_id,
               const std::string& account, const std::string& region, bool passed,
               std::string description, TimePoint now) {
  const std::string generator = "security-control/" + std::string(c.id);
  const int64_t now_ms = ToUnixMillis(now);
  Finding f;
  f.id = FindingId(region, account, generator, resource_id);
  f.product = "securityhub";
  f.generator_id = generator;
  f.account_id = account;
  f.region = region;
  f.types = {std::string(kControlType)};
  f.title = std::string(c.id) + " " + std::string(c.title);
  f.description = std::move(description);
  f.severity = passed ? "INFORMATIONAL" : std::string(c.severity);
  f.compliance_status = passed ? "PASSED" : "FAILED";
  f.control_id = std::string(c.id);
  f.resource_type = std::string(resource_type);
  f.resource_id = resource_id;
  f.remediation = std::string(c.remediation);
  f.remediation_url = std::string(c.url);
  f.record_state = passed ? "ARCHIVED" : "ACTIVE";
  f.workflow_status = passed ? "RESOLVED" : "NEW";
  f.created_ms = f.updated_ms = f.first_observed_ms = f.last_observed_ms = now_ms;
  f.count = 0;
  return f;
}

std::string BlockDescription(const std::optional<BlockFlags>& block, std::string_view whose) {
  if (!block) return std::string(whose) + " has no Block Public Access configuration.";
  if (block->all()) return "All four Block Public Access settings of " + std::string(whose) + " are on.";
  return std::string("Not every Block Public Access setting of ") + std::string(whose) + " is on.";
}

}  // namespace

std::vector<Finding> KeyControls(const KeyFacts& k, TimePoint now) {
  std::vector<Finding> out;
  if (!k.customer_managed || k.state == "Destroyed") return out;
  const bool pending = k.state == "PendingDeletion";
  out.push_back(Result(kKms3, "AwsKmsKey", k.arn, k.account_id, k.region, !pending,
                       pending ? "The key is scheduled for deletion on " +
                                     FormatIso8601(FromUnixMillis(k.deletion_date_ms), false) +
                                     "; after that its data can never be decrypted."
                               : "The key is not scheduled for deletion.",
                       now));
  if (k.symmetric && !pending) {
    out.push_back(Result(kKms4, "AwsKmsKey", k.arn, k.account_id, k.region, k.rotation_enabled,
                         k.rotation_enabled ? "Automatic rotation is on."
                                            : "Automatic rotation of the key material is off.",
                         now));
  } else if (k.symmetric) {
    // A key pending deletion does not rotate: the control does not apply until it is cancelled.
    Finding f = Result(kKms4, "AwsKmsKey", k.arn, k.account_id, k.region, true,
                       "The key is pending deletion; rotation does not apply.", now);
    f.compliance_status = "NOT_AVAILABLE";
    out.push_back(std::move(f));
  }
  out.push_back(Result(kKms5, "AwsKmsKey", k.arn, k.account_id, k.region, !k.policy_public,
                       k.policy_public ? "The key policy allows any principal to use the key."
                                       : "The key policy names its principals.",
                       now));
  return out;
}

std::vector<Finding> BucketControls(const BucketFacts& b, TimePoint now) {
  const std::string arn = "arn:aws:s3:::" + b.name;
  std::vector<Finding> out;
  out.push_back(Result(kS32, "AwsS3Bucket", arn, b.account_id, b.region, !b.public_read,
                       b.public_read ? "The bucket policy lets anyone read objects."
                                     : "The bucket does not allow public read access.",
                       now));
  out.push_back(Result(kS33, "AwsS3Bucket", arn, b.account_id, b.region, !b.public_write,
                       b.public_write ? "The bucket policy lets anyone write objects."
                                      : "The bucket does not allow public write access.",
                       now));
  out.push_back(Result(kS35, "AwsS3Bucket", arn, b.account_id, b.region, b.requires_tls,
                       b.requires_tls ? "The bucket policy denies requests without TLS."
                                      : "No bucket policy statement denies requests without TLS.",
                       now));
  const bool blocked = b.block && b.block->all();
  out.push_back(Result(kS38, "AwsS3Bucket", arn, b.account_id, b.region, blocked,
                       BlockDescription(b.block, "the bucket"), now));
  const bool kms = b.default_encryption == "aws:kms" || b.default_encryption == "aws:kms:dsse";
  out.push_back(Result(kS317, "AwsS3Bucket", arn, b.account_id, b.region, kms,
                       kms ? "Default encryption uses a KMS key (" + b.default_encryption + ")."
                           : "Default encryption is " + b.default_encryption +
                                 ", not a KMS key.",
                       now));
  return out;
}

std::vector<Finding> AccountControls(const AccountFacts& a, TimePoint now) {
  const std::string arn = "AWS::::Account:" + a.account_id;
  std::vector<Finding> out;
  const bool blocked = a.block && a.block->all();
  out.push_back(Result(kS31, "AwsAccount", arn, a.account_id, a.region, blocked,
                       BlockDescription(a.block, "the account"), now));
  out.push_back(Result(kIam4, "AwsAccount", arn, a.account_id, a.region, !a.root_access_key_active,
                       a.root_access_key_active ? "The account root has an active access key."
                                                : "The account root has no active access key.",
                       now));
  return out;
}

std::vector<Finding> UserControls(const UserFacts& u, TimePoint now) {
  const bool direct = u.attached_policies + u.inline_policies > 0;
  return {Result(kIam2, "AwsIamUser", u.arn, u.account_id, u.region, !direct,
                 direct ? "The user has " + std::to_string(u.attached_policies) +
                              " attached and " + std::to_string(u.inline_policies) +
                              " inline policies of its own."
                        : "The user has no policies of its own.",
                 now)};
}

Finding Archived(Finding f, TimePoint now) {
  f.record_state = "ARCHIVED";
  f.updated_ms = ToUnixMillis(now);
  f.description += " The resource no longer exists.";
  return f;
}

}  // namespace hangar::audit
