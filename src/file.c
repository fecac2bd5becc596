/* file.c - mapped reading and atomic writing of whole files (file.h). */
#include "walkrec/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int file_map_open(wr_filemap *fm, const char *path, wr_err *err)
{
    memset(fm, 0, sizeof *fm);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wr_failc(err, wr_errno_status(errno), "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return wr_failc(err, WR_EIO, "%s: %s", path, strerror(e));
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        int e = errno;
        close(fd);
        if (p == MAP_FAILED)
            return wr_failc(err, wr_errno_status(e), "%s: mmap: %s", path, strerror(e));
        fm->data = p;
        fm->len = (size_t)st.st_size;
        fm->mapped = 1;
        return 0;
    }
    /* Pipes, terminals and empty files: read whatever comes. */
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap)
            buf = xrealloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + len, cap - len);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return wr_failc(err, WR_EIO, "%s: %s", path, strerror(e));
        }
        len += (size_t)r;
    }
    close(fd);
    fm->data = buf;
    fm->len = len;
    return 0;
}

void file_map_close(wr_filemap *fm)
{
    if (fm->mapped)
        munmap((void *)fm->data, fm->len);
    else
        free((void *)fm->data);
    memset(fm, 0, sizeof *fm);
}

char *file_beside(const char *path, const char *ext, const char *with)
{
    size_t len = strlen(path), el = strlen(ext), n;
    if (len > el && !strcmp(path + len - el, ext))
        len -= el;
    n = len + strlen(with) + 1;
    char *p = xmalloc(n);
    snprintf(p, n, "%.*s%s", (int)len, path, with);
    return p;
}

char *file_temp_name(const char *path, long pid)
{
    size_t n = strlen(path) + 32;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp.%ld", path, pid);
    return tmp;
}

static int fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

static void release(wr_atomic_file *a)
{
    free(a->path);
    free(a->tmp);
    free(a->buf);
    memset(a, 0, sizeof *a);
}

int file_atomic_open(wr_atomic_file *a, const char *path, wr_err *err)
{
    memset(a, 0, sizeof *a);
    if (!strcmp(path, "-")) {
        a->f = stdout;
        return 0;
    }
    a->tmp = file_temp_name(path, (long)getpid());
    int fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !(a->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(a->tmp);
        }
        wr_failc(err, wr_errno_status(e), "%s: cannot create a temporary file beside it: %s",
                 path, strerror(e));
        release(a);
        return -1;
    }
    a->path = xstrdup(path);
    a->buf = xmalloc(1 << 20);
    setvbuf(a->f, a->buf, _IOFBF, 1 << 20);
    return 0;
}

void file_atomic_abort(wr_atomic_file *a)
{
    if (!a->tmp) { /* stdout, or already released */
        memset(a, 0, sizeof *a);
        return;
    }
    if (a->f)
        fclose(a->f);
    unlink(a->tmp);
    release(a);
}

int file_atomic_commit(wr_atomic_file *a, wr_err *err)
{
    if (!a->tmp) {
        int bad = fflush(a->f) != 0;
        memset(a, 0, sizeof *a);
        return bad ? wr_failc(err, WR_EIO, "stdout: %s", strerror(errno)) : 0;
    }
    /* fflush first: when an earlier buffered write failed, flushing again names the error;
     * if it succeeds ferror still tells, and errno is still that write's (EFBIG past a file
     * size limit, ENOSPC on a full disk) unless something failed since. */
    int e = 0;
    if (fflush(a->f) != 0 || ferror(a->f))
        e = errno ? errno : EIO;
    else if (fsync(fileno(a->f)) != 0)
        e = errno;
    if (fclose(a->f) != 0 && !e)
        e = errno;
    a->f = NULL;
    if (!e && rename(a->tmp, a->path) != 0)
        e = errno;
    if (e) {
        wr_failc(err, wr_errno_status(e), "%s: write failed: %s", a->path, strerror(e));
        file_atomic_abort(a);
        return -1;
    }
    if (fsync_dir_of(a->path) != 0) {
        wr_failc(err, WR_EIO, "%s: fsync of its directory failed: %s", a->path, strerror(errno));
        release(a);
        return -1;
    }
    release(a);
    return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, wr_err *err)
{
    wr_atomic_file a;
    if (file_atomic_open(&a, path, err) < 0)
        return -1;
    if (len && fwrite(data, 1, len, a.f) != len) {
        int e = errno;
        file_atomic_abort(&a);
        return wr_failc(err, WR_EIO, "%s: write failed: %s", path, strerror(e));
    }
    return file_atomic_commit(&a, err);
}
