/*
 * vigo_native: the one thing Node cannot tell us itself — who is on the other
 * end of a Unix socket, as the kernel recorded it at connect() time.
 * getPeerCred(fd) -> { pid, uid, gid } via getsockopt(SO_PEERCRED).
 * The daemons trust only this, never anything the client sends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <node_api.h>

#include "fsat.h"

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_PEERCRED", msg);
  return NULL;
}

static napi_value get_peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, "ERR_PEERCRED", "getPeerCred(fd) needs a file descriptor");
    return NULL;
  }
  int32_t fd = -1;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_PEERCRED", "getPeerCred(fd): fd must be a non-negative integer");
    return NULL;
  }
#ifdef SO_PEERCRED
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  }
  napi_value out, pid, uid, gid;
  napi_create_object(env, &out);
  napi_create_int32(env, (int32_t)cred.pid, &pid);
  napi_create_uint32(env, (uint32_t)cred.uid, &uid);
  napi_create_uint32(env, (uint32_t)cred.gid, &gid);
  napi_set_named_property(env, out, "pid", pid);
  napi_set_named_property(env, out, "uid", uid);
  napi_set_named_property(env, out, "gid", gid);
  return out;
#else
  (void)fd;
  return throw_errno(env, "SO_PEERCRED", ENOSYS);
#endif
}

/*
 * setNotDumpable() -> true: prctl(PR_SET_DUMPABLE, 0). The puddle session helper holds an
 * unwrapped key: this keeps it out of core dumps and stops other processes of the same
 * uid from ptrace-attaching or reading /proc/<pid>/mem (they may ask it to sign, over the
 * socket, but never take the key). Returns false where the call does not exist.
 */
static napi_value set_not_dumpable(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
#ifdef __linux__
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return throw_errno(env, "prctl(PR_SET_DUMPABLE)", errno);
  napi_get_boolean(env, 1, &out);
#else
  napi_get_boolean(env, 0, &out);
#endif
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "getPeerCred", NAPI_AUTO_LENGTH, get_peer_cred, NULL, &fn);
  napi_set_named_property(env, exports, "getPeerCred", fn);
  napi_create_function(env, "setNotDumpable", NAPI_AUTO_LENGTH, set_not_dumpable, NULL, &fn);
  napi_set_named_property(env, exports, "setNotDumpable", fn);
  fsat_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
