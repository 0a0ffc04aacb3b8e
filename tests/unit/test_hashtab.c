/*
 * test_hashtab.c: finding, removing and walking items, with hashes made
 * to collide and to wrap around the end of the array.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hashtab.h"

#define N	1000

struct item {
	int		 key;
	uint64_t	 hash;
	int		 in;		/* in the table, by the model */
	int		 seen;		/* by a walk */
};

/* Is `item` the one with key *key? */
static int
item_eq(const void *item, const void *key)
{
	return ((const struct item *)item)->key == *(const int *)key;
}

/* Items with hashes from `hash`: spread, colliding, or wrapping. */
static void
items_make(struct item *it, uint64_t (*hash)(int))
{
	int	 i;

	for (i = 0; i < N; i++) {
		memset(&it[i], 0, sizeof it[i]);
		it[i].key = i;
		it[i].hash = hash(i);
	}
}

static uint64_t
spread(int i)
{
	return hashtab_hash(&i, sizeof i);
}

/* Eight homes for everything: long clusters. */
static uint64_t
colliding(int i)
{
	return (uint64_t)(i % 8);
}

/* Homes at the very end of any array: clusters wrap past slot 0. */
static uint64_t
wrapping(int i)
{
	return UINT64_MAX - (uint64_t)(i % 3);
}

/* Every item the model holds is found, and no other. */
static void
check_model(struct hashtab *t, struct item *it, const char *when)
{
	size_t	 n = 0;
	int	 i;

	for (i = 0; i < N; i++) {
		void	*got = hashtab_find(t, it[i].hash, item_eq, &it[i].key);

		cr_assert_eq(got, it[i].in ? &it[i] : NULL, "%s: item %d %s",
		    when, i, it[i].in ? "is lost" : "is still found");
		n += it[i].in;
	}
	cr_assert_eq(hashtab_count(t), n, "%s: count %zu, want %zu", when,
	    hashtab_count(t), n);
}

/* Add all, remove a pseudo-random half, add some back, checking always. */
static void
churn(uint64_t (*hash)(int), const char *name)
{
	struct hashtab	*t = hashtab_new();
	struct item	*it = calloc(N, sizeof *it);
	unsigned	 r = 12345;
	int		 i, k;

	items_make(it, hash);
	check_model(t, it, name);
	for (i = 0; i < N; i++) {
		hashtab_add(t, it[i].hash, &it[i]);
		it[i].in = 1;
	}
	check_model(t, it, name);
	for (k = 0; k < 3 * N; k++) {
		r = r * 1103515245 + 12345;
		i = (int)((r >> 8) % N);
		if (it[i].in) {
			cr_assert_eq(hashtab_remove(t, it[i].hash, &it[i]), 0);
			it[i].in = 0;
		} else {
			cr_assert_eq(hashtab_remove(t, it[i].hash, &it[i]), -1,
			    "%s: removing an absent item", name);
			hashtab_add(t, it[i].hash, &it[i]);
			it[i].in = 1;
		}
		if (k % 97 == 0)
			check_model(t, it, name);
	}
	check_model(t, it, name);
	hashtab_free(t);
	free(it);
}

Test(hashtab, items_with_spread_hashes_are_found_after_churn)
{
	churn(spread, "spread");
}

Test(hashtab, items_whose_hashes_collide_are_found_after_churn)
{
	churn(colliding, "colliding");
}

Test(hashtab, clusters_that_wrap_past_the_end_survive_removals)
{
	churn(wrapping, "wrapping");
}

/* A walk that removes every other item sees each item once or more. */
static void
walk_removing(uint64_t (*hash)(int))
{
	struct hashtab	*t = hashtab_new();
	struct item	*it = calloc(N, sizeof *it), *x;
	size_t		 pos = 0;
	int		 i;

	items_make(it, hash);
	for (i = 0; i < N; i++) {
		hashtab_add(t, it[i].hash, &it[i]);
		it[i].in = 1;
	}
	while ((x = hashtab_next(t, &pos)) != NULL) {
		x->seen++;
		if (x->key % 2 == 0) {
			hashtab_remove_current(t, &pos);
			x->in = 0;
		}
	}
	for (i = 0; i < N; i++)
		cr_assert(it[i].seen >= 1, "item %d was missed by the walk", i);
	check_model(t, it, "after the walk");
	hashtab_free(t);
	free(it);
}

Test(hashtab, a_walk_that_removes_misses_no_item)
{
	walk_removing(spread);
	walk_removing(colliding);
	walk_removing(wrapping);
}

Test(hashtab, a_cleared_table_finds_nothing_and_takes_items_again)
{
	struct hashtab	*t = hashtab_new();
	struct item	 it[N];
	size_t		 pos = 0;
	int		 i;

	items_make(it, spread);
	for (i = 0; i < N; i++)
		hashtab_add(t, it[i].hash, &it[i]);
	hashtab_clear(t);
	cr_expect_eq(hashtab_count(t), 0);
	cr_expect_null(hashtab_next(t, &pos));
	cr_expect_null(hashtab_find(t, it[5].hash, item_eq, &it[5].key));
	hashtab_add(t, it[5].hash, &it[5]);
	cr_expect_eq(hashtab_find(t, it[5].hash, item_eq, &it[5].key), &it[5]);
	hashtab_free(t);
}

Test(hashtab, caseless_hashes_agree_for_names_equal_but_for_case)
{
	cr_expect_eq(hashtab_hash_caseless("Example.ORG"),
	    hashtab_hash_caseless("example.org"));
	cr_expect_neq(hashtab_hash_caseless("example.org"),
	    hashtab_hash_caseless("example.net"));
}

Test(hashtab, an_empty_table_finds_nothing)
{
	struct hashtab	*t = hashtab_new();
	int		 k = 1;
	size_t		 pos = 0;

	cr_expect_null(hashtab_find(t, 1, item_eq, &k));
	cr_expect_eq(hashtab_remove(t, 1, &k), -1);
	cr_expect_null(hashtab_next(t, &pos));
	hashtab_free(t);
}
