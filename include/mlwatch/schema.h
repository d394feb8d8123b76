/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The version of the JSON records mlwatch writes: alerts, incidents,
 * inventory records and the `mlwatch scan --json` report. One number for
 * all of them, so a consumer checks one field; docs/schema.md lists the
 * records and says when it changes.
 */
#ifndef MLWATCH_SCHEMA_H
#define MLWATCH_SCHEMA_H

/* An integer. Bump it only for a change that breaks a reader (a field
 * removed or renamed, a type or meaning changed); a new field is not one. */
#define MLW_SCHEMA_VERSION 1
/* Top-level records only: nested objects are part of their record. */
#define MLW_SCHEMA_KEY "schema_version"

#endif
