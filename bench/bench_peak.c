/*
 * bench_peak: run a command and report its peak memory, sampled exactly.
 *
 *   bench_peak COMMAND [ARG...]
 *
 * Prints on stderr, after the command's own output:
 *   bench_peak: anon_kb=A file_kb=F rss_kb=R maxrss_kb=M samples=N
 * A, F, R: the largest RssAnon, RssFile and VmRSS read from /proc/PID/status every
 * millisecond while the command runs (R is the largest sum seen at one reading). M: the
 * kernel's own peak (getrusage ru_maxrss, what GNU time -v prints). Exits with the command's
 * status.
 *
 * Why both: since Linux 6.2 a process's RSS counters are per-CPU counters, and getrusage's
 * peak comes from an approximate reading of them (percpu_counter_read_positive); on this
 * 2-CPU machine the sampled VmRSS is above ru_maxrss by up to 0.2 MB in the same run, so
 * ru_maxrss cannot tell 0.1 MB apart. RssFile moves from run to run as the kernel maps
 * shared-library code pages around each fault (fault-around); RssAnon is the memory the
 * command itself allocated and touched. A sample every millisecond misses what lives for
 * less than that; the import's memory is pools made once, so its peak is a plateau, not a
 * spike.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct peak {
	long anon, file, rss;
	long samples;
};

static long field_kb(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? atol(p + strlen(key)) : -1;
}

/* One reading of /proc/PID/status; 0, or -1 once the process is gone. */
static int sample(const char *path, struct peak *pk)
{
	char buf[8192];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	long anon = field_kb(buf, "RssAnon:"), file = field_kb(buf, "RssFile:"), rss = field_kb(buf, "VmRSS:");
	if (anon < 0 || file < 0 || rss < 0)	/* a zombie has no memory lines */
		return -1;
	pk->anon = anon > pk->anon ? anon : pk->anon;
	pk->file = file > pk->file ? file : pk->file;
	pk->rss = rss > pk->rss ? rss : pk->rss;
	pk->samples++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_peak COMMAND [ARG...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_peak: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "bench_peak: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	struct peak pk = { 0 };
	const struct timespec ms = { 0, 1000000 };
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		sample(path, &pk);
		nanosleep(&ms, NULL);
	}
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	fprintf(stderr, "bench_peak: anon_kb=%ld file_kb=%ld rss_kb=%ld maxrss_kb=%ld samples=%ld\n", pk.anon, pk.file,
		pk.rss, ru.ru_maxrss, pk.samples);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
