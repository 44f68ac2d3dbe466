#ifndef FIELDGATE_CCHECKSUM_H
#define FIELDGATE_CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli, as iSCSI, ext4 and Google Cloud Storage use it) of `count` bytes,
   continuing from `crc` (0 to start). The processor's CRC32 instruction when it has one
   (SSE 4.2), else a table: the transport check of a chunk costs far less than a hash. */
uint32_t fieldgate_crc32c(uint32_t crc, const void *bytes, size_t count);

#endif
