/*
 * The durable spool: batches the sender could not deliver (or had no time
 * to), one file per batch in a directory, named to sort in delivery order.
 * A file is a 40-byte header (magic, version and flags, events, length,
 * FNV-1a of the lines) and the NDJSON lines. Plain C: called from the
 * sender thread, which has no lua_State; the caller does all locking.
 */
#ifndef AXIOM_SPOOL_H
#define AXIOM_SPOOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"

/* Spool file names, sorted: the order they are replayed in. */
typedef struct axiom_spool_files {
    char **names;               /* the sender thread only */
    size_t n;                   /* under the sender's mutex */
    size_t cap;
} axiom_spool_files;

/* Inserts name (taken over) in the sorted list; n is updated under mu. 0 or -1. */
int axiom_spool_files_insert(axiom_spool_files *f, char *name, pthread_mutex_t *mu);
/* Removes and frees `name` (the very pointer in the list). */
void axiom_spool_files_remove(axiom_spool_files *f, const char *name);
void axiom_spool_files_free(axiom_spool_files *f);

/*
 * Writes a batch's lines durably: a temp file, fsync, rename, fsync of the
 * directory. The name sorts in delivery order: the sender's start time
 * (epoch), its pid, the batch's order key (seq); serial names the temp
 * file. Returns the file name (malloc'ed) or NULL with msg.
 */
char *axiom_spool_write(const char *dir, unsigned long long epoch, uint64_t serial,
                        uint64_t seq, size_t events, int ambiguous, const axiom_buf *raw,
                        char *msg, size_t n);
/* Reads a spool file's lines into raw (empty); 0, or -1 with msg when it is
 * corrupt (raw is then freed). */
int axiom_spool_read(const char *dir, const char *name, axiom_buf *raw, size_t *events,
                     int *ambiguous, char *msg, size_t n);
/* Deletes a file, or with a suffix renames it aside. */
void axiom_spool_unlink(const char *dir, const char *name, const char *suffix);
/* Takes the directory's lock (one owner replays it; *lockfd opened once) and,
 * when this process owns it, lists its files into out (empty) sorted.
 * Returns whether this process owns it. */
int axiom_spool_scan(const char *dir, int owner, int *lockfd, axiom_spool_files *out);

#endif
