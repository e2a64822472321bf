/*
 * sha256.h - SHA-256 (FIPS 180-4), our own, for the stand-in hash checks.
 *
 * Streaming (init, update, final) plus one-shot helpers for a buffer, an
 * open descriptor and a file.  It needs nothing but the C library, so the
 * stand-in program links it alone.
 */
#ifndef FD_SHA256_H
#define FD_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define FD_SHA256_LEN 32		/* digest bytes */
#define FD_SHA256_HEX (2 * FD_SHA256_LEN + 1)	/* hex digits and NUL */

struct fd_sha256 {
	uint32_t h[8];
	uint64_t nbytes;	/* message length so far */
	uint8_t block[64];	/* pending partial block */
	size_t nblock;
};

void fd_sha256_init(struct fd_sha256 *c);
void fd_sha256_update(struct fd_sha256 *c, const void *data, size_t len);
/* Finish and write the digest; c must be initialised again to reuse it. */
void fd_sha256_final(struct fd_sha256 *c, uint8_t out[FD_SHA256_LEN]);

/* Digest of one buffer. */
void fd_sha256_buf(const void *data, size_t len, uint8_t out[FD_SHA256_LEN]);

/* Digest of everything read from fd until end of file; 0 or -FD_ERR_IO
 * (errno tells why). */
int fd_sha256_fd(int fd, uint8_t out[FD_SHA256_LEN]);

/* Digest of a file's contents (opened with O_NOFOLLOW); 0 or -FD_ERR_IO. */
int fd_sha256_file(const char *path, uint8_t out[FD_SHA256_LEN]);

/* Lower-case hex of a digest into hex (FD_SHA256_HEX bytes); returns hex. */
char *fd_sha256_hex(const uint8_t d[FD_SHA256_LEN], char hex[FD_SHA256_HEX]);

/* A name-based id shaped like a uuid (version 5 layout, sha256 bits):
 * the same name gives the same id.  buf needs 37 bytes. */
void fd_sha256_uuid(const char *name, char *buf, size_t len);

#endif
