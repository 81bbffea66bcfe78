"""Where the bytes of file transfers live: a store of named files, streamed in and out in chunks."""
