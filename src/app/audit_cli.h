#pragma once
// `hangar audit verify` and `hangar audit export`: the audit trail read from outside the server
// (it may be running: both only read).

#include <string>

#include "app/data_dir.h"

namespace hangar::app {

struct AuditCliOptions {
  std::string data_dir = "./hangar-data";
  std::string metadata;  // cluster mode: the nodes' PostgreSQL database, whose ledger is read
  std::string from;  // ISO 8601 (2026-12-02T07:00:00Z) or epoch seconds; empty: unbounded
  std::string to;
  std::string out = "-";  // export: a file, or stdout
};

// Checks the digest chain and the log files. Prints what was checked, then each problem (the
// first one first); exit status 0 when intact, 1 when not, 2 on bad arguments. With the root key
// (as `serve` finds it), only the digest key sealed under it is trusted. With `metadata`, the
// cluster's ledger instead (audit/ledger.h); the root key must then be named.
int AuditVerify(const AuditCliOptions& options, const RootKeySource& root_key);

// Writes every record in the window, data events included, as JSON lines. With `metadata`, the
// cluster's ledger (which needs the root key to open the database's check).
int AuditExport(const AuditCliOptions& options, const RootKeySource& root_key);

struct FindingsCliOptions {
  std::string data_dir = "./hangar-data";
  std::string account;  // empty: every account
  bool all = false;     // archived findings too
  bool json = false;    // ASFF, one finding per line
};

// `hangar findings list`: the active findings (Security Hub controls that fail, detections),
// most severe first, for people who do not use the aws CLI.
int FindingsList(const FindingsCliOptions& options, const RootKeySource& root_key);

}  // namespace hangar::app
