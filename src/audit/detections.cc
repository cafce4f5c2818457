#include "audit/detections.h"

#include <algorithm>
#include <cstdlib>

#include <spdlog/spdlog.h>

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

Detector::Detector(DetectionOptions options, DetectionState* state)
    : options_(options),
      owned_state_(state ? nullptr : MakeMemoryDetectionState()),
      state_(state ? *state : *owned_state_) {}

std::vector<Finding> Detector::Observe(const AuditEvent& e) {
  std::vector<Finding> out = Add(e);
  for (Finding& f : Settle()) out.push_back(std::move(f));
  return out;
}

void Detector::Hit(BurstKind kind, const std::string& principal, const AuditEvent& e,
                   int weight) {
  const std::string name = (kind == BurstKind::kDenied ? "denied " : "deleted ") + principal;
  auto [it, inserted] = pending_.try_emplace(name, PendingWindow{kind, principal, {}});
  it->second.hits.push_back({BurstHit{e.event_time, weight, e.event_id}, e});
}

std::vector<Finding> Detector::Settle() {
  std::map<std::string, PendingWindow> pending;
  pending.swap(pending_);
  std::vector<Finding> out;
  for (auto& [name, window] : pending) {
    std::vector<BurstHit> hits;
    hits.reserve(window.hits.size());
    for (const PendingHit& h : window.hits) hits.push_back(h.hit);
    const BurstRule rule = window.kind == BurstKind::kDenied
                               ? BurstRule{options_.access_denied_window,
                                           options_.access_denied_count}
                               : BurstRule{options_.mass_delete_window, options_.mass_delete_count};
    auto fired = state_.Count(name, hits, rule);
    if (!fired.ok()) {
      // Counted with the next batch (the store may be back); a bounded number, not for ever.
      spdlog::error("findings: counting {}: {}", name, fired.status().message());
      PendingWindow& later =
          pending_.try_emplace(name, PendingWindow{window.kind, window.principal, {}})
              .first->second;
      if (later.hits.size() + window.hits.size() <= kMaxPendingHits) {
        later.hits.insert(later.hits.begin(), std::make_move_iterator(window.hits.begin()),
                          std::make_move_iterator(window.hits.end()));
      }
      continue;
    }
    for (BurstFired& f : *fired) {
      out.push_back(Fired(window, window.hits[f.hit], std::move(f.event_ids)));
    }
  }
  return out;
}

Finding Detector::Fired(const PendingWindow& window, const PendingHit& hit,
                        std::vector<std::string> event_ids) const {
  const std::string& principal = window.principal;
  if (window.kind == BurstKind::kDenied) {
    return Make(kDeniedBurst, hit.event, "AwsIamUser", principal,
                principal + " was refused at least " +
                    std::to_string(options_.access_denied_count) + " requests within " +
                    std::to_string(options_.access_denied_window.count()) + " s.",
                std::move(event_ids));
  }
  std::string bucket;
  for (const auto& r : hit.event.resources) {
    if (r.type == "AWS::S3::Bucket") bucket = r.arn;
  }
  return Make(kMassDelete, hit.event, "AwsS3Bucket", bucket,
              principal + " deleted at least " + std::to_string(options_.mass_delete_count) +
                  " objects within " + std::to_string(options_.mass_delete_window.count()) +
                  " s.",
              std::move(event_ids));
}

std::vector<Finding> Detector::Add(const AuditEvent& e) {
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
    Hit(BurstKind::kDenied, principal, e, 1);
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
    Hit(BurstKind::kDeleted, principal, e, weight);
  }
  if (ok && !principal.empty() && e.event_source == "kms.amazonaws.com" &&
      e.event_name == "Decrypt" && e.invoked_by.empty()) {
    auto is_new = state_.NewSource(principal, e.source_ip);
    if (!is_new.ok()) {
      spdlog::error("findings: decrypt sources: {}", is_new.status().message());
    } else if (*is_new) {
      out.push_back(Make(kNewSource, e, "AwsIamUser", principal,
                         principal + " decrypted with " + KeyOf(e) + " from " + e.source_ip +
                             ", an address not seen for it before.",
                         {e.event_id}));
    }
  }
  return out;
}

}  // namespace hangar::audit
