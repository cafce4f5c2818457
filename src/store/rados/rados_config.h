#pragma once
// RadosConfig: where RadosBlobStore keeps blobs, and how it reaches the Ceph cluster. Parsed from
// the `--blobs` URI:
//
//   rados://POOL?conf=PATH&id=CLIENT
//
//   POOL  the pool; created (with the cluster's default placement) if missing
//   conf  a ceph.conf; absent: librados' default search ($CEPH_CONF, /etc/ceph/ceph.conf,
//         ~/.ceph/config, ./ceph.conf). Its keyring setting names the client's key.
//   id    the cephx client name without "client." (default "admin")
//
// Values may be percent-encoded (%2F, %20 …). Anything else in the URI is an error.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hangar::store {

struct RadosConfig {
  std::string pool;
  std::string conf_path;  // empty: librados' default search
  std::string client_id = "admin";
  // Blob bytes are striped over RADOS objects of this size (the last one is shorter). Blobs keep
  // the stripe size they were written with, so changing it affects new blobs only.
  size_t stripe_size = 4 << 20;
  // Stripe writes in flight per writer. Bounded by kMaxStripesInFlight, which the cleanup of a
  // crashed upload relies on (rados_blob_store.cc).
  size_t max_in_flight = 4;
  // How long Open waits for the monitors (librados' client_mount_timeout).
  int connect_timeout_seconds = 30;
  // ListStaged names only blobs staged at least this long ago. Every node of a cluster shares the
  // pool's staged index, and a node's start-up recovery deletes the staged blobs no metadata
  // names: without the grace it would delete another node's uploads in flight. A write still
  // uncommitted after this long counts as abandoned.
  int staged_grace_seconds = 3600;
};

inline constexpr size_t kMinStripeSize = 4 << 10;
inline constexpr size_t kMaxStripeSize = 64 << 20;  // below the OSDs' 90 MB write limit
inline constexpr size_t kMaxStripesInFlight = 16;

// Parses `rados://POOL?conf=PATH&id=CLIENT`. Errors: kValidation naming what is wrong.
Result<RadosConfig> ParseRadosUri(std::string_view uri);

}  // namespace hangar::store
