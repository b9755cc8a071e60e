/* An LD_PRELOAD shim for the storage-fault test of the real binary (crates/cli/tests/cli.rs):
 * fdatasync and fsync fail with EIO, as a failing disk makes them, on files whose path ends with
 * $FAULT_SYNC_SUFFIX while the file $FAULT_SYNC_FLAG exists; every other call goes to libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failing(int fd) {
    const char *flag = getenv("FAULT_SYNC_FLAG");
    const char *suffix = getenv("FAULT_SYNC_SUFFIX");
    if (flag == NULL || suffix == NULL || access(flag, F_OK) != 0) {
        return 0;
    }
    char link[64];
    char path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, path, sizeof path - 1);
    if (length < 0) {
        return 0;
    }
    path[length] = '\0';
    size_t suffix_length = strlen(suffix);
    return (size_t)length >= suffix_length && strcmp(path + length - suffix_length, suffix) == 0;
}

static int sync_or_fail(int fd, const char *name) {
    if (failing(fd)) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
    return real(fd);
}

int fdatasync(int fd) { return sync_or_fail(fd, "fdatasync"); }

int fsync(int fd) { return sync_or_fail(fd, "fsync"); }
