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

/* Registers the named metatable of a userdata class: `meta` holds the
 * metamethods, `methods` becomes its __index (and __name is set on 5.1 too). */
void axiom_newclass(lua_State *L, const char *name, const luaL_Reg *meta,
                    const luaL_Reg *methods);

/* Ends a binding that filled b: pushes its bytes (rc == 0) or nil, err
 * (rc != 0), frees b either way and returns the number of results. */
int axiom_pushbuf(lua_State *L, axiom_buf *b, int rc, const char *err);

#endif
