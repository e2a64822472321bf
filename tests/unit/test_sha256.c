/*
 * test_sha256.c - core/sha256.c against the NIST FIPS 180-4 example
 * vectors, fed whole, in every split, and through a file.
 *
 * Run: make build/tests/test_sha256 && build/tests/test_sha256
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd_err.h"
#include "sha256.h"

static const char nist_448[] =
	"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void expect_hex(const uint8_t d[FD_SHA256_LEN], const char *want)
{
	char hex[FD_SHA256_HEX];

	assert_string_equal(fd_sha256_hex(d, hex), want);
}

static void check_buf(const char *msg, const char *want)
{
	uint8_t d[FD_SHA256_LEN];

	fd_sha256_buf(msg, strlen(msg), d);
	expect_hex(d, want);
}

static void test_sha256__empty(void **state)
{
	(void)state;
	check_buf("", "e3b0c44298fc1c149afbf4c8996fb924"
		      "27ae41e4649b934ca495991b7852b855");
}

static void test_sha256__abc(void **state)
{
	(void)state;
	check_buf("abc", "ba7816bf8f01cfea414140de5dae2223"
			 "b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256__448_bits(void **state)
{
	(void)state;
	check_buf(nist_448, "248d6a61d20638b8e5c026930c3e6039"
			    "a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256__million_a(void **state)
{
	struct fd_sha256 c;
	uint8_t d[FD_SHA256_LEN];
	char chunk[1000];
	int i;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	fd_sha256_init(&c);
	for (i = 0; i < 1000; i++)
		fd_sha256_update(&c, chunk, sizeof(chunk));
	fd_sha256_final(&c, d);
	expect_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67"
		      "f1809a48a497200e046d39ccc7112cd0");
}

/* Every split point of the 448-bit message, across the block boundary
 * logic, must give the same digest. */
static void test_sha256__every_split(void **state)
{
	uint8_t whole[FD_SHA256_LEN], part[FD_SHA256_LEN];
	size_t len = strlen(nist_448), i, j;

	(void)state;
	fd_sha256_buf(nist_448, len, whole);
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j += 7) {
			struct fd_sha256 c;

			fd_sha256_init(&c);
			fd_sha256_update(&c, nist_448, i);
			fd_sha256_update(&c, nist_448 + i, j - i);
			fd_sha256_update(&c, nist_448 + j, len - j);
			fd_sha256_final(&c, part);
			assert_memory_equal(whole, part, FD_SHA256_LEN);
		}
	}
}

/* Padding edge cases: 55, 56, 63, 64 and 65 bytes differ from each
 * other (a wrong length block would make two of them collide). */
static void test_sha256__padding_edges(void **state)
{
	static const size_t lens[] = { 55, 56, 63, 64, 65, 119, 120 };
	uint8_t d[7][FD_SHA256_LEN];
	char msg[128];
	size_t i, j;

	(void)state;
	memset(msg, 'a', sizeof(msg));
	for (i = 0; i < 7; i++)
		fd_sha256_buf(msg, lens[i], d[i]);
	for (i = 0; i < 7; i++)
		for (j = i + 1; j < 7; j++)
			assert_memory_not_equal(d[i], d[j], FD_SHA256_LEN);
	/* 56 'a's: a known value (the 448-bit boundary). */
	expect_hex(d[1], "b35439a4ac6f0948b6d6f9e3c6af0f5f"
			 "590ce20f1bde7090ef7970686ec6738a");
}

static void test_sha256__file(void **state)
{
	char path[] = "/tmp/fd-sha256-XXXXXX";
	uint8_t d[FD_SHA256_LEN];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(fd_sha256_file(path, d), 0);
	expect_hex(d, "ba7816bf8f01cfea414140de5dae2223"
		      "b00361a396177a9cb410ff61f20015ad");
	unlink(path);
	assert_int_equal(fd_sha256_file(path, d), -FD_ERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256__empty),
		cmocka_unit_test(test_sha256__abc),
		cmocka_unit_test(test_sha256__448_bits),
		cmocka_unit_test(test_sha256__million_a),
		cmocka_unit_test(test_sha256__every_split),
		cmocka_unit_test(test_sha256__padding_edges),
		cmocka_unit_test(test_sha256__file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
