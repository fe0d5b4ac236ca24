/*
 * vpm-tapwatch: timestamps the lab's numbered datagrams on one interface (a VM's tap), in
 * both directions, so a benchmark can tell the network's part of a migration gap from the
 * VM's own: when the clone path first wrote a datagram into the destination's tap, and when
 * the VM first sent one out of it.
 *
 *   vpm-tapwatch IFNAME [WAIT_MS]
 *
 * Waits up to WAIT_MS (default 0) for IFNAME to appear (a migration's destination tap is
 * made while the watch already runs), prints "ready IFNAME" once bound, then one line per
 * datagram of the lab's stream protocol (UDP payload starting [seq u32]["VPM1"], see
 * lab/stream/datagram.ts):
 *
 *   EPOCH_US to-vm|from-vm SEQ
 *
 * EPOCH_US is the kernel's receive timestamp (CLOCK_REALTIME, µs): the clock of libvirt's
 * event timestamps. to-vm = the host sent it into the tap (towards the VM), from-vm = the VM
 * sent it. Ends on SIGTERM/SIGINT or when the interface goes away; output is flushed then
 * (full buffering: 2000 lines a second must not cost a write each on a 2-core lab).
 * Lab-only tool (needs CAP_NET_RAW in the hypervisor's namespace); no product code uses it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The sequence number of a numbered datagram in an Ethernet frame, or -1. */
static long long stream_seq(const unsigned char *f, size_t n) {
  if (n < 14 + 20 + 8 + 8) return -1;
  if (f[12] != 0x08 || f[13] != 0x00) return -1; /* IPv4 */
  size_t ihl = (size_t)(f[14] & 0x0f) * 4;
  if (ihl < 20 || f[14 + 9] != 17) return -1; /* UDP */
  size_t p = 14 + ihl + 8;
  if (n < p + 8 || memcmp(f + p + 4, "VPM1", 4) != 0) return -1;
  return ((long long)f[p] << 24) | ((long long)f[p + 1] << 16) | ((long long)f[p + 2] << 8) | f[p + 3];
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || strlen(argv[1]) >= IFNAMSIZ) {
    fprintf(stderr, "usage: vpm-tapwatch IFNAME [WAIT_MS]\n");
    return 2;
  }
  long wait_ms = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: recvmsg returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  unsigned idx = 0;
  for (long waited = 0; !stop; waited += 10) {
    idx = if_nametoindex(argv[1]);
    if (idx != 0 || waited >= wait_ms) break;
    sleep_ms(10);
  }
  if (idx == 0) {
    fprintf(stderr, "vpm-tapwatch: no interface %s\n", argv[1]);
    return 1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) {
    perror("vpm-tapwatch: socket(AF_PACKET)");
    return 1;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    perror("vpm-tapwatch: bind");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
  printf("ready %s\n", argv[1]);
  fflush(stdout);

  unsigned char frame[2048];
  char control[256];
  while (!stop) {
    struct sockaddr_ll from;
    struct iovec iov = {frame, sizeof frame};
    struct msghdr msg = {&from, sizeof from, &iov, 1, control, sizeof control, 0};
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* ENETDOWN comes once when the tap goes down (ip link set down, or QEMU closing it):
         watching goes on while the interface exists; once it is gone, so is the watch. */
      if (if_nametoindex(argv[1]) == idx) continue;
      break;
    }
    long long seq = stream_seq(frame, (size_t)n);
    if (seq < 0) continue;
    struct timeval tv = {0, 0};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMP) memcpy(&tv, CMSG_DATA(c), sizeof tv);
    }
    if (tv.tv_sec == 0) gettimeofday(&tv, NULL);
    printf("%lld %s %lld\n", (long long)tv.tv_sec * 1000000LL + tv.tv_usec, from.sll_pkttype == PACKET_OUTGOING ? "to-vm" : "from-vm", seq);
  }
  fflush(stdout);
  return 0;
}
