#include <malloc.h>
#include "CMemory.h"

int fieldgate_return_large_blocks(long threshold, int arenas) {
    return mallopt(M_MMAP_THRESHOLD, (int)threshold) && mallopt(M_ARENA_MAX, arenas);
}

int fieldgate_map_large_blocks(long threshold) {
    return mallopt(M_MMAP_THRESHOLD, (int)threshold);
}
