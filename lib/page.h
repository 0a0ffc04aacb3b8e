/*
 * page.h: the HTML of the public unsubscribe pages.
 */
#ifndef MANNERS_PAGE_H
#define MANNERS_PAGE_H

#endif
