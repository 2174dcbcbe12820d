/*
 * Lua 5.1 / LuaJIT / 5.4 shims.
 *
 * Everything here carries the axiom_ prefix: LuaJIT's 5.1 headers already
 * declare several 5.2 names (luaL_setfuncs, luaL_testudata, ...), so defining
 * those ourselves would clash with them.
 */
#ifndef AXIOM_COMPAT_H
#define AXIOM_COMPAT_H

#include <limits.h>

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 502

#define axiom_rawlen(L, i)          lua_rawlen(L, (i))
#define axiom_absindex(L, i)        lua_absindex(L, (i))
#define axiom_setfuncs(L, l, nup)   luaL_setfuncs(L, (l), (nup))
#define axiom_rawgetp(L, t, p)      ((void)lua_rawgetp(L, (t), (p)))
#define axiom_rawsetp(L, t, p)      lua_rawsetp(L, (t), (p))

#else

#define axiom_rawlen(L, i)          lua_objlen(L, (i))
#define axiom_absindex(L, i) \
    ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)

static inline void axiom_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    int i;
    luaL_checkstack(L, nup, "too many upvalues");
    for (; l->name != NULL; l++) {
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}

/* Light userdata keys never allocate, so these never raise. */
static inline void axiom_rawgetp(lua_State *L, int t, const void *p)
{
    t = axiom_absindex(L, t);
    lua_pushlightuserdata(L, (void *)p);
    lua_rawget(L, t);
}

static inline void axiom_rawsetp(lua_State *L, int t, const void *p)
{
    t = axiom_absindex(L, t);
    lua_pushlightuserdata(L, (void *)p);
    lua_insert(L, -2);
    lua_rawset(L, t);
}

#endif

#if LUA_VERSION_NUM >= 503
#define axiom_isinteger(L, i)       lua_isinteger(L, (i))
#else
/* 5.1 and LuaJIT have no integer subtype: every number is a double. */
#define axiom_isinteger(L, i)       ((void)(L), (void)(i), 0)
#endif

/* lua_rawgeti takes an int index before 5.3. */
#if LUA_VERSION_NUM >= 503
#define AXIOM_RAWGETI_MAX           LLONG_MAX
#define axiom_rawgeti(L, t, i)      lua_rawgeti(L, (t), (lua_Integer)(i))
#else
#define AXIOM_RAWGETI_MAX           INT_MAX
#define axiom_rawgeti(L, t, i)      lua_rawgeti(L, (t), (int)(i))
#endif

#if LUA_VERSION_NUM >= 504
/* No user values: saves a slot per userdata. */
#define axiom_newuserdata(L, sz)    lua_newuserdatauv(L, (sz), 0)
#else
#define axiom_newuserdata(L, sz)    lua_newuserdata(L, (sz))
#endif

/* luaL_setmetatable exists in 5.2+ and in LuaJIT but not in PUC 5.1. */
#define axiom_setmetatable(L, name) \
    (luaL_getmetatable(L, (name)), lua_setmetatable(L, -2))

#endif
