/*
 * hashtab.h: one hash table for the caller's items, found by a 64-bit
 * hash and the caller's comparison with a key.
 *
 * The table holds pointers, never copies: an item stays where its owner
 * put it and must stay there while it is in the table (an owner that
 * moves its items clears the table and adds them again).  Open
 * addressing with linear probing over a power-of-two array kept at most
 * half full; a removal shifts the items after it back, so lookups never
 * wade through tombstones.
 */
#ifndef MANNERS_HASHTAB_H
#define MANNERS_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

struct hashtab;

/* Is `item` the one `key` names? */
typedef int	(*hashtab_eq_fn)(const void *item, const void *key);

struct hashtab	*hashtab_new(void);
void		 hashtab_free(struct hashtab *);
void		*hashtab_find(const struct hashtab *, uint64_t, hashtab_eq_fn,
		    const void *);
void		 hashtab_add(struct hashtab *, uint64_t, void *);
int		 hashtab_remove(struct hashtab *, uint64_t, const void *);
void		 hashtab_clear(struct hashtab *);
size_t		 hashtab_count(const struct hashtab *);
void		*hashtab_next(const struct hashtab *, size_t *);
void		 hashtab_remove_current(struct hashtab *, size_t *);

uint64_t	 hashtab_hash(const void *, size_t);
uint64_t	 hashtab_hash_caseless(const char *);

#endif
