/* Event encoder: Lua values to JSON, written straight into an axiom_buf. */
#ifndef AXIOM_ENCODE_H
#define AXIOM_ENCODE_H

#include "compat.h"
#include "buffer.h"

#define AXIOM_ENCODE_DEPTH      100     /* Axiom itself cuts at 100 */
#define AXIOM_ENCODE_DEPTH_MAX  1000    /* bounds C recursion and Lua stack */
#define AXIOM_ENCODE_ERRLEN     512     /* room for a message plus a path */

/*
 * Appends the event at stack index idx (a table that encodes as a JSON
 * object) to b. Returns 0, or -1 with b->len restored to its value on entry
 * and a message ("cannot encode a function at $.user.cb") in err.
 * The Lua stack is left as found. It never calls Lua code and raises only
 * when Lua cannot grow its stack (memory error, before anything is written),
 * so b must be owned by something that survives an unwind.
 * max_depth is clamped to 1..AXIOM_ENCODE_DEPTH_MAX.
 */
int axiom_encode_event(lua_State *L, int idx, axiom_buf *b, int max_depth,
                       char *err, size_t errlen);

/* Same contract, for any value: scalars and arrays allowed at the top. */
int axiom_encode_value(lua_State *L, int idx, axiom_buf *b, int max_depth,
                       char *err, size_t errlen);

/* Adds encode, encode_events, array, array_mt and null to the table on top. */
void axiom_open_encode(lua_State *L);

#endif
