/* ATT&CK ids and names. The table holds the techniques the built-in rules
 * tag (docs/threat-model.md) and a few neighbours; an id not in it is
 * still forwarded, without a name. */
#include <stdbool.h>
#include <string.h>

#include "fmt_attack.h"

static const struct {
	const char *id, *name;
} names[] = {
	{ "T1040", "Network Sniffing" },
	{ "T1041", "Exfiltration Over C2 Channel" },
	{ "T1055", "Process Injection" },
	{ "T1055.008", "Ptrace System Calls" },
	{ "T1053", "Scheduled Task/Job" },
	{ "T1053.003", "Cron" },
	{ "T1059", "Command and Scripting Interpreter" },
	{ "T1059.004", "Unix Shell" },
	{ "T1059.006", "Python" },
	{ "T1095", "Non-Application Layer Protocol" },
	{ "T1098", "Account Manipulation" },
	{ "T1098.004", "SSH Authorized Keys" },
	{ "T1105", "Ingress Tool Transfer" },
	{ "T1140", "Deobfuscate/Decode Files or Information" },
	{ "T1190", "Exploit Public-Facing Application" },
	{ "T1195", "Supply Chain Compromise" },
	{ "T1195.002", "Compromise Software Supply Chain" },
	{ "T1204", "User Execution" },
	{ "T1204.002", "Malicious File" },
	{ "T1496", "Resource Hijacking" },
	{ "T1543", "Create or Modify System Process" },
	{ "T1543.002", "Systemd Service" },
	{ "T1546", "Event Triggered Execution" },
	{ "T1546.004", "Unix Shell Configuration Modification" },
	{ "T1552", "Unsecured Credentials" },
	{ "T1552.001", "Credentials In Files" },
	{ "T1552.005", "Cloud Instance Metadata API" },
	{ "T1562", "Impair Defenses" },
	{ "T1562.001", "Disable or Modify Tools" },
	{ "T1562.004", "Disable or Modify System Firewall" },
	{ "T1562.006", "Indicator Blocking" },
	{ "T1565", "Data Manipulation" },
	{ "T1565.001", "Stored Data Manipulation" },
	{ "T1571", "Non-Standard Port" },
	{ "T1610", "Deploy Container" },
	{ "T1611", "Escape to Host" },
	{ "T1620", "Reflective Code Loading" },
};

static bool ndigits(const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

enum attack_kind attack_kind_of(const char *tag)
{
	if (!tag)
		return ATK_NONE;
	if (!strncmp(tag, "TA", 2) && ndigits(tag + 2, 4) && !tag[6])
		return ATK_TACTIC;
	if (tag[0] != 'T' || !ndigits(tag + 1, 4))
		return ATK_NONE;
	if (!tag[5])
		return ATK_TECHNIQUE;
	if (tag[5] == '.' && ndigits(tag + 6, 3) && !tag[9])
		return ATK_SUBTECHNIQUE;
	return ATK_NONE;
}

const char *attack_name(const char *id)
{
	for (size_t i = 0; id && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].id, id))
			return names[i].name;
	return NULL;
}
