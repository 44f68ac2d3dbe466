#ifndef FIELDGATE_CFILESYSTEM_H
#define FIELDGATE_CFILESYSTEM_H

/* syncfs(2) is a GNU extension the Swift Glibc module does not expose. */
int fieldgate_syncfs(int descriptor);

#endif
