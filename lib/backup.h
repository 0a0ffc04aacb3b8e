/*
 * backup.h: a hot backup of the store into a file (POST /v1/backup,
 * `mannersctl backup FILE`).
 *
 * The copy is LMDB's compacted copy from one read transaction
 * (store_copy()): consistent as of the last commit before it began, taken
 * while admission and delivery go on.  It is written to a temporary file
 * beside the target, synced, and renamed into place, so the target is
 * either the old file or the whole new copy.  Restoring is copying it to
 * data.mdb in an empty state directory (see README, "Backup").
 */
#ifndef MANNERS_BACKUP_H
#define MANNERS_BACKUP_H

#include <stdint.h>

struct store;

/*
 * Check a target path: absolute, no control characters, not a
 * directory, its directory existing, and not inside the state directory.
 * Returns 0, or -1 with *cause (an HTTP 422).
 */
int	backup_check_path(const char *, const char *, char **);
/*
 * Write the backup to path: 0 with *bytes; -1 with *status (409 when the
 * file exists and overwrite is 0, 422 for a bad path, 500 for a write
 * error) and *cause.
 */
int	backup_write(struct store *, const char *, const char *, int,
	    uint64_t *, int *, char **);

#endif
