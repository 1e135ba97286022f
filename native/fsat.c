/*
 * The *at family of file calls, which Node's fs lacks: a root process that writes into
 * directories other users control must name every path component relative to a
 * directory fd it already holds (and refuse symlinks with O_NOFOLLOW), so that what it
 * checked is what it changes. src/platform/fsat.ts wraps these and names paths in errors.
 *
 * Every call takes one path component; the TS layer checks it (no '/', not '.' or '..').
 * Failures throw an Error whose .errno is the errno value and .syscall the call's name;
 * the TS layer turns that into a node-like error with .code ('ENOENT', 'ELOOP', …).
 * Every fd opened here is O_CLOEXEC.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <node_api.h>

#include "fsat.h"

#define NAME_MAX_BYTES 4096

static napi_value throw_sys(napi_env env, const char *syscall, int err) {
  napi_value msg, error, num, sc;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
  return NULL;
}

static int arg_int(napi_env env, napi_value v, int32_t *out, const char *what) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_FSAT", what);
    return 0;
  }
  return 1;
}

/* Copies a JS string into buf (NUL-terminated); refuses embedded NULs and overlong names. */
static int arg_str(napi_env env, napi_value v, char *buf, size_t cap, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_FSAT", what);
    return 0;
  }
  if (len >= cap - 1 || strlen(buf) != len) {
    napi_throw_type_error(env, "ERR_FSAT", what);
    return 0;
  }
  return 1;
}

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_FSAT", "too few arguments");
    return NULL;
  }
  return argv[0];
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value undef(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

static napi_value stat_object(napi_env env, const struct stat *st) {
  napi_value o, kind;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "dev", num(env, (double)st->st_dev));
  napi_set_named_property(env, o, "ino", num(env, (double)st->st_ino));
  napi_set_named_property(env, o, "mode", num(env, (double)st->st_mode));
  napi_set_named_property(env, o, "uid", num(env, (double)st->st_uid));
  napi_set_named_property(env, o, "gid", num(env, (double)st->st_gid));
  napi_set_named_property(env, o, "size", num(env, (double)st->st_size));
  napi_set_named_property(env, o, "nlink", num(env, (double)st->st_nlink));
  napi_set_named_property(env, o, "mtimeMs", num(env, (double)st->st_mtim.tv_sec * 1000.0 + (double)st->st_mtim.tv_nsec / 1e6));
  const char *k = S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "dir" : S_ISLNK(st->st_mode) ? "symlink" : "other";
  napi_create_string_utf8(env, k, NAPI_AUTO_LENGTH, &kind);
  napi_set_named_property(env, o, "kind", kind);
  return o;
}

/* openat(dirfd, name, flags, mode) -> fd; O_CLOEXEC always added. */
static napi_value js_openat(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  int32_t dirfd, flags, mode;
  char name[NAME_MAX_BYTES];
  if (!arg_int(env, argv[0], &dirfd, "openat: dirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[1], name, sizeof name, "openat: bad name")) return NULL;
  if (!arg_int(env, argv[2], &flags, "openat: flags must be an integer")) return NULL;
  if (!arg_int(env, argv[3], &mode, "openat: mode must be an integer")) return NULL;
  int fd = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return throw_sys(env, "openat", errno);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

/* openRoot(path) -> fd of an absolute directory opened as is (used for '/' only). */
static napi_value js_open_dir(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  char path[NAME_MAX_BYTES];
  if (!arg_str(env, argv[0], path, sizeof path, "openDir: bad path")) return NULL;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return throw_sys(env, "open", errno);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static napi_value js_mkdirat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  int32_t dirfd, mode;
  char name[NAME_MAX_BYTES];
  if (!arg_int(env, argv[0], &dirfd, "mkdirat: dirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[1], name, sizeof name, "mkdirat: bad name")) return NULL;
  if (!arg_int(env, argv[2], &mode, "mkdirat: mode must be an integer")) return NULL;
  if (mkdirat(dirfd, name, (mode_t)mode) != 0) return throw_sys(env, "mkdirat", errno);
  return undef(env);
}

static napi_value js_unlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  int32_t dirfd;
  bool dir = false;
  char name[NAME_MAX_BYTES];
  if (!arg_int(env, argv[0], &dirfd, "unlinkat: dirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[1], name, sizeof name, "unlinkat: bad name")) return NULL;
  napi_get_value_bool(env, argv[2], &dir);
  if (unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0) != 0) return throw_sys(env, "unlinkat", errno);
  return undef(env);
}

static napi_value js_renameat(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  int32_t from, to;
  char a[NAME_MAX_BYTES], b[NAME_MAX_BYTES];
  if (!arg_int(env, argv[0], &from, "renameat: fromDirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[1], a, sizeof a, "renameat: bad fromName")) return NULL;
  if (!arg_int(env, argv[2], &to, "renameat: toDirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[3], b, sizeof b, "renameat: bad toName")) return NULL;
  if (renameat(from, a, to, b) != 0) return throw_sys(env, "renameat", errno);
  return undef(env);
}

/* fstatat(dirfd, name) with AT_SYMLINK_NOFOLLOW -> stat object, or null on ENOENT. */
static napi_value js_fstatat(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t dirfd;
  char name[NAME_MAX_BYTES];
  if (!arg_int(env, argv[0], &dirfd, "fstatat: dirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[1], name, sizeof name, "fstatat: bad name")) return NULL;
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      napi_value n;
      napi_get_null(env, &n);
      return n;
    }
    return throw_sys(env, "fstatat", errno);
  }
  return stat_object(env, &st);
}

static napi_value js_symlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  int32_t dirfd;
  char target[NAME_MAX_BYTES], name[NAME_MAX_BYTES];
  if (!arg_str(env, argv[0], target, sizeof target, "symlinkat: bad target")) return NULL;
  if (!arg_int(env, argv[1], &dirfd, "symlinkat: dirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[2], name, sizeof name, "symlinkat: bad name")) return NULL;
  if (symlinkat(target, dirfd, name) != 0) return throw_sys(env, "symlinkat", errno);
  return undef(env);
}

static napi_value js_readlinkat(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t dirfd;
  char name[NAME_MAX_BYTES];
  if (!arg_int(env, argv[0], &dirfd, "readlinkat: dirfd must be an integer")) return NULL;
  if (!arg_str(env, argv[1], name, sizeof name, "readlinkat: bad name")) return NULL;
  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat(dirfd, name, buf, sizeof buf);
  if (n < 0) return throw_sys(env, "readlinkat", errno);
  if ((size_t)n >= sizeof buf) return throw_sys(env, "readlinkat", ENAMETOOLONG);
  napi_value out;
  napi_create_string_utf8(env, buf, (size_t)n, &out);
  return out;
}

/* readdir(dirfd) -> names, without '.' and '..'; reads through a dup so dirfd stays open. */
static napi_value js_readdir(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  int32_t fd;
  if (!arg_int(env, argv[0], &fd, "readdir: fd must be an integer")) return NULL;
  int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dupfd < 0) return throw_sys(env, "readdir", errno);
  DIR *d = fdopendir(dupfd);
  if (d == NULL) {
    int err = errno;
    close(dupfd);
    return throw_sys(env, "readdir", err);
  }
  rewinddir(d); /* the dup shares the offset of fd: start from the top */
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL) {
      int err = errno;
      closedir(d);
      if (err != 0) return throw_sys(env, "readdir", err);
      break;
    }
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    napi_value s;
    napi_create_string_utf8(env, e->d_name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, i++, s);
  }
  return arr;
}

static void set_int(napi_env env, napi_value o, const char *name, int v) {
  napi_value n;
  napi_create_int32(env, v, &n);
  napi_set_named_property(env, o, name, n);
}

void fsat_register(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {
      {"openat", js_openat},     {"openDir", js_open_dir},       {"mkdirat", js_mkdirat}, {"unlinkat", js_unlinkat},
      {"renameat", js_renameat}, {"fstatat", js_fstatat},        {"symlinkat", js_symlinkat},
      {"readlinkat", js_readlinkat}, {"readdir", js_readdir},
  };
  napi_value at;
  napi_create_object(env, &at);
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, at, fns[i].name, fn);
  }
  napi_value o;
  napi_create_object(env, &o);
  set_int(env, o, "RDONLY", O_RDONLY);
  set_int(env, o, "WRONLY", O_WRONLY);
  set_int(env, o, "RDWR", O_RDWR);
  set_int(env, o, "CREAT", O_CREAT);
  set_int(env, o, "EXCL", O_EXCL);
  set_int(env, o, "TRUNC", O_TRUNC);
  set_int(env, o, "NOFOLLOW", O_NOFOLLOW);
  set_int(env, o, "DIRECTORY", O_DIRECTORY);
  set_int(env, o, "CLOEXEC", O_CLOEXEC);
  set_int(env, o, "NONBLOCK", O_NONBLOCK);
  napi_set_named_property(env, at, "O", o);
  napi_set_named_property(env, exports, "fsat", at);
}
