/* MITRE ATT&CK ids among a record's tags (the others are MITRE ATLAS
 * ids or free text), and the names of the ones mlwatch's rules use. */
#ifndef MLWATCH_FMT_ATTACK_H
#define MLWATCH_FMT_ATTACK_H

enum attack_kind { ATK_NONE, ATK_TACTIC, ATK_TECHNIQUE, ATK_SUBTECHNIQUE };

/* TA0002: a tactic; T1059: a technique; T1059.004: a sub-technique. */
enum attack_kind attack_kind_of(const char *tag);
/* The technique or sub-technique's name; NULL when not in the table. */
const char *attack_name(const char *id);

#endif
