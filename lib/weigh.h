/*
 * weigh.h: weigh a campaign's HTML part before anything is queued (its
 * bytes, its visible text and its images) and compare the weight with
 * limits that keep a newsletter unclipped, readable and out of the spam
 * folder.
 *
 * The weigher is a pure library: it parses, it counts, it never fetches.
 * Remote images are listed (weigh_remote_*) so the caller can measure them
 * and hand the sizes back before calling weigh_check() again.
 */
#ifndef MANNERS_WEIGH_H
#define MANNERS_WEIGH_H

#include <stddef.h>

#include <jansson.h>

struct buf;
struct weigh;

/*
 * HTML longer than WEIGH_REFUSE_FACTOR times max_html is refused by its
 * size alone, before the parser sees a byte of it.
 */
#define WEIGH_REFUSE_FACTOR	4

/*
 * Limits a campaign's HTML part must keep. A size or count of 0 means no
 * limit.
 */
struct weigh_limits {
	/* Bytes of the HTML part as given; Gmail clips above ~102 KB. */
	size_t	max_html;
	/* Distinct images (distinct URLs), inline and remote. */
	size_t	max_images;
	/* Bytes of the largest single image whose size is known. */
	size_t	max_image;
	/* Bytes of all distinct images whose size is known. */
	size_t	max_image_total;
	/* Visible text characters required per distinct image. */
	size_t	min_text_per_image;
	/*
	 * Non-zero: a remote image whose size is unknown (not measured,
	 * unmeasurable scheme, failed HEAD) breaks the limit
	 * "remote_images_unknown". Zero: it is listed and allowed.
	 */
	int	remote_unknown_refuse;
};

/* Fill lim with the defaults (100k, 20, 200k, 800k, 100, allow). */
void		 weigh_limits_default(struct weigh_limits *);

/*
 * Weigh len bytes of UTF-8 HTML against lim (NULL: the defaults) and
 * evaluate the limits (weigh_check). On success *out holds the report
 * (even when limits are broken) and 0 is returned; on failure -1 and
 * *cause (if cause is not NULL) says why.
 */
int		 weigh_html(const char *, size_t, const struct weigh_limits *,
		    struct weigh **, char **);
void		 weigh_free(struct weigh *);

/*
 * The distinct remote (not data:) image URLs, in document order. Only
 * those for which weigh_remote_fetchable() is true (http and https) may
 * be measured; the others already carry the reason they are unknown.
 * An index past weigh_remote_count() is a programming error (fatalx).
 */
size_t		 weigh_remote_count(const struct weigh *);
const char	*weigh_remote_url(const struct weigh *, size_t);
int		 weigh_remote_fetchable(const struct weigh *, size_t);
/*
 * Record remote image i's size in bytes, or -1 and why (NULL allowed)
 * when it could not be measured. Call weigh_check() afterwards.
 */
void		 weigh_set_remote_size(struct weigh *, size_t, long long,
		    const char *);

/* (Re)evaluate totals and limits; returns the number of limits broken. */
int		 weigh_check(struct weigh *);

/*
 * The report as a new JSON object (caller owns the reference), or as
 * human-readable lines appended to a buffer. The object's members:
 *
 *	html_bytes, text_chars, images (distinct URLs), image_refs,
 *	inline_image_bytes, remote_image_bytes, image_bytes_total,
 *	largest_image, image_area (px² of <img> with width and height):
 *	    integers; sizes of unknown remote images are in none of them
 *	parsed: false when refused unparsed (by size or attribute count)
 *	largest_image_url, charset (as declared): string or null
 *	text_per_1000px2: text characters per 1000 px² of image area, for
 *	    information (null without area)
 *	over_limit: [{"limit", "measured", "max" (or "min"), "why"}], the
 *	    limits being max_html, max_images, max_image, max_image_total,
 *	    min_text_per_image ("min"), remote_images_unknown, and two the
 *	    caller cannot configure: html_incomplete (the parser stopped at
 *	    its nesting limit, so the rest could not be weighed) and
 *	    html_attributes (a tag with more than 1000 attributes)
 *	warnings: [string]
 *	unmeasured: [url] remote images of unknown size
 *	broken: [{"url", "error"}] data: URIs that do not decode
 *	image_list: [{"url", "kinds", "inline", "bytes", "uses", "why",
 *	    "width", "height"}] one per distinct image (why, width and
 *	    height only when known)
 *
 * data: URLs are cut to 80 characters wherever they are reported.
 */
json_t		*weigh_report_json(const struct weigh *);
void		 weigh_report_text(const struct weigh *, struct buf *);

#endif
