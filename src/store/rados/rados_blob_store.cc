#include "store/rados/rados_blob_store.h"


#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <deque>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "common/strings.h"
#include "crypto/random.h"
#include "store/rados/rados_api.h"

namespace hangar::store {

// librados' functions (loaded by RadosBlobStore::Open before any handle exists).
static const rados_api::Functions& Rados() { return rados_api::Get(); }

// Every librados handle is a void* underneath; each kind gets its own deleter, once.
template <auto kRelease>
struct RadosDeleter {
  using pointer = void*;
  void operator()(void* handle) const { (Rados().*kRelease)(handle); }
};
template <auto kRelease>
using RadosHandle = std::unique_ptr<void, RadosDeleter<kRelease>>;
using ClusterHandle = RadosHandle<&rados_api::Functions::shutdown>;
using IoCtxHandle = RadosHandle<&rados_api::Functions::ioctx_destroy>;
using CompletionHandle = RadosHandle<&rados_api::Functions::aio_release>;
using WriteOpHandle = RadosHandle<&rados_api::Functions::release_write_op>;
using ReadOpHandle = RadosHandle<&rados_api::Functions::release_read_op>;
using OmapIterHandle = RadosHandle<&rados_api::Functions::omap_get_end>;
using ListHandle = RadosHandle<&rados_api::Functions::nobjects_list_close>;

// Owned jointly by the store, its writers and its readers. librados handles are thread-safe for
// concurrent operations; neither handle is reconfigured after Open. Members are destroyed in
// reverse order: the pool's context before the cluster connection.
struct RadosConnection {
  ClusterHandle cluster;
  IoCtxHandle io;
  std::string pool;
};

namespace {

constexpr size_t kIdBytes = 16;  // 128 random bits, 32 hex characters, as FsBlobStore
constexpr const char* kLayoutXattr = "hangar.layout";
constexpr size_t kListBatch = 256;    // heads checked against the index per round trip
constexpr size_t kStagedPage = 1000;  // index keys read per round trip

bool IsBlobId(std::string_view id) {
  if (id.size() != 2 * kIdBytes) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "<id>.0", the object that carries a blob's layout.
bool IsHeadObject(std::string_view name) {
  return name.size() == 2 * kIdBytes + 2 && name.ends_with(".0") &&
         IsBlobId(name.substr(0, 2 * kIdBytes));
}

std::string ErrorText(int ret) { return std::error_code(-ret, std::generic_category()).message(); }

Status RadosError(const RadosConnection& c, std::string_view what, std::string_view object,
                  int ret) {
  return InternalError(std::string(what) + " " + std::string(object) + " in pool " + c.pool + ": " +
                       ErrorText(ret));
}

Status MalformedId() { return InternalError("malformed blob id"); }
Status BlobMissing(std::string_view id) {
  return InternalError("blob missing: " + std::string(id));
}

// A committed blob's size and the stripe size it was written with.
struct Layout {
  uint64_t size = 0;
  uint64_t stripe = 0;
  uint64_t StripeCount() const { return size == 0 ? 1 : (size + stripe - 1) / stripe; }
};

std::string EncodeLayout(const Layout& layout) {
  return "v1 " + std::to_string(layout.size) + " " + std::to_string(layout.stripe);
}

std::optional<Layout> DecodeLayout(std::string_view text) {
  if (!text.starts_with("v1 ")) return std::nullopt;
  Layout layout;
  const char* end = text.data() + text.size();
  auto [after_size, e1] = std::from_chars(text.data() + 3, end, layout.size);
  if (e1 != std::errc() || after_size == end || *after_size != ' ') return std::nullopt;
  auto [after_stripe, e2] = std::from_chars(after_size + 1, end, layout.stripe);
  if (e2 != std::errc() || after_stripe != end || layout.stripe == 0) return std::nullopt;
  return layout;
}

Result<CompletionHandle> NewCompletion(const RadosConnection& c, std::string_view object) {
  rados_completion_t completion = nullptr;
  int ret = Rados().aio_create_completion2(nullptr, nullptr, &completion);
  if (ret < 0) return RadosError(c, "cannot start an operation on", object, ret);
  return CompletionHandle(completion);
}

// Waits until the OSDs acknowledge the operation: for a write, until it is durable on them.
int WaitFor(const CompletionHandle& completion) {
  Rados().aio_wait_for_complete(completion.get());
  return Rados().aio_get_return_value(completion.get());
}

// One asynchronous operation on one object, kept with what it needs until it completes.
struct PendingOp {
  std::string object;
  CompletionHandle completion;
  std::vector<char> data;  // a write's bytes or a read's destination
  uint64_t size = 0;       // stat's results
  time_t mtime = 0;
};

// The head's layout: nullopt when the head is missing (ENOENT) or not committed (ENODATA).
Result<std::optional<Layout>> ReadLayout(const RadosConnection& c, std::string_view id) {
  const std::string head = RadosBlobStore::StripeObject(id, 0);
  std::array<char, 64> value{};
  int ret = Rados().getxattr(c.io.get(), head.c_str(), kLayoutXattr, value.data(), value.size());
  if (ret == -ENOENT || ret == -ENODATA) return std::optional<Layout>();
  if (ret < 0) return RadosError(c, "cannot read the layout of", head, ret);
  std::optional<Layout> layout = DecodeLayout(std::string_view(value.data(), ret));
  if (!layout) return InternalError("malformed layout on " + head + " in pool " + c.pool);
  return layout;
}

// How many stripes a blob that was never committed has, by looking for them. Its writer had at
// most kMaxStripesInFlight writes outstanding, always the latest ones, and RemoveStripes() below
// removes at most as many at once, from the last: so a run of kMaxStripesInFlight missing stripes
// means there are no more.
Result<uint64_t> ProbeStripeCount(const RadosConnection& c, std::string_view id) {
  uint64_t count = 0;  // the highest stripe found, plus one
  for (uint64_t begin = 0;; begin += kMaxStripesInFlight) {
    std::vector<PendingOp> ops(kMaxStripesInFlight);
    for (uint64_t i = 0; i < ops.size(); ++i) {
      ops[i].object = RadosBlobStore::StripeObject(id, begin + i);
      HANGAR_ASSIGN_OR_RETURN(ops[i].completion, NewCompletion(c, ops[i].object));
      int ret = Rados().aio_stat(c.io.get(), ops[i].object.c_str(), ops[i].completion.get(),
                               &ops[i].size, &ops[i].mtime);
      if (ret < 0) {
        ops.resize(i);  // wait for those already sent, then fail
        for (PendingOp& op : ops) WaitFor(op.completion);
        return RadosError(c, "cannot stat", RadosBlobStore::StripeObject(id, begin + i), ret);
      }
    }
    Status first_error;
    for (uint64_t i = 0; i < ops.size(); ++i) {
      int ret = WaitFor(ops[i].completion);
      if (ret == 0) {
        count = begin + i + 1;
      } else if (ret != -ENOENT && first_error.ok()) {
        first_error = RadosError(c, "cannot stat", ops[i].object, ret);
      }
    }
    HANGAR_RETURN_IF_ERROR(first_error);
    if (count <= begin) return count;
  }
}

// Removes stripes [first, end) from the last down, kMaxStripesInFlight at a time, waiting for each
// batch. Missing stripes are fine.
Status RemoveStripeRange(const RadosConnection& c, std::string_view id, uint64_t first,
                         uint64_t end) {
  while (end > first) {
    uint64_t begin = end - std::min<uint64_t>(end - first, kMaxStripesInFlight);
    std::vector<PendingOp> ops;
    Status first_error;
    for (uint64_t i = end; i-- > begin;) {
      PendingOp op;
      op.object = RadosBlobStore::StripeObject(id, i);
      auto completion = NewCompletion(c, op.object);
      if (!completion.ok()) {
        first_error = completion.status();
        break;
      }
      op.completion = std::move(*completion);
      int ret = Rados().aio_remove(c.io.get(), op.object.c_str(), op.completion.get());
      if (ret < 0) {
        first_error = RadosError(c, "cannot remove", op.object, ret);
        break;
      }
      ops.push_back(std::move(op));
    }
    for (PendingOp& op : ops) {
      int ret = WaitFor(op.completion);
      if (ret < 0 && ret != -ENOENT && first_error.ok()) {
        first_error = RadosError(c, "cannot remove", op.object, ret);
      }
    }
    HANGAR_RETURN_IF_ERROR(first_error);
    end = begin;
  }
  return Status::Ok();
}

// All of a blob's stripes, the head last: while the head stands with its layout, an interrupted
// removal is found again (by the sweep, or by ListStaged) and finished.
Status RemoveStripes(const RadosConnection& c, std::string_view id, uint64_t count) {
  HANGAR_RETURN_IF_ERROR(RemoveStripeRange(c, id, 1, count));
  return RemoveStripeRange(c, id, 0, 1);
}

Status OperateWrite(const RadosConnection& c, const WriteOpHandle& op, std::string_view what,
                    const std::string& object) {
  int ret = Rados().write_op_operate(op.get(), c.io.get(), object.c_str(), nullptr, 0);
  if (ret < 0) return RadosError(c, what, object, ret);
  return Status::Ok();
}

Status AddStagedEntry(const RadosConnection& c, const std::string& id) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string created =
      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  const char* keys[] = {id.c_str()};
  const char* values[] = {created.data()};
  const size_t lengths[] = {created.size()};
  WriteOpHandle op(Rados().create_write_op());
  Rados().write_op_omap_set(op.get(), keys, values, lengths, 1);
  return OperateWrite(c, op, "cannot add a blob to",
                      std::string(RadosBlobStore::kStagedIndexObject));
}

Status RemoveStagedEntry(const RadosConnection& c, std::string_view id) {
  const std::string key(id);
  const char* keys[] = {key.c_str()};
  WriteOpHandle op(Rados().create_write_op());
  Rados().write_op_omap_rm_keys(op.get(), keys, 1);
  const std::string index(RadosBlobStore::kStagedIndexObject);
  int ret = Rados().write_op_operate(op.get(), c.io.get(), index.c_str(), nullptr, 0);
  if (ret < 0 && ret != -ENOENT) return RadosError(c, "cannot remove a blob from", index, ret);
  return Status::Ok();
}

// Writes a blob as stripes: bytes collect in buffer_ until a stripe is full and more arrive, then
// the stripe goes out as one asynchronous write_full, up to max_in_flight at once (the oldest is
// waited for first). Commit() writes the last stripe, waits for all, then the layout. A blob of
// one stripe is one atomic write: its bytes and layout together.
class RadosBlobWriter final : public BlobWriter {
 public:
  RadosBlobWriter(std::shared_ptr<RadosConnection> connection, std::string id, size_t stripe_size,
                  size_t max_in_flight)
      : c_(std::move(connection)),
        id_(std::move(id)),
        stripe_size_(stripe_size),
        max_in_flight_(max_in_flight) {}

  // Best effort: an abandoned blob left behind is still in the staged index, so recovery
  // removes it.
  ~RadosBlobWriter() override {
    if (committed_) return;
    (void)WaitForAll();
    // A failed Commit of a one-stripe blob may have written the head nonetheless.
    if (RemoveStripes(*c_, id_, std::max<uint64_t>(next_stripe_, 1)).ok()) {
      (void)RemoveStagedEntry(*c_, id_);
    }
  }

  Status Append(std::span<const char> data) override {
    HANGAR_RETURN_IF_ERROR(failure_);
    size_ += data.size();
    while (!data.empty()) {
      if (buffer_.size() == stripe_size_) {
        HANGAR_RETURN_IF_ERROR(Remember(SendStripe()));
        buffer_.reserve(stripe_size_);  // a blob past one stripe: fill the next without regrowing
      }
      size_t take = std::min(stripe_size_ - buffer_.size(), data.size());
      buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(take));
      data = data.subspan(take);
    }
    return Status::Ok();
  }

  Result<std::string> Commit() override {
    HANGAR_RETURN_IF_ERROR(failure_);
    if (committed_) return InternalError("blob writer already committed");
    const std::string layout = EncodeLayout({size_, stripe_size_});
    const std::string head = RadosBlobStore::StripeObject(id_, 0);
    WriteOpHandle op(Rados().create_write_op());
    if (next_stripe_ == 0) {
      Rados().write_op_write_full(op.get(), buffer_.data(), buffer_.size());
    } else {
      if (!buffer_.empty()) HANGAR_RETURN_IF_ERROR(Remember(SendStripe()));
      HANGAR_RETURN_IF_ERROR(Remember(WaitForAll()));
      Rados().write_op_assert_exists(op.get());
    }
    Rados().write_op_setxattr(op.get(), kLayoutXattr, layout.data(), layout.size());
    HANGAR_RETURN_IF_ERROR(Remember(OperateWrite(*c_, op, "cannot commit", head)));
    committed_ = true;
    buffer_ = {};
    return id_;
  }

  uint64_t size() const override { return size_; }

 private:
  Status Remember(Status status) {
    if (!status.ok() && failure_.ok()) failure_ = status;
    return status;
  }

  Status SendStripe() {
    if (in_flight_.size() >= max_in_flight_) HANGAR_RETURN_IF_ERROR(WaitForOldest());
    PendingOp op;
    op.object = RadosBlobStore::StripeObject(id_, next_stripe_);
    HANGAR_ASSIGN_OR_RETURN(op.completion, NewCompletion(*c_, op.object));
    op.data = std::move(buffer_);
    buffer_ = {};
    int ret = Rados().aio_write_full(c_->io.get(), op.object.c_str(), op.completion.get(),
                                   op.data.data(), op.data.size());
    if (ret < 0) return RadosError(*c_, "cannot write", op.object, ret);
    in_flight_.push_back(std::move(op));
    ++next_stripe_;
    return Status::Ok();
  }

  Status WaitForOldest() {
    PendingOp op = std::move(in_flight_.front());
    in_flight_.pop_front();
    int ret = WaitFor(op.completion);
    if (ret < 0) return RadosError(*c_, "cannot write", op.object, ret);
    return Status::Ok();
  }

  // Waits for every write in flight, even after one fails: their buffers live here.
  Status WaitForAll() {
    Status first_error;
    while (!in_flight_.empty()) {
      Status s = WaitForOldest();
      if (!s.ok() && first_error.ok()) first_error = s;
    }
    return first_error;
  }

  const std::shared_ptr<RadosConnection> c_;
  const std::string id_;
  const size_t stripe_size_;
  const size_t max_in_flight_;
  std::vector<char> buffer_;  // stripe next_stripe_, not yet sent
  std::deque<PendingOp> in_flight_;
  uint64_t next_stripe_ = 0;  // stripes sent so far
  uint64_t size_ = 0;
  Status failure_;  // the first failure; the writer is unusable after it
  bool committed_ = false;
};

// Reads a committed blob. A read that spans stripes reads them in parallel.
class RadosBlobReader final : public BlobReader {
 public:
  RadosBlobReader(std::shared_ptr<RadosConnection> connection, std::string id, Layout layout)
      : c_(std::move(connection)), id_(std::move(id)), layout_(layout) {}

  uint64_t size() const override { return layout_.size; }

  Result<size_t> ReadAt(uint64_t offset, std::span<char> into) override {
    if (offset >= layout_.size || into.empty()) return size_t{0};
    const size_t length =
        static_cast<size_t>(std::min<uint64_t>(into.size(), layout_.size - offset));
    // One piece per stripe touched, kMaxStripesInFlight at a time.
    size_t done = 0;
    while (done < length) {
      std::vector<PendingOp> ops;
      std::vector<std::pair<size_t, size_t>> pieces;  // (position in `into`, length)
      Status first_error;
      while (done < length && ops.size() < kMaxStripesInFlight) {
        const uint64_t position = offset + done;
        const uint64_t index = position / layout_.stripe;
        const uint64_t within = position % layout_.stripe;
        const size_t piece =
            static_cast<size_t>(std::min<uint64_t>(layout_.stripe - within, length - done));
        PendingOp op;
        op.object = RadosBlobStore::StripeObject(id_, index);
        auto completion = NewCompletion(*c_, op.object);
        if (!completion.ok()) {
          first_error = completion.status();
          break;
        }
        op.completion = std::move(*completion);
        int ret = Rados().aio_read(c_->io.get(), op.object.c_str(), op.completion.get(),
                                 into.data() + done, piece, within);
        if (ret < 0) {
          first_error = RadosError(*c_, "cannot read", op.object, ret);
          break;
        }
        ops.push_back(std::move(op));
        pieces.emplace_back(done, piece);
        done += piece;
      }
      for (size_t i = 0; i < ops.size(); ++i) {
        int ret = WaitFor(ops[i].completion);
        if (!first_error.ok()) continue;
        if (ret < 0) {
          first_error = RadosError(*c_, "cannot read", ops[i].object, ret);
        } else if (static_cast<size_t>(ret) != pieces[i].second) {
          first_error = InternalError("blob stripe " + ops[i].object + " in pool " + c_->pool +
                                      " is shorter than the blob's layout says");
        }
      }
      HANGAR_RETURN_IF_ERROR(first_error);
    }
    return length;
  }

 private:
  const std::shared_ptr<RadosConnection> c_;
  const std::string id_;
  const Layout layout_;
};

}  // namespace

RadosBlobStore::RadosBlobStore(std::shared_ptr<RadosConnection> connection,
                               const RadosConfig& config)
    : connection_(std::move(connection)),
      stripe_size_(config.stripe_size),
      max_in_flight_(config.max_in_flight),
      staged_grace_seconds_(config.staged_grace_seconds) {}

RadosBlobStore::~RadosBlobStore() = default;

std::string RadosBlobStore::StripeObject(std::string_view id, uint64_t index) {
  return std::string(id) + "." + std::to_string(index);
}

Result<std::unique_ptr<RadosBlobStore>> RadosBlobStore::Open(const RadosConfig& config) {
  HANGAR_RETURN_IF_ERROR(rados_api::Load().status());
  if (config.stripe_size < kMinStripeSize || config.stripe_size > kMaxStripeSize) {
    return Error(ErrorCode::kValidation, "RADOS stripe size must be between 4 KiB and 64 MiB");
  }
  if (config.max_in_flight < 1 || config.max_in_flight > kMaxStripesInFlight) {
    return Error(ErrorCode::kValidation, "RADOS writes in flight must be between 1 and " +
                                             std::to_string(kMaxStripesInFlight));
  }
  const std::string who = "client." + config.client_id;
  const std::string conf_name =
      config.conf_path.empty() ? "the default ceph.conf" : config.conf_path;
  auto connection = std::make_shared<RadosConnection>();
  connection->pool = config.pool;

  // 1. The cluster handle, configured from the file (and CEPH_ARGS, which librados reads too).
  rados_t cluster = nullptr;
  int ret = Rados().create(&cluster, config.client_id.c_str());
  if (ret < 0)
    return InternalError("cannot create a RADOS client as " + who + ": " + ErrorText(ret));
  connection->cluster.reset(cluster);
  ret =
      Rados().conf_read_file(cluster, config.conf_path.empty() ? nullptr : config.conf_path.c_str());
  if (ret < 0) return InternalError("cannot read Ceph config " + conf_name + ": " + ErrorText(ret));
  const std::string timeout = std::to_string(config.connect_timeout_seconds);
  Rados().conf_set(cluster, "client_mount_timeout", timeout.c_str());

  // 2. Connect: authenticate with the monitors and fetch the maps.
  ret = Rados().connect(cluster);
  if (ret < 0) {
    return InternalError("cannot connect to the Ceph cluster of " + conf_name + " as " + who +
                         ": " + ErrorText(ret));
  }

  // 3. The pool, created if missing (another Hangar may create it at the same time).
  bool created = false;
  int64_t pool_id = Rados().pool_lookup(cluster, config.pool.c_str());
  if (pool_id == -ENOENT) {
    ret = Rados().pool_create(cluster, config.pool.c_str());
    if (ret < 0 && ret != -EEXIST) {
      return InternalError("cannot create pool " + config.pool + " as " + who + ": " +
                           ErrorText(ret));
    }
    created = ret == 0;
  } else if (pool_id < 0) {
    return InternalError("cannot look up pool " + config.pool + ": " +
                         ErrorText(static_cast<int>(pool_id)));
  }
  rados_ioctx_t io = nullptr;
  ret = Rados().ioctx_create(cluster, config.pool.c_str(), &io);
  if (ret < 0) return InternalError("cannot open pool " + config.pool + ": " + ErrorText(ret));
  connection->io.reset(io);
  if (created) {
    // Ceph warns about pools that no application claims.
    ret = Rados().application_enable(io, "hangar", 1);
    if (ret < 0) {
      return InternalError("cannot tag pool " + config.pool + " for hangar: " + ErrorText(ret));
    }
  }
  return std::unique_ptr<RadosBlobStore>(new RadosBlobStore(std::move(connection), config));
}

Result<std::unique_ptr<BlobWriter>> RadosBlobStore::Create() {
  std::array<uint8_t, kIdBytes> raw{};
  crypto::RandomBytes(raw);
  return CreateWithId(HexEncode(std::span<const uint8_t>(raw)));
}

Result<std::unique_ptr<BlobWriter>> RadosBlobStore::CreateWithId(std::string_view id_view) {
  if (!IsBlobId(id_view)) return MalformedId();
  std::string id(id_view);
  HANGAR_ASSIGN_OR_RETURN(std::optional<Layout> existing, ReadLayout(*connection_, id));
  if (existing) return InternalError("blob " + id + " exists");
  // Indexed before the first byte is written, so a crash cannot leave bytes that nothing lists.
  HANGAR_RETURN_IF_ERROR(AddStagedEntry(*connection_, id));
  return std::unique_ptr<BlobWriter>(
      std::make_unique<RadosBlobWriter>(connection_, std::move(id), stripe_size_, max_in_flight_));
}

Result<std::unique_ptr<BlobReader>> RadosBlobStore::Open(std::string_view id) {
  if (!IsBlobId(id)) return MalformedId();
  HANGAR_ASSIGN_OR_RETURN(std::optional<Layout> layout, ReadLayout(*connection_, id));
  if (!layout) return BlobMissing(id);
  return std::unique_ptr<BlobReader>(
      std::make_unique<RadosBlobReader>(connection_, std::string(id), *layout));
}

Status RadosBlobStore::Publish(std::string_view id) {
  if (!IsBlobId(id)) return MalformedId();
  // Only a committed blob may leave the index; publishing again finds it committed and not indexed.
  HANGAR_ASSIGN_OR_RETURN(std::optional<Layout> layout, ReadLayout(*connection_, id));
  if (!layout) return BlobMissing(id);
  return RemoveStagedEntry(*connection_, id);
}

Status RadosBlobStore::Delete(std::string_view id) {
  if (!IsBlobId(id)) return MalformedId();
  HANGAR_ASSIGN_OR_RETURN(std::optional<Layout> layout, ReadLayout(*connection_, id));
  uint64_t count = 0;
  if (layout) {
    count = layout->StripeCount();
  } else {
    HANGAR_ASSIGN_OR_RETURN(count, ProbeStripeCount(*connection_, id));
  }
  HANGAR_RETURN_IF_ERROR(RemoveStripes(*connection_, id, count));
  return RemoveStagedEntry(*connection_, id);
}

Status RadosBlobStore::DeleteDurably(const std::vector<std::string>& ids) {
  // An acknowledged RADOS removal is already durable on the OSDs.
  for (const std::string& id : ids) HANGAR_RETURN_IF_ERROR(Delete(id));
  return Status::Ok();
}

Result<std::vector<std::string>> RadosBlobStore::ListStaged() {
  const RadosConnection& c = *connection_;
  const std::string index(kStagedIndexObject);
  // Entries hold their staging time in nanoseconds since the epoch (AddStagedEntry).
  const int64_t cutoff_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() -
      int64_t{staged_grace_seconds_} * 1'000'000'000;
  std::vector<std::string> ids;
  std::string after;
  for (;;) {
    ReadOpHandle op(Rados().create_read_op());
    rados_omap_iter_t iter = nullptr;
    unsigned char more = 0;
    int vals_ret = 0;
    Rados().read_op_omap_get_vals2(op.get(), after.c_str(), "", kStagedPage, &iter, &more,
                                 &vals_ret);
    int ret = Rados().read_op_operate(op.get(), c.io.get(), index.c_str(), 0);
    OmapIterHandle entries(iter);    // allocated when the op is built, whatever its outcome
    if (ret == -ENOENT) return ids;  // nothing was ever staged
    if (ret < 0) return RadosError(c, "cannot list", index, ret);
    if (vals_ret < 0) return RadosError(c, "cannot list", index, vals_ret);
    size_t page = 0;
    for (;;) {
      char* key = nullptr;
      char* value = nullptr;
      size_t key_length = 0, value_length = 0;
      ret = Rados().omap_get_next2(iter, &key, &value, &key_length, &value_length);
      if (ret < 0) return RadosError(c, "cannot list", index, ret);
      if (key == nullptr) break;
      ++page;
      after.assign(key, key_length);
      int64_t staged_ns = 0;
      const auto [end, ec] = std::from_chars(value, value + value_length, staged_ns);
      // An unreadable time counts as old: recovery then decides by the metadata, as ever.
      const bool old_enough = ec != std::errc() || end != value + value_length ||
                              staged_ns <= cutoff_ns;
      if (IsBlobId(after) && old_enough) ids.push_back(after);
    }
    if (!more || page == 0) return ids;
  }
}

namespace {

// The heads in `heads` that hangar.staged does not list, with their last write.
Status VisitPublished(const RadosConnection& c, const std::vector<std::string>& heads,
                      const std::function<void(std::string_view id, TimePoint written)>& visit) {
  const std::string index(RadosBlobStore::kStagedIndexObject);
  // 1. Which of them are staged: one read of the index for the whole batch. Read after the
  //    listing found the heads, so a writer that started meanwhile (index entry first) is seen.
  std::vector<std::string> ids;
  std::vector<const char*> keys;
  for (const std::string& head : heads) ids.push_back(head.substr(0, 2 * kIdBytes));
  for (const std::string& id : ids) keys.push_back(id.c_str());
  std::set<std::string, std::less<>> staged;
  {
    ReadOpHandle op(Rados().create_read_op());
    rados_omap_iter_t iter = nullptr;
    int vals_ret = 0;
    Rados().read_op_omap_get_vals_by_keys(op.get(), keys.data(), keys.size(), &iter, &vals_ret);
    int ret = Rados().read_op_operate(op.get(), c.io.get(), index.c_str(), 0);
    OmapIterHandle found(iter);
    if (ret < 0 && ret != -ENOENT) return RadosError(c, "cannot read", index, ret);
    if (ret == 0 && vals_ret < 0) return RadosError(c, "cannot read", index, vals_ret);
    while (ret == 0) {
      char* key = nullptr;
      char* value = nullptr;
      size_t key_length = 0, value_length = 0;
      int next = Rados().omap_get_next2(iter, &key, &value, &key_length, &value_length);
      if (next < 0) return RadosError(c, "cannot read", index, next);
      if (key == nullptr) break;
      staged.emplace(key, key_length);
    }
  }
  // 2. When the others were last written: their heads' mtime, all asked at once.
  std::vector<PendingOp> ops;
  for (size_t i = 0; i < heads.size(); ++i) {
    if (staged.contains(ids[i])) continue;
    PendingOp op;
    op.object = heads[i];
    HANGAR_ASSIGN_OR_RETURN(op.completion, NewCompletion(c, op.object));
    ops.push_back(std::move(op));
  }
  Status first_error;
  size_t sent = 0;
  for (; sent < ops.size(); ++sent) {
    PendingOp& op = ops[sent];
    int ret =
        Rados().aio_stat(c.io.get(), op.object.c_str(), op.completion.get(), &op.size, &op.mtime);
    if (ret < 0) {
      first_error = RadosError(c, "cannot stat", op.object, ret);
      break;
    }
  }
  for (size_t i = 0; i < sent; ++i) {
    int ret = WaitFor(ops[i].completion);
    if (ret < 0 && ret != -ENOENT && first_error.ok()) {
      first_error = RadosError(c, "cannot stat", ops[i].object, ret);
    }
    ops[i].completion.reset();
    if (ret == -ENOENT) ops[i].object.clear();  // deleted meanwhile
  }
  HANGAR_RETURN_IF_ERROR(first_error);
  // 3. The visits, on this thread.
  for (const PendingOp& op : ops) {
    if (op.object.empty()) continue;
    visit(std::string_view(op.object).substr(0, 2 * kIdBytes),
          std::chrono::system_clock::from_time_t(op.mtime));
  }
  return Status::Ok();
}

}  // namespace

Status RadosBlobStore::ForEachPublished(
    const std::function<void(std::string_view id, TimePoint written)>& visit) {
  const RadosConnection& c = *connection_;
  rados_list_ctx_t list = nullptr;
  int ret = Rados().nobjects_list_open(c.io.get(), &list);
  if (ret < 0) return InternalError("cannot list pool " + c.pool + ": " + ErrorText(ret));
  ListHandle listing(list);
  std::vector<std::string> heads;
  for (;;) {
    const char* entry = nullptr;
    size_t entry_length = 0;
    ret =
        Rados().nobjects_list_next2(list, &entry, nullptr, nullptr, &entry_length, nullptr, nullptr);
    if (ret == -ENOENT) break;
    if (ret < 0) return InternalError("cannot list pool " + c.pool + ": " + ErrorText(ret));
    std::string_view name(entry, entry_length);
    if (!IsHeadObject(name)) continue;
    heads.emplace_back(name);
    if (heads.size() == kListBatch) {
      HANGAR_RETURN_IF_ERROR(VisitPublished(c, heads, visit));
      heads.clear();
    }
  }
  if (!heads.empty()) HANGAR_RETURN_IF_ERROR(VisitPublished(c, heads, visit));
  return Status::Ok();
}

}  // namespace hangar::store
