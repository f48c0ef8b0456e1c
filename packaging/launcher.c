/*
 * pinit self-extracting launcher.
 *
 * dist/pinit = this launcher + a payload (the PyInstaller one-folder build, each file
 * zlib-compressed) + a trailer.  At start the launcher looks for an already unpacked copy
 * of exactly this payload, unpacks it once if there is none, and exec()s it.  exec keeps the
 * pid, so when the launcher is PID 1 of a container, pinit (Python) is PID 1 too: no
 * bootloader stays in front of it.
 *
 * Where the unpacked copy lives (first that exists wins; ID is "<version>-<payload hash>"):
 *   1. $PINIT_RUNTIME_DIR/pinit-ID            (if PINIT_RUNTIME_DIR is set, also the only
 *                                              place it unpacks to)
 *   2. <dir of this file>/../lib/pinit/pinit-ID  (pre-unpacked in an image: read-only root)
 *   3. ${TMPDIR:-/tmp}/pinit-ID                (unpacked here on first start)
 *
 * Payload records (little endian):  u8 type ('d' dir, 'f' file, 'l' symlink, 'e' end),
 *   u32 mode, u16 path_len, u64 raw_size, u64 stored_size, path, stored bytes.
 * Trailer (last 64 bytes): "PINITSFX", u64 payload_offset, u64 payload_size, char id[40].
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#define TRAILER_SIZE 64
#define EXIT_LAUNCHER 1

static void die(const char *what, const char *path, int err) {
    if (err)
        fprintf(stderr, "pinit: %s %s: %s\n", what, path, strerror(err));
    else
        fprintf(stderr, "pinit: %s %s\n", what, path);
    exit(EXIT_LAUNCHER);
}

static void die_unpack(const char *dir, int err) {
    fprintf(stderr,
            "pinit: cannot unpack into %s: %s (it needs a writable directory: "
            "mount a tmpfs on /tmp or set PINIT_RUNTIME_DIR to a writable directory)\n",
            dir, strerror(err));
    exit(EXIT_LAUNCHER);
}

/* snprintf into a PATH_MAX buffer; a path that does not fit is an error, not a truncation. */
#define PATHF(buf, ...)                                                              \
    do {                                                                             \
        int n_ = snprintf(buf, sizeof buf, __VA_ARGS__);                       \
        if (n_ < 0 || (size_t)n_ >= sizeof buf) die("path too long:", buf, 0);       \
    } while (0)

static uint64_t rd64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An unpacked copy we may exec: a real directory (not a symlink) owned by us or root and
 * not writable by group/others, holding an executable "pinit". */
static int usable(const char *dir) {
    struct stat st;
    char exe[PATH_MAX];
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022)) {
        fprintf(stderr, "pinit: ignoring %s: not owned by this user or root, or writable by others\n",
                dir);
        return 0;
    }
    PATHF(exe, "%s/pinit", dir);
    return access(exe, X_OK) == 0;
}

/* As PID 1 of a pid namespace, a signal whose disposition is SIG_DFL is dropped by the kernel.
 * Between this exec and pinit installing its handlers (~70 ms) a `podman stop` / `docker stop`
 * / Ctrl-C would be lost, and the container would wait for SIGKILL.  Blocked signals are kept
 * pending instead, and the mask survives exec: the runtime hook unblocks each one the moment
 * pinit installs a handler for it, and it is then delivered.  Synchronous fault signals,
 * SIGPIPE/SIGXFSZ (CPython ignores them at C level) and SIGCHLD are left alone. */
static void block_early_signals(void) {
    static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
                               SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGVTALRM,
                               SIGPROF, SIGWINCH, SIGIO, SIGPWR};
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&set, sigs[i]);
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) sigaddset(&set, s);
    if (sigprocmask(SIG_BLOCK, &set, NULL) == 0) setenv("_PINIT_SIGBLOCK", "1", 1);
}

static void run(const char *dir, char **argv, const char *self) {
    char exe[PATH_MAX];
    PATHF(exe, "%s/pinit", dir);
    setenv("_PINIT_SFX", self, 1); /* read and removed by the runtime hook */
    if (getpid() == 1) block_early_signals();
    execv(exe, argv);
    die("cannot execute", exe, errno);
}

static int rm_cb(const char *p, const struct stat *s, int f, struct FTW *w) {
    (void)s; (void)f; (void)w;
    return remove(p);
}

static int safe_rel(const char *p) {
    if (p[0] == '/' || p[0] == 0) return 0;
    for (const char *s = p; *s; ) {
        if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == 0)) return 0;
        const char *n = strchr(s, '/');
        if (!n) break;
        s = n + 1;
    }
    return 1;
}

static int write_all(int fd, const unsigned char *b, size_t n) {
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        b += w; n -= (size_t)w;
    }
    return 0;
}

/* Unpack payload into tmp; returns 0 or an errno. */
static int unpack(const unsigned char *p, size_t size, const char *tmp) {
    static unsigned char buf[1 << 16];
    size_t off = 0;
    char path[PATH_MAX];
    if (mkdir(tmp, 0700) != 0) return errno;
    for (;;) {
        if (off + 31 > size) return EINVAL;
        unsigned char type = p[off];
        if (type == 'e') break;
        uint32_t mode = rd32(p + off + 1) & 07755;
        uint16_t plen = (uint16_t)(p[off + 5] | p[off + 6] << 8);
        uint64_t raw = rd64(p + off + 7), stored = rd64(p + off + 15);
        off += 23;
        if (off + plen + stored > size || plen >= 1024) return EINVAL;
        char rel[1024];
        memcpy(rel, p + off, plen);
        rel[plen] = 0;
        off += plen;
        if (!safe_rel(rel)) return EINVAL;
        PATHF(path, "%s/%s", tmp, rel);
        if (type == 'd') {
            if (mkdir(path, mode & 0755) != 0 && errno != EEXIST) return errno;
        } else if (type == 'l') {
            char target[PATH_MAX];
            if (stored >= sizeof target) return EINVAL;
            memcpy(target, p + off, stored);
            target[stored] = 0;
            if (symlink(target, path) != 0) return errno;
        } else if (type == 'f') {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0755);
            if (fd < 0) return errno;
            z_stream z;
            memset(&z, 0, sizeof z);
            if (inflateInit(&z) != Z_OK) { close(fd); return ENOMEM; }
            z.next_in = (unsigned char *)p + off;
            z.avail_in = (uInt)stored;
            uint64_t got = 0;
            int zr;
            do {
                z.next_out = buf;
                z.avail_out = sizeof buf;
                zr = inflate(&z, Z_NO_FLUSH);
                if (zr != Z_OK && zr != Z_STREAM_END) { inflateEnd(&z); close(fd); return EINVAL; }
                size_t n = sizeof buf - z.avail_out;
                if (write_all(fd, buf, n) != 0) { int e = errno; inflateEnd(&z); close(fd); return e; }
                got += n;
            } while (zr != Z_STREAM_END);
            inflateEnd(&z);
            if (close(fd) != 0) return errno;
            if (got != raw) return EINVAL;
        } else {
            return EINVAL;
        }
        off += stored;
    }
    return chmod(tmp, 0755) == 0 ? 0 : errno;
}

int main(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) die("cannot find its own executable via", "/proc/self/exe (is /proc mounted?)", errno);
    self[n] = 0;

    int fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("cannot open", self, errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < TRAILER_SIZE) die("cannot read", self, errno);
    unsigned char tr[TRAILER_SIZE];
    if (pread(fd, tr, TRAILER_SIZE, st.st_size - TRAILER_SIZE) != TRAILER_SIZE ||
        memcmp(tr, "PINITSFX", 8) != 0)
        die("no payload found in", self, 0);
    uint64_t poff = rd64(tr + 8), psize = rd64(tr + 16);
    char id[41];
    memcpy(id, tr + 24, 40);
    id[40] = 0;
    if (poff + psize + TRAILER_SIZE != (uint64_t)st.st_size || strchr(id, '/'))
        die("corrupt payload in", self, 0);

    char dir[PATH_MAX], parent[PATH_MAX];
    const char *rt = getenv("PINIT_RUNTIME_DIR");
    if (rt && *rt) {
        PATHF(parent, "%s", rt);
    } else {
        /* 2. pre-unpacked beside the binary (e.g. /usr/local/bin -> /usr/local/lib/pinit) */
        char sd[PATH_MAX];
        PATHF(sd, "%s", self);
        char *slash = strrchr(sd, '/');
        if (slash) {
            *slash = 0;
            PATHF(dir, "%s/../lib/pinit/pinit-%s", sd, id);
            struct stat ds;
            if (lstat(dir, &ds) == 0 && usable(dir)) { close(fd); run(dir, argv, self); }
        }
        const char *t = getenv("TMPDIR");
        PATHF(parent, "%s", (t && *t) ? t : "/tmp");
    }
    PATHF(dir, "%s/pinit-%s", parent, id);
    struct stat ds;
    if (lstat(dir, &ds) == 0) {
        if (usable(dir)) { close(fd); run(dir, argv, self); }
        /* taken by another user (or tampered with): use a name of our own beside it */
        PATHF(dir, "%s/pinit-%s.u%ld", parent, id, (long)geteuid());
        if (lstat(dir, &ds) == 0) {
            if (usable(dir)) { close(fd); run(dir, argv, self); }
            die("cannot use (remove it, or set PINIT_RUNTIME_DIR elsewhere):", dir, 0);
        }
    }

    /* 3. unpack once: into a private temp dir, then rename (atomic; a concurrent start that
     * wins the race is fine, we use its copy). */
    if (mkdir(parent, 0755) != 0 && errno != EEXIST) die_unpack(dir, errno);
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) die("cannot map", self, errno);
    close(fd);
    char tmp[PATH_MAX];
    PATHF(tmp, "%s/.pinit-%s.%ld.tmp", parent, id, (long)getpid());
    int err = unpack((const unsigned char *)map + poff, (size_t)psize, tmp);
    munmap(map, (size_t)st.st_size);
    if (err == 0 && rename(tmp, dir) != 0) {
        err = errno;
        if (err == EEXIST || err == ENOTEMPTY) err = 0; /* lost the race: use the winner's */
        nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    } else if (err != 0) {
        nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (err == EINVAL) die("corrupt payload in", self, 0);
    if (err != 0) die_unpack(dir, err);
    if (!usable(dir)) die("cannot use", dir, 0);
    run(dir, argv, self);
    return EXIT_LAUNCHER;
}
