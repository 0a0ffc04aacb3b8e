/*
 * backup.c: a hot, compacted backup of the store into a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "store.h"
#include "util.h"

/* The directory part of path (without the last component). */
static char *
backup_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return slash == path ? xstrdup("/") : xstrndup(path,
	    (size_t)(slash - path));
}

int
backup_check_path(const char *path, const char *state_dir, char **cause)
{
	char		 rdir[PATH_MAX], rstate[PATH_MAX], *dir;
	struct stat	 st;
	const char	*p;
	size_t		 n;

	if (*path != '/')
		return set_cause(cause, "path \"%s\" is not absolute (the "
		    "daemon's working directory is not yours)", path);
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return set_cause(cause, "path has a control character");
	if ((n = strlen(path)) >= PATH_MAX - 16 || path[n - 1] == '/')
		return set_cause(cause, "path \"%s\" is too long or names a "
		    "directory", path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return set_cause(cause, "%s exists and is not a regular file",
		    path);
	dir = backup_dir(path);
	if (realpath(dir, rdir) == NULL) {
		set_cause(cause, "directory %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	/* A copy inside the store's own directory could replace data.mdb. */
	if (state_dir != NULL && realpath(state_dir, rstate) != NULL &&
	    (strcmp(rdir, rstate) == 0 || (strncmp(rdir, rstate,
	    strlen(rstate)) == 0 && rdir[strlen(rstate)] == '/')))
		return set_cause(cause, "%s is inside the state directory %s; "
		    "keep backups elsewhere", path, rstate);
	return 0;
}

/* Sync a directory, so that a rename in it survives a crash. */
static int
backup_sync_dir(const char *path)
{
	char	*dir = backup_dir(path);
	int	 fd, rc = -1;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		rc = fsync(fd);
		close(fd);
	}
	free(dir);
	return rc;
}

int
backup_write(struct store *s, const char *state_dir, const char *path,
    int overwrite, uint64_t *bytes, int *status, char **cause)
{
	struct stat	 st;
	char		*tmp;
	int		 fd, rc;

	*status = 422;
	if (backup_check_path(path, state_dir, cause) == -1)
		return -1;
	if (!overwrite && access(path, F_OK) == 0) {
		*status = 409;
		return set_cause(cause, "%s exists; ask to overwrite it "
		    "(\"overwrite\": true, mannersctl backup --overwrite)", path);
	}
	*status = 500;
	xasprintf(&tmp, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		rc = set_cause(cause, "cannot create %s: %s", tmp,
		    strerror(errno));
		free(tmp);
		return rc;
	}
	if ((rc = store_copy(s, fd, cause)) == 0 && fsync(fd) == -1)
		rc = set_cause(cause, "fsync %s: %s", tmp, strerror(errno));
	if (rc == 0 && fstat(fd, &st) == 0)
		*bytes = (uint64_t)st.st_size;
	close(fd);
	/* Without overwrite, a file that appeared meanwhile is kept. */
	if (rc == 0 && !overwrite && link(tmp, path) == -1) {
		*status = errno == EEXIST ? 409 : 500;
		rc = set_cause(cause, "cannot create %s: %s", path,
		    strerror(errno));
	} else if (rc == 0 && overwrite && rename(tmp, path) == -1)
		rc = set_cause(cause, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
	if (rc != 0 || !overwrite)
		unlink(tmp);
	if (rc == 0)
		backup_sync_dir(path);
	free(tmp);
	if (rc == 0)
		*status = 200;
	return rc == 0 ? 0 : -1;
}
