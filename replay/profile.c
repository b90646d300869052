/*
 * Replay profiles (spec §3) and choosing one from a trace's meta.
 *
 * A profile is the kernel era whose rules the trace is checked against. Layer 1 only needs a
 * few of each profile's facts (which scheduling path emits the events, whether piggybacking
 * and kvmppc_vcore_wakeup exist, the POWER9 lean form); later layers add their decision
 * rules per profile. The choice: meta `profile` (simulator traces) wins; otherwise the CPU
 * (meta cpudesc/cpu/cpuid: POWER7/8/9/10, "(architected)" = a pseries guest, i.e. KVM as a
 * nested L1) and the kernel release (meta osrelease).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "rp_int.h"

/*  name                    kernels                      gang pig wake lean 501 ptid */
static const struct rp_profile profiles[] = {
	{ "E31_strict_smt", "v3.1", 1, 0, 0, 0, 1, RP_PTID_ARRIVAL },
	{ "E32_cede_nap", "v3.2-v3.7", 1, 0, 0, 0, 1, RP_PTID_NONCEDED_FIRST },
	{ "E38_any_ready", "v3.8-v3.14", 1, 0, 0, 0, 1, RP_PTID_NONCEDED_FIRST },
	{ "E315_aligned", "v3.15-v4.0", 1, 0, 0, 0, 1, RP_PTID_FIXED },
	{ "E41_preempt", "v4.1-v4.2", 1, 0, 0, 0, 1, RP_PTID_FIXED },
	{ "E43_piggyback", "v4.3-v4.8", 1, 1, 0, 0, 1, RP_PTID_FIXED },
	{ "E49_one_per_subcore", "v4.9", 1, 1, 1, 0, 1, RP_PTID_FIXED },
	{ "E410_simplified", "v4.10-v4.14", 1, 1, 1, 0, 1, RP_PTID_FIXED },
	{ "E415_indep_mode", "v4.15-v4.19", 1, 1, 1, 0, 1, RP_PTID_FIXED },
	{ "mainline", "v4.20+ POWER7/POWER8 gang path", 1, 1, 1, 0, 0, RP_PTID_FIXED },
	{ "E420_p9_cpath_nested", "v4.20-v5.13 POWER9 single path", 0, 0, 1, 0, 0, RP_PTID_FIXED },
	{ "E514_p9_always_single", "v5.14-v5.15 POWER9", 0, 0, 1, 0, 0, RP_PTID_FIXED },
	{ "E516_p9_lean", "v5.16+ POWER9/10 (and nested L1)", 0, 0, 0, 1, 0, RP_PTID_FIXED },
	{ "E67_nested_v2", "v6.7+ POWER9/10", 0, 0, 0, 1, 0, RP_PTID_FIXED },
};
#define NPROFILES (sizeof profiles / sizeof profiles[0])

static const char *const profile_names[NPROFILES + 1] = {
	"E31_strict_smt", "E32_cede_nap", "E38_any_ready", "E315_aligned", "E41_preempt",
	"E43_piggyback", "E49_one_per_subcore", "E410_simplified", "E415_indep_mode", "mainline",
	"E420_p9_cpath_nested", "E514_p9_always_single", "E516_p9_lean", "E67_nested_v2", NULL,
};

const char *const *hv_replay_profiles(void)
{
	return profile_names;
}

const struct rp_profile *rp_profile_find(const char *name)
{
	for (size_t i = 0; i < NPROFILES; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

/* Meta keys are matched loosely, so importers may spell them as they like: the last
 * component of the key (after any '.', '/' or ':' prefix: "perf.osrelease",
 * "param.dynamic_mt_modes", "/sys/module/kvm_hv/parameters/dynamic_mt_modes") is compared
 * with case, '_', '-' and ' ' ignored ("os release" = "osrelease"). Per-VM keys
 * ("vm.<tgid>.…") never answer a host-wide question. */
static void normalize(const char *k, char *out, size_t n)
{
	size_t j = 0;
	for (; *k && j + 1 < n; k++)
		if ((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9'))
			out[j++] = *k;
		else if (*k >= 'A' && *k <= 'Z')
			out[j++] = (char)(*k - 'A' + 'a');
	out[j] = 0;
}

int rp_meta_get(struct hv_store *st, const char *want, char *buf, size_t n, char *key, size_t kn);
int rp_meta_get(struct hv_store *st, const char *want, char *buf, size_t n, char *key, size_t kn)
{
	sqlite3_stmt *s;
	char w[64], nk[256];
	int found = 0;
	normalize(want, w, sizeof w);
	if (sqlite3_prepare_v2(hv_store_sqlite(st), "SELECT key, value FROM meta ORDER BY length(key)", -1, &s,
			       NULL) != SQLITE_OK)
		return 0;
	while (!found && sqlite3_step(s) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0), *v = (const char *)sqlite3_column_text(s, 1);
		if (!k || !v || !v[0] || !strncmp(k, "vm.", 3))
			continue;
		const char *last = k;
		for (const char *c = k; *c; c++)
			if (*c == '.' || *c == '/' || *c == ':')
				last = c + 1;
		normalize(last, nk, sizeof nk);
		if (!strcmp(nk, w)) {
			snprintf(buf, n, "%s", v);
			if (key)
				snprintf(key, kn, "%s", k);
			found = 1;
		}
	}
	sqlite3_finalize(s);
	return found;
}

static int meta(struct hv_store *st, const char *const *keys, char *buf, size_t n, char *key, size_t kn)
{
	for (int i = 0; keys[i]; i++)
		if (rp_meta_get(st, keys[i], buf, n, key, kn))
			return 1;
	return 0;
}

/* "6.1.0-50-powerpc64le" -> 601 (major*100 + minor), -1 if unreadable */
static int kernel_version(const char *s)
{
	while (*s && (*s < '0' || *s > '9'))
		s++;
	char *end;
	long major = strtol(s, &end, 10);
	if (end == s || *end != '.')
		return -1;
	long minor = strtol(end + 1, NULL, 10);
	return (int)(major * 100 + minor);
}

/* 7, 8, 9, 10 from "POWER8, altivec supported", "POWER9 (architected)", "77,512" (pvr). */
int rp_chip_from(const char *cpu, int *architected);
int rp_chip_from(const char *cpu, int *architected)
{
	const char *p = strstr(cpu, "POWER");
	if (!p)
		p = strstr(cpu, "power");
	*architected = strstr(cpu, "architected") != NULL;
	if (p)
		return atoi(p + 5);
	/* perf's cpuid on ppc: "<pvr version>,<revision>" in decimal */
	char *end;
	long pvr = strtol(cpu, &end, 0);
	if (end != cpu && (*end == ',' || *end == 0)) {
		switch (pvr) {
		case 0x3f: case 0x4a: return 7;		/* POWER7, POWER7+ */
		case 0x4b: case 0x4c: case 0x4d: return 8;	/* POWER8E, POWER8NVL, POWER8 */
		case 0x4e: return 9;
		case 0x80: return 10;
		}
	}
	return 0;
}

static const char *by_version(int chip, int ver, int architected)
{
	if (chip >= 9 || architected) {
		if (ver < 410)
			return "E49_one_per_subcore";
		if (ver < 415)
			return "E410_simplified";
		if (ver < 420)
			return "E415_indep_mode";
		if (ver < 514)
			return "E420_p9_cpath_nested";
		if (ver < 516)
			return "E514_p9_always_single";
		return "E516_p9_lean";
	}
	if (ver < 302)
		return "E31_strict_smt";
	if (ver < 308)
		return "E32_cede_nap";
	if (ver < 315)
		return "E38_any_ready";
	if (ver < 401)
		return "E315_aligned";
	if (ver < 403)
		return "E41_preempt";
	if (ver < 409)
		return "E43_piggyback";
	if (ver < 410)
		return "E49_one_per_subcore";
	if (ver < 415)
		return "E410_simplified";
	if (ver < 420)
		return "E415_indep_mode";
	return "mainline";
}

int hv_replay_choose_profile(struct hv_store *st, char *name, size_t n, char *why, size_t wn,
			     struct hv_err *err)
{
	static const char *const kprof[] = { "profile", "sim.profile", NULL };
	static const char *const kcpu[] = { "cpudesc", "cpuid", "cpu", NULL };
	static const char *const krel[] = { "osrelease", "kernelrelease", "uname_r", NULL };
	char buf[256], rel[128], key[128] = "", rkey[128] = "";
	if (meta(st, kprof, buf, sizeof buf, key, sizeof key)) {
		if (!rp_profile_find(buf))
			return hv_err_set(err, HV_E_USAGE, "%s: meta %s names unknown profile '%s'",
					  hv_store_path(st), key, buf);
		snprintf(name, n, "%s", buf);
		snprintf(why, wn, "meta %s=%s", key, buf);
		return 0;
	}
	int arch = 0, chip = 0;
	if (meta(st, kcpu, buf, sizeof buf, key, sizeof key))
		chip = rp_chip_from(buf, &arch);
	int ver = meta(st, krel, rel, sizeof rel, rkey, sizeof rkey) ? kernel_version(rel) : -1;
	if (!chip) {
		snprintf(name, n, "mainline");
		snprintf(why, wn, "no CPU in meta: assuming the current POWER7/POWER8 gang path");
		return 0;
	}
	if (ver < 0) {
		snprintf(name, n, "%s", chip >= 9 || arch ? "E516_p9_lean" : "mainline");
		snprintf(why, wn, "POWER%d%s, no kernel release in meta: assuming a current kernel", chip,
			 arch ? " (architected: nested L1)" : "");
		return 0;
	}
	snprintf(name, n, "%s", by_version(chip, ver, arch));
	snprintf(why, wn, "meta %s says POWER%d%s, %s=%s (v%d.%d)", key, chip,
		 arch ? " (architected: KVM runs as a nested L1 in a pseries guest)" : "", rkey, rel,
		 ver / 100, ver % 100);
	return 0;
}
