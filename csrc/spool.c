/* The durable spool (see spool.h): file format, names, the sorted list. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "spool.h"

#define SPOOL_MAGIC     "AXSPOOL\n"
#define SPOOL_HEADER    40
#define SPOOL_VERSION   1u

/* ---- spool files ------------------------------------------------------ */

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int is_spool_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".axb") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Inserts name (taken over) in the sorted list. Thread only; n under mu. */
int axiom_spool_files_insert(axiom_spool_files *f, char *name, pthread_mutex_t *mu)
{
    size_t i, n = f->n;

    if (n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        char **p = (char **)realloc(f->names, cap * sizeof *p);
        if (p == NULL)
            return -1;
        f->names = p;
        f->cap = cap;
    }
    for (i = n; i > 0 && strcmp(f->names[i - 1], name) > 0; i--)
        f->names[i] = f->names[i - 1];
    f->names[i] = name;
    pthread_mutex_lock(mu);
    f->n = n + 1;
    pthread_mutex_unlock(mu);
    return 0;
}

/* Removes and frees `name` from the list. Under mu. */
void axiom_spool_files_remove(axiom_spool_files *f, const char *name)
{
    size_t i;

    for (i = 0; i < f->n && f->names[i] != name; i++)
        ;
    if (i == f->n)
        return;
    free(f->names[i]);
    memmove(f->names + i, f->names + i + 1, (f->n - i - 1) * sizeof *f->names);
    f->n--;
}

void axiom_spool_files_free(axiom_spool_files *f)
{
    size_t i;
    for (i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    f->names = NULL;
    f->n = f->cap = 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/*
 * Writes a batch durably: a temp file, fsync, rename, fsync of the directory. The
 * name sorts in delivery order: the sender's start time, its pid, the
 * batch's order key. Returns the file name (malloc'ed) or NULL with msg.
 */
char *axiom_spool_write(const char *dir, unsigned long long epoch, uint64_t serial,
                        uint64_t seq, size_t events, int ambiguous, const axiom_buf *raw,
                        char *msg, size_t n)
{
    unsigned char hdr[SPOOL_HEADER];
    char name[96], tmp[96], *path = NULL, *tpath = NULL, *result = NULL;
    size_t dl = strlen(dir), off;
    int fd = -1;

    snprintf(name, sizeof name, "%016llx-%08lx-%016llx.axb", epoch,
             (unsigned long)getpid(), (unsigned long long)seq);
    snprintf(tmp, sizeof tmp, ".tmp-%08lx-%016llx", (unsigned long)getpid(),
             (unsigned long long)serial);
    path = (char *)malloc(dl + sizeof name + 2);
    tpath = (char *)malloc(dl + sizeof tmp + 2);
    if (path == NULL || tpath == NULL) {
        snprintf(msg, n, "out of memory");
        goto out;
    }
    sprintf(path, "%s/%s", dir, name);
    sprintf(tpath, "%s/%s", dir, tmp);
    memcpy(hdr, SPOOL_MAGIC, 8);
    put64(hdr + 8, (uint64_t)SPOOL_VERSION | ((uint64_t)(ambiguous ? 1 : 0) << 32));
    put64(hdr + 16, (uint64_t)events);
    put64(hdr + 24, (uint64_t)raw->len);
    put64(hdr + 32, fnv1a(raw->data, raw->len));
    fd = open(tpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    for (off = 0; off < SPOOL_HEADER + raw->len;) {
        const char *p = off < SPOOL_HEADER ? (const char *)hdr + off : raw->data + (off - SPOOL_HEADER);
        size_t left = off < SPOOL_HEADER ? SPOOL_HEADER - off : raw->len - (off - SPOOL_HEADER);
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tpath, path) != 0)
        goto fail;
    sync_dir(dir);
    result = strdup(name);
    if (result == NULL)
        snprintf(msg, n, "out of memory");
    goto out;
fail:
    snprintf(msg, n, "cannot write %s: %s", tpath, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tpath);
out:
    free(path);
    free(tpath);
    return result;
}

/* Reads a spool file's lines into raw; -1 with msg when it is corrupt. */
int axiom_spool_read(const char *dir, const char *name, axiom_buf *raw, size_t *events_out,
                     int *ambiguous, char *msg, size_t n)
{
    unsigned char hdr[SPOOL_HEADER];
    char path[4096];
    struct stat st;
    uint64_t len, events, ver;
    size_t off;
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(msg, n, "cannot open %.160s: %s", name, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || st.st_size < SPOOL_HEADER ||
        read(fd, hdr, SPOOL_HEADER) != SPOOL_HEADER || memcmp(hdr, SPOOL_MAGIC, 8) != 0) {
        snprintf(msg, n, "spool file %.160s: not a spool file", name);
        goto bad;
    }
    ver = get64(hdr + 8);
    events = get64(hdr + 16);
    len = get64(hdr + 24);
    if ((ver & 0xffffffffu) != SPOOL_VERSION || events == 0 ||
        len != (uint64_t)st.st_size - SPOOL_HEADER) {
        snprintf(msg, n, "spool file %.160s: bad header or truncated", name);
        goto bad;
    }
    if (len > 0 && axiom_buf_grow(raw, (size_t)len) != 0) {
        snprintf(msg, n, "out of memory");
        goto bad;
    }
    for (off = 0; off < len;) {
        ssize_t r = read(fd, raw->data + off, (size_t)len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(msg, n, "spool file %.160s: short read", name);
            goto bad;
        }
        off += (size_t)r;
    }
    raw->len = (size_t)len;
    if (fnv1a(raw->data, raw->len) != get64(hdr + 32)) {
        snprintf(msg, n, "spool file %.160s: checksum mismatch", name);
        goto bad;
    }
    close(fd);
    *events_out = (size_t)events;
    *ambiguous = (int)((ver >> 32) & 1);
    return 0;
bad:
    close(fd);
    axiom_buf_free(raw);
    return -1;
}

void axiom_spool_unlink(const char *dir, const char *name, const char *suffix)
{
    char path[4096], to[4200];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (suffix == NULL) {
        unlink(path);
    } else {
        snprintf(to, sizeof to, "%s%s", path, suffix);
        rename(path, to);
    }
    sync_dir(dir);
}

/* Takes the directory (one owner replays it) and lists its files. Thread only. */
int axiom_spool_scan(const char *dir, int owner, int *lockfd, axiom_spool_files *out)
{
    DIR *d;
    struct dirent *e;
    char path[4096], **list = NULL;
    size_t n = 0, cap = 0;

    if (!owner) {
        struct flock fl;
        snprintf(path, sizeof path, "%s/.lock", dir);
        if (*lockfd < 0)
            *lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        /* Else another process replays this directory; ours still writes to it. */
        owner = *lockfd >= 0 && fcntl(*lockfd, F_SETLK, &fl) == 0;
    }
    if (owner && (d = opendir(dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            char *name;
            if (!is_spool_name(e->d_name) || (name = strdup(e->d_name)) == NULL)
                continue;
            if (n == cap) {
                size_t grown = cap ? cap * 2 : 64;
                char **f = (char **)realloc(list, grown * sizeof *f);
                if (f == NULL) {    /* keep what fits; the next scan finds the rest */
                    free(name);
                    break;
                }
                list = f;
                cap = grown;
            }
            list[n++] = name;
        }
        closedir(d);
        if (n > 1)
            qsort(list, n, sizeof *list, cmp_names);
    }
    out->names = list;
    out->n = n;
    out->cap = cap;
    return owner;
}
