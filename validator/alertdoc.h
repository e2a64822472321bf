/*
 * alertdoc.h - one view of an alert, whichever layout the backend keeps.
 *
 * Kibana 8.x writes `.alerts-security.alerts-<space>` documents with flat
 * dotted "kibana.alert.*" keys beside nested ECS objects; 7.x wrote
 * `.siem-signals-<space>` documents with the same facts under a nested
 * "signal" object.  Everything after the search (correlation, the
 * checks, the reports) reads the 8.x names, so a 7.x hit gets the 8.x
 * keys added here, mapped as Kibana's own alias table maps them.
 */
#ifndef FD_ALERTDOC_H
#define FD_ALERTDOC_H

#include <cjson/cJSON.h>

/*
 * A new document from one search hit ({"_index","_id","_source"}): the
 * source, plus "_id" and "_index", plus the 8.x keys of a 7.x signal.
 * NULL when the hit has no object _source, or out of memory.
 */
cJSON *fd_alert_from_hit(const cJSON *hit);

#endif
