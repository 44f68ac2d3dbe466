#ifndef FIELDGATE_CMEMORY_H
#define FIELDGATE_CMEMORY_H

/* mallopt(3) is in <malloc.h>, which the Swift Glibc module does not include.
   Makes glibc map every allocation of `threshold` bytes or more on its own and unmap it when
   freed (no dynamic threshold), and caps the malloc arenas at `arenas`: large transfer
   buffers then give their memory back as soon as they are freed. Returns 1 on success. */
int fieldgate_return_large_blocks(long threshold, int arenas);

/* The same mapping of large blocks, the arenas left as glibc chooses them (a server's many
   threads keep their own). Returns 1 on success. */
int fieldgate_map_large_blocks(long threshold);

#endif
