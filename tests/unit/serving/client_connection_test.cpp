// The connection probe behind aborting non-streaming requests whose client left: it must find the
// accepted socket from the request's addresses and tell closed from alive (including a peer that
// sent more bytes, as a pipelining client does).
#include "serving/client_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace glm::serving {
namespace {

struct LoopbackPair {
  int listener = -1, client = -1, server = -1;
  int server_port = -1, client_port = -1;
  LoopbackPair() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(listener, 1), 0);
    EXPECT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
    server_port = ntohs(a.sin_port);
    client = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    server = accept(listener, nullptr, nullptr);
    sockaddr_in c{};
    len = sizeof c;
    EXPECT_EQ(getsockname(client, reinterpret_cast<sockaddr*>(&c), &len), 0);
    client_port = ntohs(c.sin_port);
  }
  ~LoopbackPair() {
    for (int fd : {listener, client, server})
      if (fd >= 0) close(fd);
  }
};

TEST(ClientConnection, FindsTheAcceptedSocketByItsAddresses) {
  LoopbackPair p;
  ASSERT_GE(p.server, 0);
  EXPECT_EQ(find_connected_socket("127.0.0.1", p.server_port, "127.0.0.1", p.client_port), p.server);
  // The client's own end has the addresses the other way round.
  EXPECT_EQ(find_connected_socket("127.0.0.1", p.client_port, "127.0.0.1", p.server_port), p.client);
  EXPECT_EQ(find_connected_socket("127.0.0.1", p.server_port, "127.0.0.2", p.client_port), -1);
  EXPECT_EQ(find_connected_socket("127.0.0.1", p.server_port, "127.0.0.1", -1), -1);
}

TEST(ClientConnection, ClosedPeerIsGoneAndPendingBytesAreNot) {
  LoopbackPair p;
  ASSERT_GE(p.server, 0);
  EXPECT_FALSE(peer_has_closed(p.server));
  ASSERT_EQ(send(p.client, "GET", 3, 0), 3);  // a pipelined request: still connected
  EXPECT_FALSE(peer_has_closed(p.server));
  char buf[3];
  ASSERT_EQ(recv(p.server, buf, 3, 0), 3);
  close(p.client);
  p.client = -1;
  EXPECT_TRUE(peer_has_closed(p.server));
}

TEST(ClientConnection, NotASocketIsNeverReportedAsALiveClient) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_TRUE(peer_has_closed(fds[0]));  // ENOTSOCK: no connection to keep a request alive for
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace glm::serving
