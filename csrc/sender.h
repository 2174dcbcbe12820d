/*
 * The background sender behind client:batcher(): a bounded queue of NDJSON
 * batches and a pthread that compresses and POSTs them with its own libcurl
 * handle, retrying with backoff. The thread never touches a lua_State: Lua
 * hands it bytes (the encoder runs on the caller's thread), and reads back
 * counters and reports.
 */
#ifndef AXIOM_SENDER_H
#define AXIOM_SENDER_H

#include "compat.h"

#define AXIOM_SENDER_MT "axiom.sender"

/* Registers the axiom.sender metatable and adds sender to the table on top. */
void axiom_open_sender(lua_State *L);

#endif
