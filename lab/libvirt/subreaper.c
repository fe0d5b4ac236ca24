/*
 * vpm-subreaper: runs a daemon (libvirtd) as its child and reaps every orphan below it.
 *
 *   vpm-subreaper PROGRAM [ARG...]
 *
 * Why: PID 1 in the lab's sandbox reaps orphaned zombies only every ~2 s. libvirt
 * double-forks QEMU, so QEMU is an orphan; when it exits, libvirt waits until the PID is
 * really gone, which added ~2 s to every migration and every destroy. With
 * PR_SET_CHILD_SUBREAPER this process becomes the parent of those orphans and reaps them
 * at once. Harmless on hosts with a normal init.
 *
 * It forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the daemon and exits
 * with the daemon's status when the daemon ends (QEMU processes still running are then
 * adopted by PID 1, as they would be without this wrapper).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: vpm-subreaper PROGRAM [ARG...]\n");
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    perror("vpm-subreaper: prctl(PR_SET_CHILD_SUBREAPER)");
    return 1;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);

  pid_t child = fork();
  if (child < 0) {
    perror("vpm-subreaper: fork");
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[1], argv + 1);
    fprintf(stderr, "vpm-subreaper: exec %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }

  sigset_t wanted;
  sigemptyset(&wanted);
  int forward[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof forward / sizeof forward[0]; i++) sigaddset(&wanted, forward[i]);
  sigaddset(&wanted, SIGCHLD);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&wanted, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      perror("vpm-subreaper: sigwaitinfo");
      return 1;
    }
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t p = waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      if (p == child) {
        /* Reap whatever else is already dead, then leave with the daemon's status. */
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
    }
  }
}
