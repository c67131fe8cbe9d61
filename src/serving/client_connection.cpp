#include "serving/client_connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#include <httplib.h>

namespace glm::serving {
namespace {

// "address", port of a socket address, in the numeric form httplib puts in Request::remote_addr.
bool numeric_address(const sockaddr_storage& sa, std::string& addr, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    if (!inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf)) return false;
    port = ntohs(in.sin_port);
  } else if (sa.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    if (!inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf)) return false;
    port = ntohs(in6.sin6_port);
  } else {
    return false;
  }
  addr = buf;
  return true;
}

bool endpoint_is(int fd, bool peer, const std::string& want_addr, int want_port) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  std::string addr;
  int port = -1;
  return rc == 0 && numeric_address(sa, addr, port) && port == want_port && addr == want_addr;
}

}  // namespace

int find_connected_socket(const std::string& local_addr, int local_port, const std::string& remote_addr,
                          int remote_port) {
  if (local_port < 0 || remote_port < 0) return -1;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(int(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (endpoint_is(int(fd), false, local_addr, local_port) && endpoint_is(int(fd), true, remote_addr, remote_port)) {
      found = int(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

bool peer_has_closed(int fd) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;  // data waiting (a pipelined request): still connected
  if (n == 0) return true;  // orderly shutdown by the peer
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;  // reset, or no longer a connection
}

// Looked up at once: a peer that resets the connection (closing with unread data does) leaves a socket
// without a peer address, which could no longer be matched.
ClientConnection::ClientConnection(const httplib::Request& req)
    : fd_(find_connected_socket(req.local_addr, req.local_port, req.remote_addr, req.remote_port)) {}

bool ClientConnection::gone() { return fd_ >= 0 && peer_has_closed(fd_); }

}  // namespace glm::serving
