#pragma once
// librados, opened when a node first opens a Ceph pool rather than linked: a server that keeps
// its blobs in a directory never maps librados and libceph-common (about 7 MiB of resident
// pages at start, and their start-up work), and runs where they are not installed.
// The prototypes and types still come from <rados/librados.h>; each function is looked up once.

#include <rados/librados.h>

#include "common/result.h"

namespace hangar::store::rados_api {

// Every librados function RadosBlobStore calls.
#define HANGAR_RADOS_FUNCTIONS(X)                                                               \
  X(create) X(conf_read_file) X(conf_set) X(connect) X(shutdown) X(pool_lookup)                 \
  X(pool_create) X(ioctx_create) X(ioctx_destroy) X(application_enable)                         \
  X(aio_create_completion2) X(aio_release) X(aio_wait_for_complete) X(aio_get_return_value)     \
  X(aio_write_full) X(aio_read) X(aio_stat) X(aio_remove) X(getxattr) X(create_write_op)        \
  X(release_write_op) X(write_op_operate) X(write_op_write_full) X(write_op_setxattr)           \
  X(write_op_omap_set) X(write_op_omap_rm_keys) X(write_op_assert_exists) X(create_read_op)     \
  X(release_read_op) X(read_op_operate) X(read_op_omap_get_vals2)                               \
  X(read_op_omap_get_vals_by_keys) X(omap_get_next2) X(omap_get_end) X(nobjects_list_open)      \
  X(nobjects_list_next2) X(nobjects_list_close)

struct Functions {
#define HANGAR_RADOS_POINTER(name) decltype(&::rados_##name) name = nullptr;
  HANGAR_RADOS_FUNCTIONS(HANGAR_RADOS_POINTER)
#undef HANGAR_RADOS_POINTER
};

// Opens librados (once; later calls answer the first outcome). Errors: kInternal naming what
// the dynamic loader said (librados not installed, or a function missing from it).
Result<const Functions*> Load();

// The functions, after a Load that succeeded.
const Functions& Get();

}  // namespace hangar::store::rados_api
