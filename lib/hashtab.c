/*
 * hashtab.c: open addressing with linear probing (see hashtab.h).
 */
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "util.h"

#define HASHTAB_MIN	16		/* first size; a power of two */

/* A slot: the item's hash beside it, so most probes never touch it. */
struct hashtab_slot {
	uint64_t	 hash;
	void		*item;		/* NULL: empty */
};

struct hashtab {
	struct hashtab_slot	*slots;
	size_t			 size;	/* a power of two, or 0 */
	size_t			 count;
};

/* An empty table; its array comes with the first item. */
struct hashtab *
hashtab_new(void)
{
	return xcalloc(1, sizeof (struct hashtab));
}

/* Free the table (not its items). */
void
hashtab_free(struct hashtab *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

/* The item `key` names (by `eq`) among those with hash `h`, or NULL. */
void *
hashtab_find(const struct hashtab *t, uint64_t h, hashtab_eq_fn eq,
    const void *key)
{
	size_t	 mask = t->size - 1, i;

	if (t->count == 0)
		return NULL;
	for (i = h & mask; t->slots[i].item != NULL; i = (i + 1) & mask)
		if (t->slots[i].hash == h && eq(t->slots[i].item, key))
			return t->slots[i].item;
	return NULL;
}

/* Put an item in the first free slot from its hash's home. */
static void
hashtab_place(struct hashtab *t, uint64_t h, void *item)
{
	size_t	 mask = t->size - 1, i;

	for (i = h & mask; t->slots[i].item != NULL; i = (i + 1) & mask)
		;
	t->slots[i].hash = h;
	t->slots[i].item = item;
}

/* Double the array (or make the first) and place every item again. */
static void
hashtab_grow(struct hashtab *t)
{
	struct hashtab_slot	*old = t->slots;
	size_t			 osize = t->size, i;

	t->size = osize == 0 ? HASHTAB_MIN : osize * 2;
	t->slots = xcalloc(t->size, sizeof *t->slots);
	for (i = 0; i < osize; i++)
		if (old[i].item != NULL)
			hashtab_place(t, old[i].hash, old[i].item);
	free(old);
}

/* Add an item with hash `h` (the caller knows it is not there yet). */
void
hashtab_add(struct hashtab *t, uint64_t h, void *item)
{
	/* At most half full: probes stay short. */
	if ((t->count + 1) * 2 > t->size)
		hashtab_grow(t);
	hashtab_place(t, h, item);
	t->count++;
}

/*
 * Empty slot `i`, then move back each item after it that a probe from
 * its home would otherwise no longer reach across the hole.
 */
static void
hashtab_vacate(struct hashtab *t, size_t i)
{
	size_t	 mask = t->size - 1, j = i, home;

	for (;;) {
		t->slots[i].item = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (t->slots[j].item == NULL)
				return;
			home = t->slots[j].hash & mask;
			/* Stays if its home lies cyclically in (i, j]. */
			if (i <= j ? (i < home && home <= j) :
			    (i < home || home <= j))
				continue;
			break;
		}
		t->slots[i] = t->slots[j];
		i = j;
	}
}

/* Remove this very item, added with hash `h`; -1 when it is not there. */
int
hashtab_remove(struct hashtab *t, uint64_t h, const void *item)
{
	size_t	 mask = t->size - 1, i;

	if (t->count == 0)
		return -1;
	for (i = h & mask; t->slots[i].item != NULL; i = (i + 1) & mask) {
		if (t->slots[i].item == item) {
			hashtab_vacate(t, i);
			t->count--;
			return 0;
		}
	}
	return -1;
}

/* Remove every item, keeping the array for the next. */
void
hashtab_clear(struct hashtab *t)
{
	if (t->size != 0)
		memset(t->slots, 0, t->size * sizeof *t->slots);
	t->count = 0;
}

/* How many items are in the table. */
size_t
hashtab_count(const struct hashtab *t)
{
	return t->count;
}

/*
 * The next item from slot `*pos` on (start at 0), in no useful order, or
 * NULL at the end; `*pos` moves past it.
 */
void *
hashtab_next(const struct hashtab *t, size_t *pos)
{
	while (*pos < t->size) {
		if (t->slots[(*pos)++].item != NULL)
			return t->slots[*pos - 1].item;
	}
	return NULL;
}

/*
 * Remove the item hashtab_next() returned last; the walk goes on from
 * its slot, where an item after it may have moved back (an item may so
 * be seen twice, never missed).
 */
void
hashtab_remove_current(struct hashtab *t, size_t *pos)
{
	hashtab_vacate(t, --(*pos));
	t->count--;
}

/* FNV-1a over bytes, then mixed so that the low bits vary too. */
uint64_t
hashtab_hash(const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 h = 0xcbf29ce484222325ULL;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 32;
	return h;
}

/* The same over a string, ASCII case folded (domain names). */
uint64_t
hashtab_hash_caseless(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s | 0x20;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 32;
	return h;
}
