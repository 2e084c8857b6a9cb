"""Microsoft Graph as the offline simulator answers for it: its appId and some application permissions.

The IDs are Graph's real, tenant-independent app role IDs (Microsoft Graph permissions reference), so a
plan names the same ``appRoleId`` a real deployment would. A value not listed here is reported by the
simulator as not exposed, as Entra would for a misspelt permission.
"""

from __future__ import annotations

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

GRAPH_APP_ROLES: dict[str, str] = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
}
