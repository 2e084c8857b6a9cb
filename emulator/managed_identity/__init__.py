"""The managed-identity endpoints of Azure hosts: IMDS (VMs, AKS nodes, `endpoints.py`) and the App
Service / Container Apps identity endpoint, with the HTTP routes that serve them (`routes.py`)."""
