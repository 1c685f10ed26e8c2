"""The MITRE ATT&CK (Enterprise, cloud) tactics and techniques the rules map to: ids and
names, so a rule's mapping can be checked when it loads and shown with its name."""

from __future__ import annotations

TACTICS: dict[str, str] = {
    "TA0001": "Initial Access",
    "TA0002": "Execution",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
    "TA0010": "Exfiltration",
    "TA0040": "Impact",
}
# Tactic names as rule files write them (`defense-evasion`) -> id.
TACTIC_BY_SLUG: dict[str, str] = {
    name.lower().replace(" ", "-"): tid for tid, name in TACTICS.items()
}

TECHNIQUES: dict[str, str] = {
    "T1021": "Remote Services",
    "T1021.004": "Remote Services: SSH",
    "T1078": "Valid Accounts",
    "T1078.004": "Valid Accounts: Cloud Accounts",
    "T1087.004": "Account Discovery: Cloud Account",
    "T1098": "Account Manipulation",
    "T1098.001": "Account Manipulation: Additional Cloud Credentials",
    "T1098.003": "Account Manipulation: Additional Cloud Roles",
    "T1110": "Brute Force",
    "T1136.003": "Create Account: Cloud Account",
    "T1190": "Exploit Public-Facing Application",
    "T1059.009": "Command and Scripting Interpreter: Cloud API",
    "T1526": "Cloud Service Discovery",
    "T1530": "Data from Cloud Storage",
    "T1535": "Unused/Unsupported Cloud Regions",
    "T1537": "Transfer Data to Cloud Account",
    "T1546": "Event Triggered Execution",
    "T1550.001": "Use Alternate Authentication Material: Application Access Token",
    "T1552": "Unsecured Credentials",
    "T1555.006": "Credentials from Password Stores: Cloud Secrets Management Stores",
    "T1562.001": "Impair Defenses: Disable or Modify Tools",
    "T1562.007": "Impair Defenses: Disable or Modify Cloud Firewall",
    "T1562.008": "Impair Defenses: Disable or Modify Cloud Logs",
    "T1578": "Modify Cloud Compute Infrastructure",
    "T1580": "Cloud Infrastructure Discovery",
    "T1651": "Cloud Administration Command",
    "T1666": "Modify Cloud Resource Hierarchy",
}


def technique_name(tid: str) -> str:
    """The technique's name, or '' for an id this table does not know (a Sigma rule may
    carry any)."""
    return TECHNIQUES.get(tid.upper(), "")
