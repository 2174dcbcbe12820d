/* The transport: one reused libcurl easy handle behind a Lua userdata. */
#ifndef AXIOM_HTTP_H
#define AXIOM_HTTP_H

#include "compat.h"

#define AXIOM_HTTP_MT "axiom.http"

/* Registers the axiom.http metatable and adds http to the table on top. */
void axiom_open_http(lua_State *L);

#endif
