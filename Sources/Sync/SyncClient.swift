// The gateway's sync client: written next.
