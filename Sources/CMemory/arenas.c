#include <malloc.h>
#include "CMemory.h"

int fieldgate_map_large_blocks(long threshold) {
    return mallopt(M_MMAP_THRESHOLD, (int)threshold);
}

int fieldgate_return_large_blocks(long threshold, int arenas) {
    return fieldgate_map_large_blocks(threshold) && mallopt(M_ARENA_MAX, arenas);
}
