/*
 * report.h - verdicts as a person or a CI system wants them: a table on
 * the terminal, JUnit XML, and JSON.
 *
 * Every report carries every verdict with what was expected and what was
 * seen, and the time to detect where an alert was found.  Writers return 0
 * or a negative fd_err (the file could not be written).
 */
#ifndef FD_REPORT_H
#define FD_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "runrec.h"
#include "validate.h"

/* The table and a summary line; color when asked (on a terminal). */
void fd_report_table(FILE *out, const struct fd_verdicts *vs, bool color);

/* One line: "N checks in S scenarios: N PASS, N FAIL, ..." */
void fd_report_summary(FILE *out, const struct fd_verdicts *vs, bool color);

int fd_report_junit(const char *path, const struct fd_runrec *rr,
		    const struct fd_verdicts *vs);

/* path "-" writes to standard output. */
int fd_report_json(const char *path, const struct fd_runrec *rr,
		   const char *backend, const struct fd_verdicts *vs);

#endif
