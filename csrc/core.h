/* Module entry point and the Lua glue shared by the bindings. */
#ifndef AXIOM_CORE_H
#define AXIOM_CORE_H

#include "compat.h"
#include "buffer.h"

#define AXIOM_VERSION "0.1.0"

int luaopen_axiom_core(lua_State *L);

/*
 * Pushes a userdata that owns an empty axiom_buf and frees it from __gc, so
 * the malloc'ed bytes cannot leak when a Lua API call raises while a binding
 * holds them. Bindings still free it as soon as they are done: Lua's GC does
 * not see malloc'ed memory and would collect it late.
 */
axiom_buf *axiom_newbuf(lua_State *L);

#endif
