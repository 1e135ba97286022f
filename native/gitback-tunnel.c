/*
 * gitback-tunnel: the plain connect path of git-remote-gitback, without a Node.js start.
 *
 * git runs a remote helper once per fetch, clone, push and ls-remote; Node's own start
 * (~50-100 ms) was most of gitback's fixed cost per operation. This program does only
 * what the helper does when all goes well, byte for byte the same as
 * src/gitback/remote-helper.ts: answer `capabilities` with `connect`, and on
 * `connect git-upload-pack|git-receive-pack` for a gitback://<project_id>/<handle> URL,
 * open the helper daemon's socket, send the same one-line connect request, and on the
 * daemon's `{"ok":true}` become a byte pipe between git and the daemon. A push on an
 * envoy that replicates (the daemon keeps `<run dir>/gitback/replicating` while it has a
 * swarm) goes to the program: after the receive it signs the push's manifest through the
 * session helper and prints the replica report.
 *
 * Everything else goes to the multicall program (bin/git-remote-gitback.js, i.e. vigo),
 * which decides and explains: a friendly-name URL, a bad URL, an unknown command, no
 * daemon, and any answer but ok (a refusal, or E_UNBOUND where vigo binds and retries).
 * Before anything is read the program is exec'd in our place; after, it is started with
 * the unread command stream replayed on its stdin (the refused connect is simply asked
 * again), and we relay the rest of git's input to it. So no decision and no message
 * lives here, and the daemon checks every connection exactly as before.
 *
 * Linux only (like SO_PEERCRED). Built by node-gyp with the addon (binding.gyp).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LINE 65536 /* git's helper commands are short; more is not ours to handle */
#define MAX_RESPONSE 4096
/*
 * The deadline for connecting and for the daemon's answer: VIGO_GITBACK_TIMEOUT seconds
 * (fractions allowed), else 5, exactly as the program's own (remote-helper.ts
 * daemonTimeoutMs). The daemon answers a connect as soon as it has authorized it (a push
 * then waits for the receive lock in the data flow, where no deadline applies), so a
 * silent daemon is a stopped or wedged one. On expiry, or on a value this does not read,
 * the program takes over and says what is wrong.
 */
#define ANSWER_DEADLINE_DEFAULT_MS 5000

static long answer_deadline_ms(void) {
  const char *v = getenv("VIGO_GITBACK_TIMEOUT");
  if (v == NULL || v[0] == '\0') return ANSWER_DEADLINE_DEFAULT_MS;
  char *end = NULL;
  double secs = strtod(v, &end);
  if (end == v || *end != '\0' || !(secs > 0) || secs > 86400) return -1;
  long ms = (long)(secs * 1000 + 0.5);
  return ms > 0 ? ms : 1;
}

static char inbuf[MAX_LINE];
static size_t inlen = 0; /* bytes of git's stream read but not yet used */
static int consumed = 0; /* whether any of git's stream has been read at all */

static int is_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))) return 0;
  return 1;
}

/* ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$ and not 64 hex (src/gitback/url.ts) */
static int is_handle(const char *s, size_t n) {
  if (n < 1 || n > 64 || s[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return 0;
  }
  return !(n == 64 && is_hex(s, n));
}

/* ^[A-Za-z0-9=:.,_-]{0,100}$ (what the daemon accepts as git_protocol) */
static int is_git_protocol(const char *s) {
  size_t n = strlen(s);
  if (n > 100) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("=:.,_-", c) != NULL)) return 0;
  }
  return 1;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The multicall program next to us: <root>/build/Release/gitback-tunnel → <root>/bin/git-remote-gitback.js */
static void program_path(char *out, size_t size) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    out[0] = '\0';
    return;
  }
  exe[n] = '\0';
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(exe, '/');
    if (slash == NULL) {
      out[0] = '\0';
      return;
    }
    *slash = '\0';
  }
  snprintf(out, size, "%s/bin/git-remote-gitback.js", exe);
}

/*
 * Hands over to the multicall program. `replay` (len bytes) is what it must read first:
 * the command we did not handle and everything git sent after it.
 */
static int hand_over(char **argv, const char *replay, size_t len) {
  char prog[PATH_MAX + 64];
  program_path(prog, sizeof prog);
  if (prog[0] == '\0') {
    fprintf(stderr, "fatal: gitback: cannot find the vigo program next to %s\n", argv[0]);
    return 128;
  }
  argv[0] = prog;
  signal(SIGPIPE, SIG_DFL); /* an ignored signal would be inherited across exec */
  if (!consumed) {
    execv(prog, argv);
    fprintf(stderr, "fatal: gitback: cannot run %s: %s\n", prog, strerror(errno));
    return 128;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return 128;
  pid_t pid = fork();
  if (pid < 0) return 128;
  if (pid == 0) {
    dup2(p[0], 0);
    execv(prog, argv);
    fprintf(stderr, "fatal: gitback: cannot run %s: %s\n", prog, strerror(errno));
    _exit(128);
  }
  signal(SIGPIPE, SIG_IGN);
  close(p[0]);
  /* git must see the program's stdout close when it exits, not ours */
  close(1);
  int ok = write_all(p[1], replay, len) == 0;
  char buf[65536];
  while (ok) {
    struct pollfd fds[2] = {{0, POLLIN, 0}, {p[1], 0, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & (POLLERR | POLLHUP)) break; /* the program exited or closed its stdin */
    if (fds[0].revents == 0) continue;
    ssize_t r = read(0, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || write_all(p[1], buf, (size_t)r) != 0) break;
  }
  close(p[1]);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 128;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The next '\n'-terminated line of git's stream (NUL-terminated in place), or NULL at EOF / when too long. */
static char *next_line(size_t *linelen, int *eof) {
  for (;;) {
    char *nl = memchr(inbuf, '\n', inlen);
    if (nl != NULL) {
      *nl = '\0';
      *linelen = (size_t)(nl - inbuf);
      return inbuf;
    }
    if (inlen == sizeof inbuf) return NULL;
    ssize_t r = read(0, inbuf + inlen, sizeof inbuf - inlen);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      *eof = 1;
      return NULL;
    }
    consumed = 1;
    inlen += (size_t)r;
  }
}

/* Drops the first line (and its '\n') from inbuf. */
static void drop_line(size_t linelen) {
  memmove(inbuf, inbuf + linelen + 1, inlen - linelen - 1);
  inlen -= linelen + 1;
}

/* git does not hand GIT_PROTOCOL to a connect helper: ask upload-pack for v2 unless protocol.version pins another. */
static const char *wanted_protocol(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return "version=2";
  pid_t pid = fork();
  if (pid < 0) return "version=2";
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(p[1], 1);
    dup2(devnull, 2);
    signal(SIGPIPE, SIG_DFL);
    execlp("git", "git", "config", "--get", "protocol.version", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char out[256];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(p[0], out + n, sizeof out - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (n == sizeof out - 1) break;
  }
  close(p[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out[n] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "version=2";
  /* trim as String.prototype.trim does for the ASCII whitespace git may print */
  char *s = out;
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = '\0';
  return (*s == '\0' || strcmp(s, "2") == 0) ? "version=2" : NULL;
}

/* connect(2) to path; nonblock: a full accept queue is EAGAIN at once, else SO_SNDTIMEO (deadline) bounds the wait. */
static int unix_connect(const char *path, int nonblock, const struct timeval *deadline) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  strcpy(addr.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (s < 0) return -1;
  if (!nonblock) setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, deadline, sizeof *deadline);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(s);
    return -1;
  }
  if (nonblock) {
    int fl = fcntl(s, F_GETFL);
    if (fl < 0 || fcntl(s, F_SETFL, fl & ~O_NONBLOCK) != 0) {
      close(s);
      return -1;
    }
  }
  return s;
}

/*
 * Our own per-uid socket first (<run dir>/gitback/u/<euid>.sock, as in
 * src/gitback/daemon/uid-socket.ts): its accept queue holds only our connections, so
 * another user's connect flood does not delay us. Tried without blocking (on AF_UNIX a
 * full queue is EAGAIN at once); absent or full, the shared socket, whose connect() the
 * deadline bounds (a full backlog blocks it). Either way the deadline then bounds the answer.
 */
static int open_daemon_socket(const char *sockpath, long ms) {
  struct timeval deadline = {ms / 1000, (ms % 1000) * 1000};
  char own[PATH_MAX];
  const char *slash = strrchr(sockpath, '/');
  int s = -1;
  if (slash != NULL) {
    int n = snprintf(own, sizeof own, "%.*s/gitback/u/%u.sock", (int)(slash - sockpath), sockpath, (unsigned)geteuid());
    if (n > 0 && (size_t)n < sizeof own) s = unix_connect(own, 1, &deadline);
  }
  if (s < 0) s = unix_connect(sockpath, 0, &deadline);
  if (s < 0) return -1;
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &deadline, sizeof deadline);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
  return s;
}

/*
 * Connects to the daemon and asks for `service`. Returns the socket on an ok answer
 * (with any bytes after the answer in rest/restlen), else -1: the caller hands over.
 */
static int daemon_connect(const char *sockpath, const char *service, const char *project_id, const char *handle, char *rest, size_t *restlen) {
  const char *gp_env = getenv("GIT_PROTOCOL");
  const char *gp = gp_env != NULL ? gp_env : (strcmp(service, "git-upload-pack") == 0 ? wanted_protocol() : NULL);
  if (gp != NULL && gp[0] == '\0') gp = NULL;
  if (gp != NULL && !is_git_protocol(gp)) return -1; /* vigo sends it and shows the daemon's refusal */
  char req[512];
  int n = gp != NULL
              ? snprintf(req, sizeof req, "{\"v\":1,\"op\":\"connect\",\"service\":\"%s\",\"project_id\":\"%s\",\"handle\":\"%s\",\"git_protocol\":\"%s\"}\n", service, project_id, handle, gp)
              : snprintf(req, sizeof req, "{\"v\":1,\"op\":\"connect\",\"service\":\"%s\",\"project_id\":\"%s\",\"handle\":\"%s\",\"git_protocol\":null}\n", service, project_id, handle);
  if (n < 0 || (size_t)n >= sizeof req) return -1;

  long ms = answer_deadline_ms();
  if (ms < 0) return -1; /* a bad VIGO_GITBACK_TIMEOUT: the program names it */
  int s = open_daemon_socket(sockpath, ms);
  if (s < 0 || write_all(s, req, (size_t)n) != 0) {
    if (s >= 0) close(s);
    return -1;
  }
  char resp[MAX_RESPONSE];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(s, resp + len, sizeof resp - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
    char *nl = memchr(resp, '\n', len);
    if (nl != NULL) {
      size_t linelen = (size_t)(nl - resp);
      if (linelen != strlen("{\"ok\":true}") || memcmp(resp, "{\"ok\":true}", linelen) != 0) break;
      *restlen = len - linelen - 1;
      memcpy(rest, nl + 1, *restlen);
      /* the pipe has no deadline of its own: the daemon closes an idle session */
      struct timeval none = {0, 0};
      setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
      setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
      return s;
    }
    if (len == sizeof resp) break;
  }
  close(s);
  return -1;
}

/* git ↔ daemon until the daemon closes; stdin's end becomes a half-close. */
static int pipe_bytes(int s, const char *rest, size_t restlen) {
  int in_eof = 0;
  if (write_all(1, "\n", 1) != 0) return 128;
  if (inlen > 0 && write_all(s, inbuf, inlen) != 0) goto failed;
  if (restlen > 0 && write_all(1, rest, restlen) != 0) return 128;
  static char buf[1 << 16];
  for (;;) {
    struct pollfd fds[2] = {{s, POLLIN, 0}, {in_eof ? -1 : 0, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      goto failed;
    }
    if (fds[0].revents != 0) {
      ssize_t r = read(s, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) goto failed;
      if (r == 0) {
        /*
         * The daemon is done. git may still be writing to us (a push whose pre-push hook
         * ran while its session was ended): end git's input so it reads the daemon's last
         * packet, then take what git still writes until it closes our stdin, as the
         * program does with its half-open socket; git dies of no EPIPE before it has read
         * the reason.
         */
        close(1);
        while (!in_eof) {
          ssize_t d = read(0, buf, sizeof buf);
          if (d < 0 && errno == EINTR) continue;
          if (d <= 0) in_eof = 1;
        }
        return 0;
      }
      if (write_all(1, buf, (size_t)r) != 0) return 128;
    }
    if (fds[1].revents != 0) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        in_eof = 1;
        shutdown(s, SHUT_WR);
      } else if (write_all(s, buf, (size_t)r) != 0) goto failed;
    }
  }
failed:
  fprintf(stderr, "fatal: gitback: connection to the helper daemon failed: %s\n", strerror(errno));
  return 128;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  /* git invokes: git-remote-gitback <remote-name-or-url> [<url>] */
  const char *url = argc >= 3 ? argv[2] : (argc == 2 ? argv[1] : NULL);
  if (url == NULL || strncmp(url, "gitback://", 10) != 0) return hand_over(argv, NULL, 0);
  const char *host = url + 10;
  const char *slash = strchr(host, '/');
  if (slash == NULL || slash - host != 64 || !is_hex(host, 64)) return hand_over(argv, NULL, 0); /* a name: vigo resolves it */
  char project_id[65];
  for (int i = 0; i < 64; i++) project_id[i] = (char)((host[i] >= 'A' && host[i] <= 'F') ? host[i] - 'A' + 'a' : host[i]);
  project_id[64] = '\0';
  char handle[80];
  size_t hl = strlen(slash + 1);
  if (hl >= sizeof handle) return hand_over(argv, NULL, 0);
  memcpy(handle, slash + 1, hl + 1);
  if (hl > 0 && handle[hl - 1] == '/') handle[--hl] = '\0';
  if (hl > 4 && strcmp(handle + hl - 4, ".git") == 0) handle[hl -= 4] = '\0';
  if (strchr(handle, '/') != NULL || !is_handle(handle, hl)) return hand_over(argv, NULL, 0);

  const char *root = getenv("VIGO_ROOT");
  char sockpath[PATH_MAX];
  snprintf(sockpath, sizeof sockpath, "%s/var/run/vigo/gitback.sock", root != NULL && root[0] != '\0' ? root : "");
  char replicating[PATH_MAX];
  snprintf(replicating, sizeof replicating, "%s/var/run/vigo/gitback/replicating", root != NULL && root[0] != '\0' ? root : "");

  for (;;) {
    size_t linelen = 0;
    int eof = 0;
    char *line = next_line(&linelen, &eof);
    if (line == NULL) {
      if (eof) return 0; /* like the TypeScript reader: a partial last line is not a command */
      return hand_over(argv, inbuf, inlen); /* an overlong line: vigo says what is wrong */
    }
    if (linelen == 0) return 0;
    if (strcmp(line, "capabilities") == 0) {
      drop_line(linelen);
      if (write_all(1, "connect\n\n", 9) != 0) return 128;
      continue;
    }
    const char *service = strcmp(line, "connect git-upload-pack") == 0 ? "git-upload-pack" : strcmp(line, "connect git-receive-pack") == 0 ? "git-receive-pack" : NULL;
    /* a hint only: without it the daemon's answer (not exactly ok) sends us to the program anyway */
    if (service != NULL && strcmp(service, "git-receive-pack") == 0 && access(replicating, F_OK) == 0) service = NULL;
    if (service != NULL) {
      char rest[MAX_RESPONSE];
      size_t restlen = 0;
      int s = daemon_connect(sockpath, service, project_id, handle, rest, &restlen);
      if (s >= 0) {
        drop_line(linelen);
        return pipe_bytes(s, rest, restlen);
      }
    }
    inbuf[linelen] = '\n';
    return hand_over(argv, inbuf, inlen);
  }
}
