#include "audit/detections.h"

namespace hangar::audit {
namespace {

struct Detection {
  std::string_view type;  // GuardDuty-style finding type
  std::string_view severity;
  std::string_view title;
};

constexpr Detection kPendingKeyUse{"Impact:KMS/KeyPendingDeletionUsed", "HIGH",
                                   "A KMS key pending deletion was used"};
constexpr Detection kKeyDisabled{"Impact:KMS/KeyDisabledOrScheduledForDeletion", "MEDIUM",
                                 "A KMS key was disabled or scheduled for deletion"};
constexpr Detection kDeniedBurst{"Discovery:IAMUser/AccessDeniedBurst", "MEDIUM",
                                 "A principal was refused many requests in a short time"};
constexpr Detection kRootUse{"Policy:IAMUser/RootCredentialUsage", "LOW",
                             "Root credentials were used for data access"};
constexpr Detection kMassDelete{"Impact:S3/AnomalousBehavior.Delete", "HIGH",
                                "Many objects were deleted in a short time"};
constexpr Detection kNewSource{"CredentialAccess:KMS/NewSourceDecrypt", "LOW",
                               "A principal decrypted from an address never seen for it"};

std::string PrincipalArn(const AuditEvent& e) {
  if (!e.principal || e.principal->anonymous()) return {};
  return e.principal->type == auth::PrincipalType::kAssumedRole ? e.principal->role_arn
                                                                : e.principal->arn;
}

Finding Make(const Detection& d, const AuditEvent& e, std::string resource_type,
             std::string resource_id, std::string description,
             std::vector<std::string> event_ids) {
  const std::string account = e.recipient_account_id.empty() ? e.account_id : e.recipient_account_id;
  const std::string generator = "hangar-detection/" + std::string(d.type);
  const int64_t now_ms = ToUnixMillis(e.event_time);
  Finding f;
  f.id = FindingId(e.region, account, generator, resource_id);
  f.product = "guardduty";
  f.generator_id = generator;
  f.account_id = account;
  f.region = e.region;
  f.types = {"TTPs/" + std::string(d.type)};
  f.title = std::string(d.title);
  f.description = std::move(description);
  f.severity = std::string(d.severity);
  f.resource_type = std::move(resource_type);
  f.resource_id = std::move(resource_id);
  f.created_ms = f.updated_ms = f.first_observed_ms = f.last_observed_ms = now_ms;
  f.event_ids = std::move(event_ids);
  return f;
}

std::string KeyOf(const AuditEvent& e) {
  for (const auto& r : e.resources) {
    if (r.type == "AWS::KMS::Key") return r.arn;
  }
  return {};
}

bool IsKmsCryptoCall(std::string_view name) {
  return name == "Encrypt" || name == "Decrypt" || name == "ReEncrypt" ||
         name == "GenerateDataKey" || name == "GenerateDataKeyWithoutPlaintext";
}

}  // namespace

Finding PublicAccessDetection(const AuditEvent& e, std::string_view type,
                              std::string_view severity, std::string_view title,
                              std::string resource_type, std::string resource_id,
                              std::string description) {
  Detection d{type, severity, title};
  return Make(d, e, std::move(resource_type), std::move(resource_id), std::move(description),
              {e.event_id});
}

bool Detector::Count(Burst& burst, TimePoint t, int weight, std::chrono::seconds window,
                     int threshold, const std::string& event_id) {
  while (!burst.hits.empty() && burst.hits.front().first < t - window) {
    burst.total -= burst.hits.front().second;
    burst.hits.pop_front();
  }
  burst.hits.emplace_back(t, weight);
  burst.total += weight;
  burst.event_ids.push_back(event_id);
  if (burst.event_ids.size() > 20) burst.event_ids.erase(burst.event_ids.begin());
  if (burst.total < threshold) return false;
  burst.hits.clear();
  burst.total = 0;
  return true;
}

std::vector<Finding> Detector::Observe(const AuditEvent& e) {
  std::vector<Finding> out;
  const std::string principal = PrincipalArn(e);
  const bool ok = e.error_code.empty();

  // Use (or attempted use) of a key pending deletion: AWS's own recommended alarm.
  if (!ok && e.error_message.find(" is pending deletion") != std::string::npos) {
    std::string key = KeyOf(e);
    if (key.empty()) key = e.error_message.substr(0, e.error_message.find(' '));
    out.push_back(Make(kPendingKeyUse, e, "AwsKmsKey", key,
                       (principal.empty() ? std::string("A caller") : principal) + " called " +
                           e.event_name + " (" + e.event_source + ") with " + key +
                           ", which is pending deletion: once deleted, its data is gone.",
                       {e.event_id}));
  }
  if (ok && e.event_source == "kms.amazonaws.com" &&
      (e.event_name == "DisableKey" || e.event_name == "ScheduleKeyDeletion")) {
    const std::string key = KeyOf(e);
    out.push_back(Make(kKeyDisabled, e, "AwsKmsKey", key,
                       principal + " called " + e.event_name + " on " + key + ".", {e.event_id}));
  }
  if (!ok && !principal.empty() && e.error_code.find("AccessDenied") != std::string::npos) {
    Burst& burst = denied_[principal];
    if (Count(burst, e.event_time, 1, options_.access_denied_window,
              options_.access_denied_count, e.event_id)) {
      out.push_back(Make(kDeniedBurst, e, "AwsIamUser", principal,
                         principal + " was refused at least " +
                             std::to_string(options_.access_denied_count) + " requests within " +
                             std::to_string(options_.access_denied_window.count()) + " s.",
                         burst.event_ids));
      burst.event_ids.clear();
    }
  }
  if (ok && e.principal && e.principal->type == auth::PrincipalType::kRoot &&
      (!e.management_event || (e.event_source == "kms.amazonaws.com" &&
                               IsKmsCryptoCall(e.event_name)))) {
    out.push_back(Make(kRootUse, e, "AwsAccount", "AWS::::Account:" + e.account_id,
                       "The account root called " + e.event_name + " (" + e.event_source +
                           "); use IAM users or roles for data access.",
                       {e.event_id}));
  }
  if (ok && !principal.empty() && e.event_source == "s3.amazonaws.com" &&
      (e.event_name == "DeleteObject" || e.event_name == "DeleteObjects")) {
    int weight = 1;
    // DeleteObjects says how many keys it deleted (additionalEventData.deletedObjects).
    const std::string marker = "\"deletedObjects\":";
    if (size_t at = e.additional_event_data.find(marker); at != std::string::npos) {
      weight = std::max(1, std::atoi(e.additional_event_data.c_str() + at + marker.size()));
    }
    Burst& burst = deleted_[principal];
    if (Count(burst, e.event_time, weight, options_.mass_delete_window,
              options_.mass_delete_count, e.event_id)) {
      std::string bucket;
      for (const auto& r : e.resources) {
        if (r.type == "AWS::S3::Bucket") bucket = r.arn;
      }
      out.push_back(Make(kMassDelete, e, "AwsS3Bucket", bucket,
                         principal + " deleted at least " +
                             std::to_string(options_.mass_delete_count) + " objects within " +
                             std::to_string(options_.mass_delete_window.count()) + " s.",
                         burst.event_ids));
      burst.event_ids.clear();
    }
  }
  if (ok && !principal.empty() && e.event_source == "kms.amazonaws.com" &&
      e.event_name == "Decrypt" && e.invoked_by.empty()) {
    std::set<std::string>& seen = decrypt_sources_[principal];
    if (!seen.empty() && !seen.count(e.source_ip)) {
      out.push_back(Make(kNewSource, e, "AwsIamUser", principal,
                         principal + " decrypted with " + KeyOf(e) + " from " + e.source_ip +
                             ", an address not seen for it before.",
                         {e.event_id}));
    }
    if (seen.size() < 1000) seen.insert(e.source_ip);
  }
  return out;
}

}  // namespace hangar::audit
