/*
 * http_frame.h: where each HTTP/1.1 request in a byte stream begins and
 * ends, checked strictly (RFC 9112) before the HTTP server reads a byte.
 *
 * The caller feeds the bytes a client sent and acts on each step: hand
 * bytes on to the server as they are, hand on a normalised replacement
 * (a chunk-size line without extensions, trailers dropped), wait for
 * more, or refuse the request with a status and a sentence and close.
 * A request whose framing two parsers could read differently (two
 * Content-Length fields, Transfer-Encoding with Content-Length or not
 * ending in chunked, folded or NUL-bearing header lines, a negative or
 * oversized chunk size) never reaches the server, so nothing can be
 * smuggled behind it.  No clock, no I/O: the fuzzer and the unit tests
 * drive it directly.
 */
#ifndef MANNERS_HTTP_FRAME_H
#define MANNERS_HTTP_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct http_frame;

struct http_frame_limits {
	size_t		 max_head;	/* request line and header fields */
	uint64_t	 max_body;	/* bytes of body, chunked or not */
};

enum http_frame_act {
	HTTP_FRAME_MORE,	/* wait for more bytes */
	HTTP_FRAME_PASS,	/* hand `take` bytes on as they are */
	HTTP_FRAME_SWAP,	/* drop `take` bytes, hand on `emit` instead */
	HTTP_FRAME_REFUSE	/* answer `code` with `why`, then close */
};

struct http_frame_step {
	enum http_frame_act	 act;
	size_t			 take;
	char			 emit[24];
	size_t			 emitlen;
	int			 done;		/* this step ends a request */
	/* A head passed: a POST with neither length nor chunks (so no
	   body), and its target (in the bytes fed), for the caller to
	   answer 411 where its route wants a body. */
	int			 no_length;
	const char		*method;	/* a head passed: its method */
	const char		*target;
	size_t			 target_len;
	int			 code;		/* HTTP_FRAME_REFUSE */
	char			 why[200];	/* HTTP_FRAME_REFUSE */
};

struct http_frame	*http_frame_new(const struct http_frame_limits *);
void			 http_frame_free(struct http_frame *);
void			 http_frame_set_limits(struct http_frame *,
			    const struct http_frame_limits *);
size_t			 http_frame_want(const struct http_frame *, size_t);
void			 http_frame_feed(struct http_frame *, const char *,
			    size_t, struct http_frame_step *);
const char		*http_frame_reason(int);
/*
 * The Accept-Language of the last request head read whole (the one being
 * read, or refused), for the language of a refusal: "" when it had none,
 * had two, or its head never ended.  Only a field free of control
 * characters is kept, cut after its last whole entry within
 * HTTP_FRAME_LANG_MAX bytes.
 */
#define HTTP_FRAME_LANG_MAX	256
const char		*http_frame_language(const struct http_frame *);

#endif
