#include "loadgen/one_shot.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "loadgen/http_response.h"

namespace hangar::bench {
namespace {

class CollectBody : public BodySink {
 public:
  void OnBody(std::string_view bytes) override { body.append(bytes); }
  std::string body;
};

}  // namespace

std::optional<OneShotResponse> RoundTrip(const std::string& host, uint16_t port,
                                         std::string_view request, std::string& error) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    tcp::socket socket(io);
    asio::connect(socket, resolver.resolve(host, std::to_string(port)));
    asio::write(socket, asio::buffer(request.data(), request.size()));
    ResponseParser parser;
    parser.Reset();
    CollectBody sink;
    std::string pending;  // bytes the parser has not consumed yet (part of the head)
    char chunk[16 * 1024];
    for (;;) {
      boost::system::error_code ec;
      size_t n = socket.read_some(asio::buffer(chunk), ec);
      const bool eof = ec == asio::error::eof;
      if (ec && !eof) throw boost::system::system_error(ec);
      pending.append(chunk, n);
      std::string_view data = pending;
      ResponseParser::Result r = parser.Feed(data, sink);
      pending.erase(0, pending.size() - data.size());
      if (r == ResponseParser::Result::kNeedMore && eof) r = parser.Finish();
      if (r == ResponseParser::Result::kMalformed) {
        error = "malformed response";
        return std::nullopt;
      }
      if (r == ResponseParser::Result::kComplete) {
        return OneShotResponse{parser.status(),
                               parser.status() / 100 == 2 ? sink.body : parser.error_body()};
      }
    }
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

}  // namespace hangar::bench
