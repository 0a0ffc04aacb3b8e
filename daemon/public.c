/*
 * public.c: the public listener (public_listen) serving /u/{token}.
 * Placeholder wiring; the unsubscribe issue fills it in.
 */
#include "mannersd.h"

int
public_start(struct mannersd *md, char **cause)
{
	(void)md;
	(void)cause;
	return 0;
}

void
public_stop(struct mannersd *md)
{
	(void)md;
}

void
public_free(struct mannersd *md)
{
	(void)md;
}
