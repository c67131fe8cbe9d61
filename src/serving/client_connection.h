#pragma once
// Tells whether the client of an HTTP request is still connected, for requests that write nothing for a
// while (a non-streaming answer until it is complete, a stream before its first token: a long prefill, a
// queue): SGLang aborts those when the client goes away, and so do we. Otherwise a stream notices at its
// next failed write.
//
// Debian 12's cpp-httplib (0.11.4) gives a handler neither the socket nor a disconnect check (newer
// releases have Request::is_connection_closed), so the socket is found by its addresses: the one whose
// local and peer address:port match the request's, looked up when the request is accepted. It stays this
// connection's socket until the response is written (httplib closes it after that).
#include <string>

namespace httplib {
struct Request;
}

namespace glm::serving {

class ClientConnection {
 public:
  explicit ClientConnection(const httplib::Request& req);

  // True once the peer has closed or reset the connection. A peer that sent more bytes (a pipelined
  // request) is still there. Cheap: one non-blocking peek.
  bool gone();

 private:
  int fd_ = -1;  // -1: not found (then never reported gone)
};

// The open socket whose local and peer addresses are these, or -1.
int find_connected_socket(const std::string& local_addr, int local_port, const std::string& remote_addr,
                          int remote_port);

// Whether the peer of a connected socket has closed or reset it (a non-blocking peek).
bool peer_has_closed(int fd);

}  // namespace glm::serving
