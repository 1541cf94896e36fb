"""The jobs view (`:jobs`): every job, newest first, filtered with `/`, paged by keyset."""
