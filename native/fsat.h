/* native/fsat.c: the *at file calls, registered on the addon's exports as `fsat`. */
#ifndef VIGO_FSAT_H
#define VIGO_FSAT_H
#include <node_api.h>
void fsat_register(napi_env env, napi_value exports);
#endif
