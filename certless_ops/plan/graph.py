"""Microsoft Graph as the offline simulator answers for it: its appId, some application and delegated scopes.

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

# Delegated permissions (oauth2PermissionScopes): Graph's real scope IDs for the ones a web app signs in with.
GRAPH_DELEGATED_SCOPES: dict[str, str] = {
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "User.ReadBasic.All": "b340eb25-3456-403f-be2f-af7a0d370277",
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
}
