/*
 * version.h: the release, printed by `mannersd --version` and
 * `mannersctl --version` (keep it equal to debian/changelog's).
 */
#ifndef MANNERS_VERSION_H
#define MANNERS_VERSION_H

#define MANNERS_VERSION	"0.1.0"

#endif
