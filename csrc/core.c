#include <curl/curl.h>

#include "core.h"
#include "encode.h"
#include "compress.h"
#include "http.h"
#include "sender.h"

#define AXIOM_BUF_MT "axiom.buffer"

/* curl_global_init is not reentrant; loading the module in several states
 * of one process must initialise libcurl once only. */
static int curl_ready;

static int buf_gc(lua_State *L)
{
    axiom_buf_free((axiom_buf *)luaL_checkudata(L, 1, AXIOM_BUF_MT));
    return 0;
}

axiom_buf *axiom_newbuf(lua_State *L)
{
    axiom_buf *b = (axiom_buf *)axiom_newuserdata(L, sizeof *b);

    axiom_buf_init(b);
    axiom_setmetatable(L, AXIOM_BUF_MT);
    return b;
}

int axiom_pushbuf(lua_State *L, axiom_buf *b, int rc, const char *err)
{
    if (rc != 0) {
        axiom_buf_free(b);
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushlstring(L, b->len > 0 ? b->data : "", b->len);
    axiom_buf_free(b);
    return 1;
}

void axiom_newclass(lua_State *L, const char *name, const luaL_Reg *meta,
                    const luaL_Reg *methods)
{
    if (luaL_newmetatable(L, name)) {
        axiom_setfuncs(L, meta, 0);
        lua_newtable(L);
        axiom_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
#if LUA_VERSION_NUM < 503
        lua_pushstring(L, name);    /* 5.3+ sets __name itself */
        lua_setfield(L, -2, "__name");
#endif
    }
    lua_pop(L, 1);
}

int luaopen_axiom_core(lua_State *L)
{
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return luaL_error(L, "axiom.core: curl_global_init failed");
        curl_ready = 1;
    }

    if (luaL_newmetatable(L, AXIOM_BUF_MT)) {
        lua_pushcfunction(L, buf_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);

    lua_newtable(L);
    axiom_open_encode(L);
    axiom_open_compress(L);
    axiom_open_http(L);
    axiom_open_sender(L);
    lua_pushliteral(L, AXIOM_VERSION);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
