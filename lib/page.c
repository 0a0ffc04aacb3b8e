/*
 * page.c: the HTML of the public unsubscribe pages.
 */
#include "page.h"
