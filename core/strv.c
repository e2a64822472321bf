/*
 * strv.c - a growable, NULL-terminated vector of owned strings (argv and
 * id lists in a scenario).
 *
 * The capacity is not stored: it is the smallest power of two that holds
 * n + 1 slots, so fd_strv_push() grows the array exactly when n + 1 is a
 * power of two.
 */
#include "scenario.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fd_strv_push(struct fd_strv *sv, const char *s, size_t len)
{
	char *copy;

	if (len == SIZE_MAX)
		return -FD_ERR_NOMEM;
	copy = malloc(len + 1);
	if (!copy)
		return -FD_ERR_NOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';

	/* Grow when the array (sized for n + 1 slots) is full. */
	if (!sv->v || ((sv->n + 1) & sv->n) == 0) {
		size_t slots = sv->v ? 2 * (sv->n + 1) : 2;
		char **v;

		if (slots > SIZE_MAX / sizeof(*v)) {
			free(copy);
			return -FD_ERR_NOMEM;
		}
		v = realloc(sv->v, slots * sizeof(*v));
		if (!v) {
			free(copy);
			return -FD_ERR_NOMEM;
		}
		sv->v = v;
	}
	sv->v[sv->n++] = copy;
	sv->v[sv->n] = NULL;
	return 0;
}

bool fd_strv_contains(const struct fd_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void fd_strv_release(struct fd_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

int fd_strv_copy(struct fd_strv *dst, const struct fd_strv *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->v = calloc(1, sizeof(*dst->v));
	if (!dst->v)
		return -FD_ERR_NOMEM;
	for (size_t i = 0; i < src->n; i++) {
		if (fd_strv_push(dst, src->v[i], strlen(src->v[i]))) {
			fd_strv_release(dst);
			return -FD_ERR_NOMEM;
		}
	}
	return 0;
}
