#include "s3/policy_actions.h"


#include "iam/policy.h"

namespace hangar::s3 {
namespace {

// From "Actions, resources, and condition keys for Amazon S3" (service prefix s3), in the
// reference's order of access levels. A name missing here makes a valid policy fail: add it.
constexpr std::string_view kS3Actions[] = {
    // Write
    "AbortMultipartUpload", "AssociateAccessGrantsIdentityCenter", "CreateAccessGrant",
    "CreateAccessGrantsInstance", "CreateAccessGrantsLocation", "CreateAccessPoint",
    "CreateAccessPointForObjectLambda", "CreateBucket", "CreateBucketMetadataTableConfiguration",
    "CreateJob", "CreateMultiRegionAccessPoint", "CreateStorageLensGroup", "DeleteAccessGrant",
    "DeleteAccessGrantsInstance", "DeleteAccessGrantsInstanceResourcePolicy",
    "DeleteAccessGrantsLocation", "DeleteAccessPoint", "DeleteAccessPointForObjectLambda",
    "DeleteBucket", "DeleteBucketMetadataTableConfiguration", "DeleteBucketWebsite",
    "DeleteMultiRegionAccessPoint", "DeleteObject", "DeleteObjectVersion",
    "DeleteStorageLensConfiguration", "DeleteStorageLensGroup",
    "DissociateAccessGrantsIdentityCenter", "InitiateReplication", "PauseReplication",
    "PutAccelerateConfiguration", "PutAccessGrantsInstanceResourcePolicy",
    "PutAccessPointConfigurationForObjectLambda", "PutAnalyticsConfiguration", "PutBucketCORS",
    "PutBucketLogging", "PutBucketNotification", "PutBucketObjectLockConfiguration",
    "PutBucketOwnershipControls", "PutBucketRequestPayment", "PutBucketVersioning",
    "PutBucketWebsite", "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration",
    "PutInventoryConfiguration", "PutLifecycleConfiguration", "PutMetricsConfiguration",
    "PutObject", "PutObjectLegalHold", "PutObjectRetention", "PutReplicationConfiguration",
    "PutStorageLensConfiguration", "ReplicateDelete", "ReplicateObject", "RestoreObject",
    "SubmitMultiRegionAccessPointRoutes", "UpdateAccessGrantsLocation",
    "UpdateBucketMetadataInventoryTableConfiguration",
    "UpdateBucketMetadataJournalTableConfiguration", "UpdateJobPriority", "UpdateJobStatus",
    "UpdateStorageLensGroup",
    // Permissions management
    "BypassGovernanceRetention", "DeleteAccessPointPolicy",
    "DeleteAccessPointPolicyForObjectLambda", "DeleteAccessPointScope", "DeleteBucketPolicy",
    "ObjectOwnerOverrideToBucketOwner", "PutAccessPointPolicy",
    "PutAccessPointPolicyForObjectLambda", "PutAccessPointPublicAccessBlock",
    "PutAccessPointScope", "PutAccountPublicAccessBlock", "PutBucketAcl", "PutBucketPolicy",
    "PutBucketPublicAccessBlock", "PutMultiRegionAccessPointPolicy", "PutObjectAcl",
    "PutObjectVersionAcl",
    // Tagging
    "DeleteJobTagging", "DeleteObjectTagging", "DeleteObjectVersionTagging",
    "DeleteStorageLensConfigurationTagging", "PutBucketTagging", "PutJobTagging",
    "PutObjectTagging", "PutObjectVersionTagging", "PutStorageLensConfigurationTagging",
    "ReplicateTags", "TagResource", "UntagResource",
    // Read
    "DescribeJob", "DescribeMultiRegionAccessPointOperation", "GetAccelerateConfiguration",
    "GetAccessGrant", "GetAccessGrantsInstance", "GetAccessGrantsInstanceForPrefix",
    "GetAccessGrantsInstanceResourcePolicy", "GetAccessGrantsLocation", "GetAccessPoint",
    "GetAccessPointConfigurationForObjectLambda", "GetAccessPointForObjectLambda",
    "GetAccessPointPolicy", "GetAccessPointPolicyForObjectLambda", "GetAccessPointPolicyStatus",
    "GetAccessPointPolicyStatusForObjectLambda", "GetAccessPointScope",
    "GetAccountPublicAccessBlock", "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS",
    "GetBucketLocation", "GetBucketLogging", "GetBucketMetadataTableConfiguration",
    "GetBucketNotification", "GetBucketObjectLockConfiguration", "GetBucketOwnershipControls",
    "GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock",
    "GetBucketRequestPayment", "GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite",
    "GetDataAccess", "GetEncryptionConfiguration", "GetIntelligentTieringConfiguration",
    "GetInventoryConfiguration", "GetJobTagging", "GetLifecycleConfiguration",
    "GetMetricsConfiguration", "GetMultiRegionAccessPoint", "GetMultiRegionAccessPointPolicy",
    "GetMultiRegionAccessPointPolicyStatus", "GetMultiRegionAccessPointRoutes", "GetObject",
    "GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold", "GetObjectRetention",
    "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl",
    "GetObjectVersionAttributes", "GetObjectVersionForReplication", "GetObjectVersionTagging",
    "GetObjectVersionTorrent", "GetReplicationConfiguration", "GetStorageLensConfiguration",
    "GetStorageLensConfigurationTagging", "GetStorageLensDashboard", "GetStorageLensGroup",
    // List
    "ListAccessGrants", "ListAccessGrantsInstances", "ListAccessGrantsLocations",
    "ListAccessPoints", "ListAccessPointsForObjectLambda", "ListAllMyBuckets", "ListBucket",
    "ListBucketMultipartUploads", "ListBucketVersions", "ListCallerAccessGrants", "ListJobs",
    "ListMultiRegionAccessPoints", "ListMultipartUploadParts", "ListStorageLensConfigurations",
    "ListStorageLensGroups", "ListTagsForResource",
};

}  // namespace

bool NamesS3Actions(std::string_view action) {
  if (action == "*") return true;
  constexpr std::string_view kPrefix = "s3:";
  if (action.size() <= kPrefix.size() ||
      !iam::ActionMatches(kPrefix, action.substr(0, kPrefix.size()))) {
    return false;
  }
  for (std::string_view name : kS3Actions) {
    if (iam::ActionMatches(action.substr(kPrefix.size()), name)) return true;
  }
  return false;
}

}  // namespace hangar::s3
