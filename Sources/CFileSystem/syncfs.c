#define _GNU_SOURCE
#include <unistd.h>
#include "CFileSystem.h"

int fieldgate_syncfs(int descriptor) { return syncfs(descriptor); }
