#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "CFileSystem.h"

int fieldgate_syncfs(int descriptor) { return syncfs(descriptor); }

int fieldgate_start_writeback(int descriptor, long long offset, long long length) {
    return sync_file_range(descriptor, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
}

int fieldgate_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}
