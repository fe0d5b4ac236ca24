/*
 * udprelay: the relay VM of the paper, as a tiny static program for the lab guest.
 *
 *   udprelay [-q QUERY_PORT] [-c COUNT_FILE] [-i INTERVAL_MS] LISTEN_PORT DEST_IP DEST_PORT
 *   udprelay -Q IP:PORT [-t TIMEOUT_MS]
 *
 * Receives UDP datagrams on LISTEN_PORT (any local address) and sends each one, unchanged,
 * to DEST_IP:DEST_PORT (unicast, broadcast or multicast). Counts what it relays:
 *   - COUNT_FILE (default /run/relay.count) is rewritten atomically every INTERVAL_MS
 *     (default 1000) when a counter changed, as "rx=N tx=N err=N bytes=N\n";
 *   - with -q, any datagram to QUERY_PORT is answered with the same line.
 * SIGTERM/SIGINT write the file one last time and exit 0. Busybox has no UDP netcat.
 *
 * -Q is the client side: asks a relay's query port (resending every 200 ms), prints the
 * answer and exits 0, or exits 1 after TIMEOUT_MS (default 2000) without one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAXDGRAM 65536

static volatile sig_atomic_t stop;
static unsigned long long rx, tx, err, bytes;

static void on_signal(int sig) { (void)sig; stop = 1; }

static void usage(void) {
  fprintf(stderr,
          "usage: udprelay [-q QUERY_PORT] [-c COUNT_FILE] [-i INTERVAL_MS] LISTEN_PORT DEST_IP DEST_PORT\n"
          "       udprelay -Q IP:PORT [-t TIMEOUT_MS]\n");
  exit(2);
}

static int parse_port(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) {
    fprintf(stderr, "udprelay: bad port '%s'\n", s);
    exit(2);
  }
  return (int)v;
}

static int udp_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { perror("udprelay: socket"); exit(1); }
  int one = 1, big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  /* A relay VM forwards to a multicast group (no ARP needed on a sink-or-swim overlay);
     it must not hear its own output, or it would relay it again forever. */
  unsigned char noloop = 0;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &noloop, sizeof noloop);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "udprelay: bind port %d: %s\n", port, strerror(errno));
    exit(1);
  }
  return fd;
}

static int format_counts(char *buf, size_t len) {
  return snprintf(buf, len, "rx=%llu tx=%llu err=%llu bytes=%llu\n", rx, tx, err, bytes);
}

static void write_counts(const char *file) {
  char tmp[4096], line[160];
  int n = format_counts(line, sizeof line);
  snprintf(tmp, sizeof tmp, "%s.tmp", file);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fwrite(line, 1, (size_t)n, f);
  if (fclose(f) == 0) rename(tmp, file);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long now_ms(void);

/* Client: ask a relay for its counters. */
static int query(const char *target, int timeout_ms) {
  char host[64];
  const char *colon = strrchr(target, ':');
  if (!colon || (size_t)(colon - target) >= sizeof host) usage();
  memcpy(host, target, (size_t)(colon - target));
  host[colon - target] = '\0';
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(parse_port(colon + 1))};
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
    fprintf(stderr, "udprelay: bad address '%s'\n", host);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("udprelay: query socket"); return 1; }
  long long deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    (void)!send(fd, "q\n", 2, 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    long long left = deadline - now_ms();
    if (poll(&p, 1, (int)(left < 200 ? (left > 0 ? left : 0) : 200)) > 0) {
      char buf[512];
      ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
      if (n > 0) {
        fwrite(buf, 1, (size_t)n, stdout);
        return 0;
      }
      /* ECONNREFUSED (ICMP port unreachable): nobody listens yet; retry after a pause. */
      usleep(100000);
    }
  }
  fprintf(stderr, "udprelay: no answer from %s within %d ms\n", target, timeout_ms);
  return 1;
}

int main(int argc, char **argv) {
  const char *count_file = "/run/relay.count";
  const char *query_target = NULL;
  int query_port = 0, interval = 1000, timeout_ms = 2000, opt;
  while ((opt = getopt(argc, argv, "q:c:i:Q:t:h")) != -1) {
    switch (opt) {
      case 'Q': query_target = optarg; break;
      case 't': timeout_ms = atoi(optarg); break;
      case 'q': query_port = parse_port(optarg); break;
      case 'c': count_file = optarg; break;
      case 'i': interval = atoi(optarg); if (interval < 10) interval = 10; break;
      default: usage();
    }
  }
  if (query_target) return query(query_target, timeout_ms > 0 ? timeout_ms : 2000);
  if (argc - optind != 3) usage();
  int listen_port = parse_port(argv[optind]);
  struct sockaddr_in dest = {.sin_family = AF_INET, .sin_port = htons(parse_port(argv[optind + 2]))};
  if (inet_pton(AF_INET, argv[optind + 1], &dest.sin_addr) != 1) {
    fprintf(stderr, "udprelay: bad destination address '%s'\n", argv[optind + 1]);
    return 2;
  }

  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int fd = udp_socket(listen_port);
  int qfd = query_port ? udp_socket(query_port) : -1;

  /* Batched receive and send: one system call per burst keeps TCG guests cheap. */
  static char bufs[BATCH][MAXDGRAM];
  struct iovec iov[BATCH];
  struct mmsghdr in[BATCH], out[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = MAXDGRAM;
  }

  write_counts(count_file);
  unsigned long long written = 0;
  long long next_write = now_ms() + interval;
  struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = qfd, .events = POLLIN}};
  int nfds = qfd >= 0 ? 2 : 1;
  fprintf(stderr, "udprelay: udp/%d -> %s:%s%s\n", listen_port, argv[optind + 1], argv[optind + 2],
          qfd >= 0 ? " (query port open)" : "");

  while (!stop) {
    long long now = now_ms();
    int timeout = next_write > now ? (int)(next_write - now) : 0;
    int r = poll(pfd, (nfds_t)nfds, timeout);
    if (r < 0 && errno != EINTR) { perror("udprelay: poll"); break; }
    if (r > 0 && (pfd[0].revents & POLLIN)) {
      for (int i = 0; i < BATCH; i++) {
        memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
        iov[i].iov_len = MAXDGRAM;
        in[i].msg_hdr.msg_iov = &iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);
      if (n > 0) {
        rx += (unsigned long long)n;
        struct iovec oiov[BATCH];
        for (int i = 0; i < n; i++) {
          oiov[i].iov_base = bufs[i];
          oiov[i].iov_len = in[i].msg_len;
          bytes += in[i].msg_len;
          memset(&out[i].msg_hdr, 0, sizeof out[i].msg_hdr);
          out[i].msg_hdr.msg_name = &dest;
          out[i].msg_hdr.msg_namelen = sizeof dest;
          out[i].msg_hdr.msg_iov = &oiov[i];
          out[i].msg_hdr.msg_iovlen = 1;
        }
        int sent = 0;
        while (sent < n) {
          int s = sendmmsg(fd, out + sent, (unsigned)(n - sent), 0);
          if (s <= 0) {
            /* Count the datagram that failed (no route, no ARP answer yet...) and go on. */
            err++;
            sent++;
            continue;
          }
          tx += (unsigned long long)s;
          sent += s;
        }
      }
    }
    if (r > 0 && qfd >= 0 && (pfd[1].revents & POLLIN)) {
      char q[512], line[160];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      if (recvfrom(qfd, q, sizeof q, MSG_DONTWAIT, (struct sockaddr *)&from, &fl) >= 0) {
        int n = format_counts(line, sizeof line);
        sendto(qfd, line, (size_t)n, 0, (struct sockaddr *)&from, fl);
      }
    }
    if (now_ms() >= next_write) {
      if (rx + tx + err != written) {
        write_counts(count_file);
        written = rx + tx + err;
      }
      next_write = now_ms() + interval;
    }
  }
  write_counts(count_file);
  return 0;
}
