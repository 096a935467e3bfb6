package bigbuf

// minSize is the smallest buffer worth a mapping of its own.
const minSize = 4 << 20
