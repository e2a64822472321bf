/*
 * shared.h - how unit tests find the shared test data (vectors, corpus,
 * fixtures): $FD_SHARED_DIR, else ../shared from the repository root,
 * where the tests run.  A test that needs it skips, saying so, when it is
 * absent.
 */
#ifndef FD_TEST_SHARED_H
#define FD_TEST_SHARED_H

#include <stdio.h>
#include <stdlib.h>

static inline const char *shared_dir(void)
{
	const char *d = getenv("FD_SHARED_DIR");

	return d && *d ? d : "../shared";
}

/* Open a file under the shared directory, or NULL. */
static inline FILE *open_shared(const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", shared_dir(), rel);
	return fopen(path, "r");
}

#endif
