"""Code search: vectors over the chunks, fused with the lexical index."""
