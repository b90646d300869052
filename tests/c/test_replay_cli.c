/*
 * `hvtrace replay` end to end, and the profile choice from meta.
 *
 * The command's exit status and text: 0 and "result: clean" on a clean trace, 1 with a
 * VIOLATION block (context lines included) and the summary, 0 with "no kvm_hv events to
 * verify" for a trace without kvm_hv events, 2 for garbage, a damaged perf.data file (the
 * importer's message names the offset), an unknown profile or parameter; --json is one JSON document; the violation and
 * core_run tables are written. The profile is chosen from meta: the `profile` key, else
 * CPU (cpudesc / cpuid) and kernel release.
 */
#include <sys/wait.h>

#include "replay_build.h"
#include "tap.h"

static char out[1 << 16];

/* Run `$HVTRACE replay ARGS`, capture stdout+stderr into out; returns the exit status. */
static int run(const char *args)
{
	const char *bin = getenv("HVTRACE") ? getenv("HVTRACE") : "build/hvtrace";
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s replay %s 2>&1", bin, args);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void small_gang(struct trace *t, int bad_trap)
{
	tr_init(t);
	tr_meta(t, "cpudesc", "POWER8, altivec supported");
	tr_meta(t, "osrelease", "6.1.0-50-powerpc64le");
	RUN_ENTER(t, 0, 11, 0, 10);
	for (int i = 0; i < 4; i++) {
		G_ENTER(t, 0, 11, 0, 0);
		CORE(t, 0, 11, 1, 0, 0, 10);
		G_EXIT(t, 0, 11, 0, i == 3 && bad_trap ? 0x777 : 0x980, 0);
		CORE(t, 0, 11, 1, 0, 1, 10);
	}
}

static void test_cli(void)
{
	static struct trace t;
	char args[600];
	const char *db = tr_path("cli.db");
	TEST("replay: a clean trace exits 0 with the summary and the profile") {
		small_gang(&t, 0);
		CHECK_EQ_I(tr_write(&t, db), 0);
		snprintf(args, sizeof args, "%s", db);
		CHECK_EQ_I(run(args), 0);
		if (!strstr(out, "result: clean"))
			printf("# %.2000s\n", out);
		CHECK(strstr(out, "result: clean") != NULL);
		CHECK(strstr(out, "profile: mainline") != NULL);
		CHECK(strstr(out, "core_window") != NULL);
	}
	TEST("replay: a violation exits 1, printed with its context and stored") {
		small_gang(&t, 1);
		CHECK_EQ_I(tr_write(&t, db), 0);
		snprintf(args, sizeof args, "%s", db);
		CHECK_EQ_I(run(args), 1);
		CHECK(strstr(out, "VIOLATION trap_values") != NULL);
		CHECK(strstr(out, "  >") != NULL);		/* the violating event in its context */
		CHECK(strstr(out, "kvmppc_run_core") != NULL);	/* an event before it */
		CHECK(strstr(out, "result: 1 violation") != NULL);
		char q[700];
		snprintf(q, sizeof q, "%s sql %s \"SELECT monitor, seq FROM violation\"",
			 getenv("HVTRACE") ? getenv("HVTRACE") : "build/hvtrace", db);
		FILE *p = popen(q, "r");
		size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
		out[n] = 0;
		if (p)
			pclose(p);
		CHECK(strstr(out, "trap_values | 16") != NULL);
	}
	TEST("replay --json: one JSON document with the violations and monitors") {
		snprintf(args, sizeof args, "%s --json", db);
		CHECK_EQ_I(run(args), 1);
		CHECK(out[0] == '{');
		CHECK(strstr(out, "\"monitor\": \"trap_values\"") != NULL);
		CHECK(strstr(out, "\"monitors\": [") != NULL);
		CHECK(strstr(out, "\"violation_count\": 1") != NULL);
	}
	TEST("replay --max 0 still counts, prints none, exits 1") {
		snprintf(args, sizeof args, "%s --max 0", db);
		CHECK_EQ_I(run(args), 1);
		CHECK(strstr(out, "VIOLATION") == NULL);
		CHECK(strstr(out, "result: 1 violation") != NULL);
	}
	TEST("replay: a trace without kvm_hv events exits 0 and says so") {
		tr_init(&t);
		struct hv_err err = { 0 };
		struct hv_store *st;
		CHECK_EQ_I(hv_store_create(db, HV_STORE_FORCE, &st, &err), 0);
		int type = hv_store_known(st, HV_EV_SCHED_WAKEUP, &err);
		struct hv_value v[4] = { { 0, "bash", 4 }, { 42, NULL, 0 }, { 120, NULL, 0 }, { 1, NULL, 0 } };
		CHECK(type >= 0);
		CHECK_EQ_I(hv_store_append(st, type, 1000, 0, 7, v, &err), 0);
		CHECK_EQ_I(hv_store_commit(st, &err), 0);
		hv_store_close(st);
		snprintf(args, sizeof args, "%s", db);
		CHECK_EQ_I(run(args), 0);
		CHECK(strstr(out, "no kvm_hv events to verify") != NULL);
	}
	TEST("replay: usage and input errors exit 2") {
		const char *junk = tr_path("junk.db");
		FILE *f = fopen(junk, "w");
		fputs("this is not a database\n", f);
		fclose(f);
		CHECK_EQ_I(run(junk), 2);
		f = fopen(junk, "w");
		fputs("PERFILE2 and then some", f);
		fclose(f);
		CHECK_EQ_I(run(junk), 2);
		CHECK(strstr(out, "offset 8") != NULL);
		unlink(junk);
		small_gang(&t, 0);
		CHECK_EQ_I(tr_write(&t, db), 0);
		snprintf(args, sizeof args, "%s --profile E99_nope", db);
		CHECK_EQ_I(run(args), 2);
		snprintf(args, sizeof args, "%s --param bogus=1", db);
		CHECK_EQ_I(run(args), 2);
		snprintf(args, sizeof args, "%s --param dynamic_mt_modes=x", db);
		CHECK_EQ_I(run(args), 2);
		CHECK_EQ_I(run(""), 2);
	}
	unlink(db);
}

static const char *choose(const char *k1, const char *v1, const char *k2, const char *v2, char *why, size_t wn)
{
	static char name[64];
	static struct trace t;
	tr_init(&t);
	if (k1)
		tr_meta(&t, k1, v1);
	if (k2)
		tr_meta(&t, k2, v2);
	RUN_ENTER(&t, 0, 11, 0, 10);
	const char *db = tr_path("choose.db");
	struct hv_err err = { 0 };
	struct hv_store *st;
	if (tr_write(&t, db) < 0 || hv_store_open(db, 0, &st, &err) < 0)
		return "error";
	int rc = hv_replay_choose_profile(st, name, sizeof name, why, wn, &err);
	hv_store_close(st);
	unlink(db);
	return rc < 0 ? "error" : name;
}

static void test_profiles(void)
{
	char why[256];
	TEST("profile from meta: POWER8 + 6.1 is mainline, POWER9 + 6.1 the lean single path") {
		CHECK_EQ_S(choose("cpudesc", "POWER8, altivec supported", "osrelease", "6.1.0-50-powerpc64le", why,
				  sizeof why), "mainline");
		CHECK(strstr(why, "POWER8") != NULL);
		CHECK_EQ_S(choose("cpudesc", "POWER9, altivec supported", "osrelease", "6.1.0-50", why, sizeof why),
			   "E516_p9_lean");
		CHECK_EQ_S(choose("cpudesc", "POWER9 (architected), altivec supported", "osrelease", "6.1.0", why,
				  sizeof why), "E516_p9_lean");
		CHECK(strstr(why, "nested") != NULL);
	}
	TEST("profile from meta: eras by release, cpuid pvr, and the profile key") {
		CHECK_EQ_S(choose("cpudesc", "POWER9", "osrelease", "5.15.0", why, sizeof why), "E514_p9_always_single");
		CHECK_EQ_S(choose("cpudesc", "POWER9", "osrelease", "5.4.0-100-generic", why, sizeof why),
			   "E420_p9_cpath_nested");
		CHECK_EQ_S(choose("cpudesc", "POWER8E", "osrelease", "4.4.0", why, sizeof why), "E43_piggyback");
		CHECK_EQ_S(choose("cpudesc", "POWER7", "osrelease", "4.12.1", why, sizeof why), "E410_simplified");
		CHECK_EQ_S(choose("cpuid", "77,512", "osrelease", "4.18.0-394.el8", why, sizeof why), "E415_indep_mode");
		CHECK_EQ_S(choose("profile", "E31_strict_smt", "cpudesc", "POWER9", why, sizeof why), "E31_strict_smt");
		CHECK_EQ_S(choose("profile", "E99", NULL, NULL, why, sizeof why), "error");
		CHECK_EQ_S(choose("perf.os release", "5.15.0", "header.CPUDESC", "POWER9", why, sizeof why),
			   "E514_p9_always_single");
		CHECK_EQ_S(choose(NULL, NULL, NULL, NULL, why, sizeof why), "mainline");
		CHECK(strstr(why, "assuming") != NULL);
	}
}

int main(void)
{
	test_cli();
	test_profiles();
	tr_cleanup();
	return tap_exit();
}
