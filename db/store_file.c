/*
 * Placing a database that is being written: all-or-nothing on disk.
 *
 * SQLite opens the database by name, so hv_tmpdb_begin creates a hidden, exclusive name next
 * to the final path (same filesystem, so it can become the final file without copying).
 * hv_tmpdb_adopt then moves SQLite's open file onto an anonymous O_TMPFILE inode in that
 * directory (dup2 over SQLite's descriptor) and removes the name at once: from then on, a
 * writer that dies, even by SIGKILL, leaves no file at all, because the kernel frees an
 * anonymous inode with its last descriptor. hv_tmpdb_publish links the finished inode into
 * place (linkat through /proc/self/fd, then rename for an atomic replace). Where the
 * filesystem has no O_TMPFILE the hidden name is kept, renamed at commit, and removed by
 * discard; only a killed writer can then leave it behind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

static void dir_of(const char *path, char *out, size_t n)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	snprintf(out, n, "%s", dirname(tmp));
}

int hv_tmpdb_begin(struct hv_tmpdb *t, const char *final, int force, struct hv_err *err)
{
	static unsigned counter;
	char dir[PATH_MAX], base[NAME_MAX + 1], tmp[PATH_MAX];
	struct stat sb;

	memset(t, 0, sizeof *t);
	t->anon_fd = -1;
	t->force = force;
	if (strlen(final) >= sizeof t->final - 64)
		return hv_err_set(err, HV_E_USAGE, "%s: path too long", final);
	snprintf(t->final, sizeof t->final, "%s", final);
	if (stat(final, &sb) == 0) {
		if (!force)
			return hv_err_set(err, HV_E_EXISTS, "%s: already exists (use --force to replace it)", final);
		if (S_ISDIR(sb.st_mode))
			return hv_err_set(err, HV_E_USAGE, "%s: is a directory", final);
	}
	dir_of(final, dir, sizeof dir);
	snprintf(tmp, sizeof tmp, "%s", final);
	snprintf(base, sizeof base, "%s", basename(tmp));
	if (strlen(dir) + strlen(base) + 48 >= sizeof t->named)
		return hv_err_set(err, HV_E_USAGE, "%s: path too long", final);
	int n = snprintf(t->named, sizeof t->named, "%.3000s/.%.200s.hvtrace-%d-%u.tmp", dir, base, (int)getpid(), counter++);
	(void)n;
	int fd = open(t->named, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0)
		return hv_err_set(err, HV_E_IO, "%s: cannot create a file in %s: %s", final, dir, strerror(errno));
	close(fd);
	return 0;
}

/* The descriptor this process holds on the named file (SQLite's), or -1. */
static int find_fd_of(const char *path)
{
	char want[PATH_MAX], link[PATH_MAX + 32], got[PATH_MAX];
	if (!realpath(path, want))
		return -1;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int found = -1, dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == dfd)
			continue;
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, got, sizeof got - 1);
		if (n <= 0)
			continue;
		got[n] = 0;
		if (strcmp(got, want) == 0) {
			found = fd;
			break;
		}
	}
	closedir(d);
	return found;
}

int hv_tmpdb_adopt(struct hv_tmpdb *t, struct hv_err *err)
{
	char dir[PATH_MAX];
	dir_of(t->final, dir, sizeof dir);
	int sfd = find_fd_of(t->named);
	if (sfd < 0)
		return 0;	/* keep the named file */
	int afd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (afd < 0)
		return 0;	/* no O_TMPFILE here: keep the named file */
	if (dup2(afd, sfd) < 0) {
		int e = errno;
		close(afd);
		return hv_err_set(err, HV_E_IO, "%s: dup2: %s", t->final, strerror(e));
	}
	/* dup2 keeps sfd's close-on-exec flag cleared; SQLite set it on its own fd. */
	fcntl(sfd, F_SETFD, FD_CLOEXEC);
	t->anon_fd = afd;
	unlink(t->named);
	t->named[0] = 0;
	return 0;
}

int hv_tmpdb_publish(struct hv_tmpdb *t, struct hv_err *err)
{
	char staged[PATH_MAX + 64];
	if (t->anon_fd >= 0) {
		char proc[64];
		if (fsync(t->anon_fd) < 0)
			return hv_err_set(err, HV_E_IO, "%s: fsync: %s", t->final, strerror(errno));
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", t->anon_fd);
		snprintf(staged, sizeof staged, "%s.hvtrace-%d.new", t->final, (int)getpid());
		unlink(staged);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, staged, AT_SYMLINK_FOLLOW) < 0)
			return hv_err_set(err, HV_E_IO, "%s: cannot link the new database: %s", t->final, strerror(errno));
		close(t->anon_fd);
		t->anon_fd = -1;
	} else {
		snprintf(staged, sizeof staged, "%s", t->named);
		t->named[0] = 0;
	}
	if (!t->force && access(t->final, F_OK) == 0) {
		unlink(staged);
		return hv_err_set(err, HV_E_EXISTS, "%s: appeared while writing; not replaced", t->final);
	}
	if (rename(staged, t->final) < 0) {
		int e = errno;
		unlink(staged);
		return hv_err_set(err, HV_E_IO, "%s: rename: %s", t->final, strerror(e));
	}
	return 0;
}

void hv_tmpdb_discard(struct hv_tmpdb *t)
{
	if (t->anon_fd >= 0)
		close(t->anon_fd);
	t->anon_fd = -1;
	if (t->named[0])
		unlink(t->named);
	t->named[0] = 0;
}
