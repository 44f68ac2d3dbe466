#ifndef FIELDGATE_CFILESYSTEM_H
#define FIELDGATE_CFILESYSTEM_H

/* syncfs(2) is a GNU extension the Swift Glibc module does not expose. */
int fieldgate_syncfs(int descriptor);

/* Starts writing a file range's dirty pages to disk without waiting (sync_file_range(2) with
   SYNC_FILE_RANGE_WRITE, also a GNU extension), so a later fdatasync has little left to wait for. */
int fieldgate_start_writeback(int descriptor, long long offset, long long length);

/* rename(2) that fails with EEXIST instead of replacing (renameat2 with RENAME_NOREPLACE, also
   a GNU extension): placing a blob checks for an identical one and renames in one call. */
int fieldgate_rename_noreplace(const char *from, const char *to);

/* openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: opens a path
   below the folder `folder` in one call, refusing "..", absolute paths and a symlink at any
   step. glibc has no wrapper; -1 with errno ENOSYS on kernels before 5.6. */
int fieldgate_open_beneath(int folder, const char *path, int flags);

#endif
