// The central evidence server: written next.
