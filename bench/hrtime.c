/* bench only: a monotonic clock with nanosecond resolution (os.clock is CPU time of the
 * whole process, sender thread included; socket.gettime has microseconds). */
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

int luaopen_hrtime(lua_State *L);

static int now(lua_State *L)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
}

int luaopen_hrtime(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, now);
    lua_setfield(L, -2, "now");
    return 1;
}
