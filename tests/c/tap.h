/*
 * A minimal test protocol for hvtrace's C tests. Each check prints one line:
 *   ok - NAME | not ok - NAME (file:line: what) | skip - NAME # why
 * tests/run.sh counts them; a test binary exits non-zero if anything failed.
 */
#ifndef HV_TAP_H
#define HV_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_failed, tap_current_failed;
static const char *tap_current;

#define TEST(name) for (tap_begin(name); tap_current; tap_end())

static inline void tap_begin(const char *name)
{
	tap_current = name;
	tap_current_failed = 0;
}

static inline void tap_end(void)
{
	if (!tap_current_failed)
		printf("ok - %s\n", tap_current);
	tap_current = NULL;
	fflush(stdout);
}

static inline void tap_fail(const char *file, int line, const char *what)
{
	if (!tap_current_failed)
		printf("not ok - %s (%s:%d: %s)\n", tap_current ? tap_current : "?", file, line, what);
	else
		printf("#   also %s:%d: %s\n", file, line, what);
	tap_current_failed = 1;
	tap_failed = 1;
}

static inline void tap_skip(const char *name, const char *why)
{
	printf("skip - %s # %s\n", name, why);
	fflush(stdout);
}

#define CHECK(cond) do { if (!(cond)) tap_fail(__FILE__, __LINE__, #cond); } while (0)
#define CHECK_EQ_I(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) { char _m[256]; snprintf(_m, sizeof _m, "%s == %s: %lld != %lld", #a, #b, _a, _b); \
		tap_fail(__FILE__, __LINE__, _m); } } while (0)
#define CHECK_EQ_S(a, b) do { const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b)) { char _m[512]; snprintf(_m, sizeof _m, "%.60s == %.60s: \"%.150s\" != \"%.150s\"", \
		#a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); tap_fail(__FILE__, __LINE__, _m); } } while (0)

static inline int tap_exit(void)
{
	return tap_failed ? 1 : 0;
}

#endif
